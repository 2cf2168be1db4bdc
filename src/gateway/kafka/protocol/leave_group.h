#pragma once
// LeaveGroup (API key 13), versions 0-3: members leaving a group. Up to v2 a
// request names one member; v3 (KIP-345) names a batch of members, each by
// member id and/or group instance id, and answers per member. Version 4 is
// the first flexible version and is not served.
//
//   LeaveGroup Request (v0-2) => group_id STRING member_id STRING
//   LeaveGroup Request (v3)   => group_id STRING [members]
//     members => member_id STRING group_instance_id NULLABLE_STRING
//   LeaveGroup Response => throttle_time_ms INT32 (v1+) error_code INT16
//                          [members] (v3+)
//     members => member_id STRING group_instance_id NULLABLE_STRING error_code INT16
//
// Requests use request header v1 and responses response header v0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kLeaveGroupMinVersion = 0;
inline constexpr int16_t kLeaveGroupMaxVersion = 3;

struct LeaveGroupMemberIdentity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  bool operator==(const LeaveGroupMemberIdentity&) const = default;
};

struct LeaveGroupRequest {
  std::string group_id;
  std::string member_id;                          // v0-2 only
  std::vector<LeaveGroupMemberIdentity> members;  // v3+ only
  bool operator==(const LeaveGroupRequest&) const = default;
};

struct LeaveGroupMemberResponse {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int16_t error_code = 0;
  bool operator==(const LeaveGroupMemberResponse&) const = default;
};

struct LeaveGroupResponse {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<LeaveGroupMemberResponse> members;  // v3+
  bool operator==(const LeaveGroupResponse&) const = default;
};

// Decoders take the body after the header, reject versions outside
// [kLeaveGroupMinVersion, kLeaveGroupMaxVersion], malformed fields (naming the
// field) and trailing bytes. Encoders write exactly the fields of `version`,
// which must be in range (asserted); fields the version lacks are ignored.
Result<LeaveGroupRequest> decode_leave_group_request(std::string_view body, int16_t version);
std::string encode_leave_group_request(const LeaveGroupRequest& request, int16_t version);
std::string encode_leave_group_response(const LeaveGroupResponse& response, int16_t version);
Result<LeaveGroupResponse> decode_leave_group_response(std::string_view body, int16_t version);

}  // namespace tessera::kafka
