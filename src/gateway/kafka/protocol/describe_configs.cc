#include "gateway/kafka/protocol/describe_configs.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/admin_codec_util.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using admin_detail::decode_body;
using admin_detail::named;
using admin_detail::read_count;

constexpr size_t kResourceBytes = 1 + 2 + 4;       // type, name, keys (null)
constexpr size_t kKeyBytes = 2;
constexpr size_t kResultBytes = 2 + 2 + 1 + 2 + 4;  // up to the configs count
constexpr size_t kSynonymBytes = 2 + 2 + 1;

bool version_known(int16_t v) {
  return v >= kDescribeConfigsMinVersion && v <= kDescribeConfigsMaxVersion;
}

// name, value, read_only, is_default | config_source, is_sensitive,
// synonyms (v1+), config_type and documentation (v3+).
size_t config_bytes(int16_t version) {
  size_t n = 2 + 2 + 1 + 1 + 1;
  if (version >= 1) n += 4;
  if (version >= 3) n += 1 + 2;
  return n;
}

Result<DescribeConfigsResource> read_resource(Reader& r) {
  DescribeConfigsResource res;
  TESSERA_ASSIGN_OR_RETURN(res.resource_type,
                           named(r.read_int8(), "resources.resource_type"));
  TESSERA_ASSIGN_OR_RETURN(res.resource_name,
                           named(r.read_string(), "resources.resource_name"));
  TESSERA_ASSIGN_OR_RETURN(
      std::optional<size_t> n,
      named(r.read_array_length(kKeyBytes), "resources.configuration_keys"));
  if (!n) return res;
  res.configuration_keys.emplace();
  res.configuration_keys->reserve(*n);
  for (size_t i = 0; i < *n; ++i) {
    TESSERA_ASSIGN_OR_RETURN(std::string_view key,
                             named(r.read_string(), "resources.configuration_keys"));
    res.configuration_keys->emplace_back(key);
  }
  return res;
}

Result<DescribeConfigsResourceResult> read_config(Reader& r, int16_t version) {
  DescribeConfigsResourceResult c;
  TESSERA_ASSIGN_OR_RETURN(c.name, named(r.read_string(), "results.configs.name"));
  TESSERA_ASSIGN_OR_RETURN(c.value, named(r.read_nullable_string(), "results.configs.value"));
  TESSERA_ASSIGN_OR_RETURN(c.read_only, named(r.read_bool(), "results.configs.read_only"));
  if (version == 0) {
    TESSERA_ASSIGN_OR_RETURN(c.is_default, named(r.read_bool(), "results.configs.is_default"));
  } else {
    TESSERA_ASSIGN_OR_RETURN(c.config_source,
                             named(r.read_int8(), "results.configs.config_source"));
  }
  TESSERA_ASSIGN_OR_RETURN(c.is_sensitive,
                           named(r.read_bool(), "results.configs.is_sensitive"));
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(size_t n,
                             read_count(r, kSynonymBytes, "results.configs.synonyms"));
    c.synonyms.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      DescribeConfigsSynonym s;
      TESSERA_ASSIGN_OR_RETURN(s.name, named(r.read_string(), "results.configs.synonyms.name"));
      TESSERA_ASSIGN_OR_RETURN(
          s.value, named(r.read_nullable_string(), "results.configs.synonyms.value"));
      TESSERA_ASSIGN_OR_RETURN(s.source,
                               named(r.read_int8(), "results.configs.synonyms.source"));
      c.synonyms.push_back(std::move(s));
    }
  }
  if (version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(c.config_type,
                             named(r.read_int8(), "results.configs.config_type"));
    TESSERA_ASSIGN_OR_RETURN(
        c.documentation, named(r.read_nullable_string(), "results.configs.documentation"));
  }
  return c;
}

Result<DescribeConfigsResult> read_result(Reader& r, int16_t version) {
  DescribeConfigsResult res;
  TESSERA_ASSIGN_OR_RETURN(res.error_code, named(r.read_int16(), "results.error_code"));
  TESSERA_ASSIGN_OR_RETURN(res.error_message,
                           named(r.read_nullable_string(), "results.error_message"));
  TESSERA_ASSIGN_OR_RETURN(res.resource_type, named(r.read_int8(), "results.resource_type"));
  TESSERA_ASSIGN_OR_RETURN(res.resource_name,
                           named(r.read_string(), "results.resource_name"));
  TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, config_bytes(version), "results.configs"));
  res.configs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    TESSERA_ASSIGN_OR_RETURN(DescribeConfigsResourceResult c, read_config(r, version));
    res.configs.push_back(std::move(c));
  }
  return res;
}

}  // namespace

Result<DescribeConfigsRequest> decode_describe_configs_request(std::string_view body,
                                                               int16_t version) {
  return decode_body<DescribeConfigsRequest>(
      body, "DescribeConfigs request", version, kDescribeConfigsMinVersion,
      kDescribeConfigsMaxVersion, [version](Reader& r) -> Result<DescribeConfigsRequest> {
        DescribeConfigsRequest req;
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kResourceBytes, "resources"));
        req.resources.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          TESSERA_ASSIGN_OR_RETURN(DescribeConfigsResource res, read_resource(r));
          req.resources.push_back(std::move(res));
        }
        if (version >= 1) {
          TESSERA_ASSIGN_OR_RETURN(req.include_synonyms,
                                   named(r.read_bool(), "include_synonyms"));
        }
        if (version >= 3) {
          TESSERA_ASSIGN_OR_RETURN(req.include_documentation,
                                   named(r.read_bool(), "include_documentation"));
        }
        return req;
      });
}

std::string encode_describe_configs_request(const DescribeConfigsRequest& request,
                                            int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_array_length(request.resources.size());
  for (const DescribeConfigsResource& res : request.resources) {
    w.write_int8(res.resource_type);
    w.write_string(res.resource_name);
    if (!res.configuration_keys) {
      w.write_array_length(std::nullopt);
      continue;
    }
    w.write_array_length(res.configuration_keys->size());
    for (const std::string& key : *res.configuration_keys) w.write_string(key);
  }
  if (version >= 1) w.write_bool(request.include_synonyms);
  if (version >= 3) w.write_bool(request.include_documentation);
  return out;
}

Result<DescribeConfigsResponse> decode_describe_configs_response(std::string_view body,
                                                                 int16_t version) {
  return decode_body<DescribeConfigsResponse>(
      body, "DescribeConfigs response", version, kDescribeConfigsMinVersion,
      kDescribeConfigsMaxVersion, [version](Reader& r) -> Result<DescribeConfigsResponse> {
        DescribeConfigsResponse resp;
        TESSERA_ASSIGN_OR_RETURN(resp.throttle_time_ms,
                                 named(r.read_int32(), "throttle_time_ms"));
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kResultBytes, "results"));
        resp.results.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          TESSERA_ASSIGN_OR_RETURN(DescribeConfigsResult res, read_result(r, version));
          resp.results.push_back(std::move(res));
        }
        return resp;
      });
}

std::string encode_describe_configs_response(const DescribeConfigsResponse& response,
                                             int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.results.size());
  for (const DescribeConfigsResult& res : response.results) {
    w.write_int16(res.error_code);
    w.write_nullable_string(res.error_message);
    w.write_int8(res.resource_type);
    w.write_string(res.resource_name);
    w.write_array_length(res.configs.size());
    for (const DescribeConfigsResourceResult& c : res.configs) {
      w.write_string(c.name);
      w.write_nullable_string(c.value);
      w.write_bool(c.read_only);
      if (version == 0) {
        w.write_bool(c.is_default);
      } else {
        w.write_int8(c.config_source);
      }
      w.write_bool(c.is_sensitive);
      if (version >= 1) {
        w.write_array_length(c.synonyms.size());
        for (const DescribeConfigsSynonym& s : c.synonyms) {
          w.write_string(s.name);
          w.write_nullable_string(s.value);
          w.write_int8(s.source);
        }
      }
      if (version >= 3) {
        w.write_int8(c.config_type);
        w.write_nullable_string(c.documentation);
      }
    }
  }
  return out;
}

}  // namespace tessera::kafka
