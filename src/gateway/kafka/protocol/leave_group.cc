#include "gateway/kafka/protocol/leave_group.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/group_field_reader.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using group_internal::FieldReader;
using group_internal::unsupported_version;
using group_internal::view;

constexpr std::string_view kRequest = "LeaveGroup request";
constexpr std::string_view kResponse = "LeaveGroup response";
constexpr size_t kIdentityBytes = 2 + 2;            // member_id, group_instance_id
constexpr size_t kMemberResponseBytes = 2 + 2 + 2;  // ... and error_code

bool in_range(int16_t v) { return v >= kLeaveGroupMinVersion && v <= kLeaveGroupMaxVersion; }

}  // namespace

Result<LeaveGroupRequest> decode_leave_group_request(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  LeaveGroupRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.group_id, r.string("group_id"));
  if (version <= 2) {
    TESSERA_ASSIGN_OR_RETURN(request.member_id, r.string("member_id"));
  } else {
    TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("members", kIdentityBytes));
    request.members.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      LeaveGroupMemberIdentity m;
      TESSERA_ASSIGN_OR_RETURN(m.member_id, r.string("members.member_id"));
      TESSERA_ASSIGN_OR_RETURN(m.group_instance_id,
                               r.nullable_string("members.group_instance_id"));
      request.members.push_back(std::move(m));
    }
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_leave_group_request(const LeaveGroupRequest& request, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  w.write_string(request.group_id);
  if (version <= 2) {
    w.write_string(request.member_id);
  } else {
    w.write_array_length(request.members.size());
    for (const LeaveGroupMemberIdentity& m : request.members) {
      w.write_string(m.member_id);
      w.write_nullable_string(view(m.group_instance_id));
    }
  }
  return out;
}

std::string encode_leave_group_response(const LeaveGroupResponse& response, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  if (version >= 1) w.write_int32(response.throttle_time_ms);
  w.write_int16(response.error_code);
  if (version >= 3) {
    w.write_array_length(response.members.size());
    for (const LeaveGroupMemberResponse& m : response.members) {
      w.write_string(m.member_id);
      w.write_nullable_string(view(m.group_instance_id));
      w.write_int16(m.error_code);
    }
  }
  return out;
}

Result<LeaveGroupResponse> decode_leave_group_response(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  LeaveGroupResponse response;
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
  if (version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("members", kMemberResponseBytes));
    response.members.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      LeaveGroupMemberResponse m;
      TESSERA_ASSIGN_OR_RETURN(m.member_id, r.string("members.member_id"));
      TESSERA_ASSIGN_OR_RETURN(m.group_instance_id,
                               r.nullable_string("members.group_instance_id"));
      TESSERA_ASSIGN_OR_RETURN(m.error_code, r.int16("members.error_code"));
      response.members.push_back(std::move(m));
    }
  }
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
