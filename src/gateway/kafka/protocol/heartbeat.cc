#include "gateway/kafka/protocol/heartbeat.h"

#include "base/assert.h"
#include "gateway/kafka/protocol/group_field_reader.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using group_internal::FieldReader;
using group_internal::unsupported_version;
using group_internal::view;

constexpr std::string_view kRequest = "Heartbeat request";
constexpr std::string_view kResponse = "Heartbeat response";

bool in_range(int16_t v) { return v >= kHeartbeatMinVersion && v <= kHeartbeatMaxVersion; }

}  // namespace

Result<HeartbeatRequest> decode_heartbeat_request(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  HeartbeatRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.group_id, r.string("group_id"));
  TESSERA_ASSIGN_OR_RETURN(request.generation_id, r.int32("generation_id"));
  TESSERA_ASSIGN_OR_RETURN(request.member_id, r.string("member_id"));
  if (version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(request.group_instance_id, r.nullable_string("group_instance_id"));
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_heartbeat_request(const HeartbeatRequest& request, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  w.write_string(request.group_id);
  w.write_int32(request.generation_id);
  w.write_string(request.member_id);
  if (version >= 3) w.write_nullable_string(view(request.group_instance_id));
  return out;
}

std::string encode_heartbeat_response(const HeartbeatResponse& response, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  if (version >= 1) w.write_int32(response.throttle_time_ms);
  w.write_int16(response.error_code);
  return out;
}

Result<HeartbeatResponse> decode_heartbeat_response(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  HeartbeatResponse response;
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
