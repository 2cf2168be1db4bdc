#include "gateway/kafka/protocol/find_coordinator.h"

#include "base/assert.h"
#include "gateway/kafka/protocol/group_field_reader.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using group_internal::FieldReader;
using group_internal::unsupported_version;
using group_internal::view;

constexpr std::string_view kRequest = "FindCoordinator request";
constexpr std::string_view kResponse = "FindCoordinator response";

bool in_range(int16_t v) {
  return v >= kFindCoordinatorMinVersion && v <= kFindCoordinatorMaxVersion;
}

}  // namespace

Result<FindCoordinatorRequest> decode_find_coordinator_request(std::string_view body,
                                                               int16_t version) {
  if (!in_range(version)) return unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  FindCoordinatorRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.key, r.string("key"));
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(request.key_type, r.int8("key_type"));
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_find_coordinator_request(const FindCoordinatorRequest& request,
                                            int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  w.write_string(request.key);
  if (version >= 1) w.write_int8(request.key_type);
  return out;
}

std::string encode_find_coordinator_response(const FindCoordinatorResponse& response,
                                             int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  if (version >= 1) w.write_int32(response.throttle_time_ms);
  w.write_int16(response.error_code);
  if (version >= 1) w.write_nullable_string(view(response.error_message));
  w.write_int32(response.node_id);
  w.write_string(response.host);
  w.write_int32(response.port);
  return out;
}

Result<FindCoordinatorResponse> decode_find_coordinator_response(std::string_view body,
                                                                 int16_t version) {
  if (!in_range(version)) return unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  FindCoordinatorResponse response;
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(response.error_message, r.nullable_string("error_message"));
  }
  TESSERA_ASSIGN_OR_RETURN(response.node_id, r.int32("node_id"));
  TESSERA_ASSIGN_OR_RETURN(response.host, r.string("host"));
  TESSERA_ASSIGN_OR_RETURN(response.port, r.int32("port"));
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
