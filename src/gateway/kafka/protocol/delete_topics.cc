#include "gateway/kafka/protocol/delete_topics.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/admin_codec_util.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using admin_detail::decode_body;
using admin_detail::named;
using admin_detail::read_count;

constexpr size_t kNameBytes = 2;        // an empty STRING
constexpr size_t kResultBytes = 2 + 2;  // name, error_code

bool version_known(int16_t v) {
  return v >= kDeleteTopicsMinVersion && v <= kDeleteTopicsMaxVersion;
}

}  // namespace

Result<DeleteTopicsRequest> decode_delete_topics_request(std::string_view body, int16_t version) {
  return decode_body<DeleteTopicsRequest>(
      body, "DeleteTopics request", version, kDeleteTopicsMinVersion, kDeleteTopicsMaxVersion,
      [](Reader& r) -> Result<DeleteTopicsRequest> {
        DeleteTopicsRequest req;
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kNameBytes, "topic_names"));
        req.topic_names.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          TESSERA_ASSIGN_OR_RETURN(std::string_view name,
                                   named(r.read_string(), "topic_names"));
          req.topic_names.emplace_back(name);
        }
        TESSERA_ASSIGN_OR_RETURN(req.timeout_ms, named(r.read_int32(), "timeout_ms"));
        return req;
      });
}

std::string encode_delete_topics_request(const DeleteTopicsRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_array_length(request.topic_names.size());
  for (const std::string& name : request.topic_names) w.write_string(name);
  w.write_int32(request.timeout_ms);
  return out;
}

Result<DeleteTopicsResponse> decode_delete_topics_response(std::string_view body,
                                                           int16_t version) {
  return decode_body<DeleteTopicsResponse>(
      body, "DeleteTopics response", version, kDeleteTopicsMinVersion, kDeleteTopicsMaxVersion,
      [version](Reader& r) -> Result<DeleteTopicsResponse> {
        DeleteTopicsResponse resp;
        if (version >= 1) {
          TESSERA_ASSIGN_OR_RETURN(resp.throttle_time_ms,
                                   named(r.read_int32(), "throttle_time_ms"));
        }
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kResultBytes, "responses"));
        resp.responses.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          DeletableTopicResult t;
          TESSERA_ASSIGN_OR_RETURN(t.name, named(r.read_string(), "responses.name"));
          TESSERA_ASSIGN_OR_RETURN(t.error_code, named(r.read_int16(), "responses.error_code"));
          resp.responses.push_back(std::move(t));
        }
        return resp;
      });
}

std::string encode_delete_topics_response(const DeleteTopicsResponse& response,
                                          int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  if (version >= 1) w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.responses.size());
  for (const DeletableTopicResult& t : response.responses) {
    w.write_string(t.name);
    w.write_int16(t.error_code);
  }
  return out;
}

}  // namespace tessera::kafka
