#include "gateway/kafka/protocol/sync_group.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/group_field_reader.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using group_internal::FieldReader;
using group_internal::unsupported_version;
using group_internal::view;

constexpr std::string_view kRequest = "SyncGroup request";
constexpr std::string_view kResponse = "SyncGroup response";
constexpr size_t kAssignmentBytes = 2 + 4;  // member_id, assignment

bool in_range(int16_t v) { return v >= kSyncGroupMinVersion && v <= kSyncGroupMaxVersion; }

}  // namespace

Result<SyncGroupRequest> decode_sync_group_request(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  SyncGroupRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.group_id, r.string("group_id"));
  TESSERA_ASSIGN_OR_RETURN(request.generation_id, r.int32("generation_id"));
  TESSERA_ASSIGN_OR_RETURN(request.member_id, r.string("member_id"));
  if (version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(request.group_instance_id, r.nullable_string("group_instance_id"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("assignments", kAssignmentBytes));
  request.assignments.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    SyncGroupRequestAssignment a;
    TESSERA_ASSIGN_OR_RETURN(a.member_id, r.string("assignments.member_id"));
    TESSERA_ASSIGN_OR_RETURN(a.assignment, r.bytes("assignments.assignment"));
    request.assignments.push_back(std::move(a));
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_sync_group_request(const SyncGroupRequest& request, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  w.write_string(request.group_id);
  w.write_int32(request.generation_id);
  w.write_string(request.member_id);
  if (version >= 3) w.write_nullable_string(view(request.group_instance_id));
  w.write_array_length(request.assignments.size());
  for (const SyncGroupRequestAssignment& a : request.assignments) {
    w.write_string(a.member_id);
    w.write_bytes(a.assignment);
  }
  return out;
}

std::string encode_sync_group_response(const SyncGroupResponse& response, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  if (version >= 1) w.write_int32(response.throttle_time_ms);
  w.write_int16(response.error_code);
  w.write_bytes(response.assignment);
  return out;
}

Result<SyncGroupResponse> decode_sync_group_response(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  SyncGroupResponse response;
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
  TESSERA_ASSIGN_OR_RETURN(response.assignment, r.bytes("assignment"));
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
