#include "gateway/kafka/protocol/alter_configs.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/admin_codec_util.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using admin_detail::decode_body;
using admin_detail::named;
using admin_detail::read_count;

constexpr size_t kResourceBytes = 1 + 2 + 4;      // type, name, configs count
constexpr size_t kConfigBytes = 2 + 2;            // name, value (null)
constexpr size_t kResponseBytes = 2 + 2 + 1 + 2;  // code, message (null), type, name

bool version_known(int16_t v) {
  return v >= kAlterConfigsMinVersion && v <= kAlterConfigsMaxVersion;
}

Result<AlterConfigsResource> read_resource(Reader& r) {
  AlterConfigsResource res;
  TESSERA_ASSIGN_OR_RETURN(res.resource_type,
                           named(r.read_int8(), "resources.resource_type"));
  TESSERA_ASSIGN_OR_RETURN(res.resource_name,
                           named(r.read_string(), "resources.resource_name"));
  TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kConfigBytes, "resources.configs"));
  res.configs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    AlterableConfig c;
    TESSERA_ASSIGN_OR_RETURN(c.name, named(r.read_string(), "resources.configs.name"));
    TESSERA_ASSIGN_OR_RETURN(c.value,
                             named(r.read_nullable_string(), "resources.configs.value"));
    res.configs.push_back(std::move(c));
  }
  return res;
}

}  // namespace

Result<AlterConfigsRequest> decode_alter_configs_request(std::string_view body, int16_t version) {
  return decode_body<AlterConfigsRequest>(
      body, "AlterConfigs request", version, kAlterConfigsMinVersion, kAlterConfigsMaxVersion,
      [](Reader& r) -> Result<AlterConfigsRequest> {
        AlterConfigsRequest req;
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kResourceBytes, "resources"));
        req.resources.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          TESSERA_ASSIGN_OR_RETURN(AlterConfigsResource res, read_resource(r));
          req.resources.push_back(std::move(res));
        }
        TESSERA_ASSIGN_OR_RETURN(req.validate_only, named(r.read_bool(), "validate_only"));
        return req;
      });
}

std::string encode_alter_configs_request(const AlterConfigsRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_array_length(request.resources.size());
  for (const AlterConfigsResource& res : request.resources) {
    w.write_int8(res.resource_type);
    w.write_string(res.resource_name);
    w.write_array_length(res.configs.size());
    for (const AlterableConfig& c : res.configs) {
      w.write_string(c.name);
      w.write_nullable_string(c.value);
    }
  }
  w.write_bool(request.validate_only);
  return out;
}

Result<AlterConfigsResponse> decode_alter_configs_response(std::string_view body,
                                                           int16_t version) {
  return decode_body<AlterConfigsResponse>(
      body, "AlterConfigs response", version, kAlterConfigsMinVersion, kAlterConfigsMaxVersion,
      [](Reader& r) -> Result<AlterConfigsResponse> {
        AlterConfigsResponse resp;
        TESSERA_ASSIGN_OR_RETURN(resp.throttle_time_ms,
                                 named(r.read_int32(), "throttle_time_ms"));
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kResponseBytes, "responses"));
        resp.responses.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          AlterConfigsResourceResponse x;
          TESSERA_ASSIGN_OR_RETURN(x.error_code, named(r.read_int16(), "responses.error_code"));
          TESSERA_ASSIGN_OR_RETURN(x.error_message,
                                   named(r.read_nullable_string(), "responses.error_message"));
          TESSERA_ASSIGN_OR_RETURN(x.resource_type,
                                   named(r.read_int8(), "responses.resource_type"));
          TESSERA_ASSIGN_OR_RETURN(x.resource_name,
                                   named(r.read_string(), "responses.resource_name"));
          resp.responses.push_back(std::move(x));
        }
        return resp;
      });
}

std::string encode_alter_configs_response(const AlterConfigsResponse& response,
                                          int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.responses.size());
  for (const AlterConfigsResourceResponse& x : response.responses) {
    w.write_int16(x.error_code);
    w.write_nullable_string(x.error_message);
    w.write_int8(x.resource_type);
    w.write_string(x.resource_name);
  }
  return out;
}

}  // namespace tessera::kafka
