#pragma once
// SyncGroup (API key 14), versions 0-3: after a JoinGroup round the leader
// sends every member's assignment, and every member receives its own. Version
// 4 is the first flexible version and is not served.
//
//   SyncGroup Request => group_id STRING generation_id INT32 member_id STRING
//                        group_instance_id NULLABLE_STRING (v3+, KIP-345)
//                        [assignments]
//     assignments => member_id STRING assignment BYTES
//   SyncGroup Response => throttle_time_ms INT32 (v1+) error_code INT16
//                         assignment BYTES
//
// For protocol_type "consumer" the assignment bytes hold a
// ConsumerProtocolAssignment (join_group.h). Kafka's coordinator answers a
// member the leader assigned nothing with zero-length assignment bytes, which
// is not a decodable ConsumerProtocolAssignment; clients treat it as empty.
// Requests use request header v1 and responses response header v0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kSyncGroupMinVersion = 0;
inline constexpr int16_t kSyncGroupMaxVersion = 3;

struct SyncGroupRequestAssignment {
  std::string member_id;
  std::string assignment;
  bool operator==(const SyncGroupRequestAssignment&) const = default;
};

struct SyncGroupRequest {
  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  std::vector<SyncGroupRequestAssignment> assignments;  // empty unless sent by the leader
  bool operator==(const SyncGroupRequest&) const = default;
};

struct SyncGroupResponse {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::string assignment;
  bool operator==(const SyncGroupResponse&) const = default;
};

// Decoders take the body after the header, reject versions outside
// [kSyncGroupMinVersion, kSyncGroupMaxVersion], malformed fields (naming the
// field) and trailing bytes. Encoders write exactly the fields of `version`,
// which must be in range (asserted).
Result<SyncGroupRequest> decode_sync_group_request(std::string_view body, int16_t version);
std::string encode_sync_group_request(const SyncGroupRequest& request, int16_t version);
std::string encode_sync_group_response(const SyncGroupResponse& response, int16_t version);
Result<SyncGroupResponse> decode_sync_group_response(std::string_view body, int16_t version);

}  // namespace tessera::kafka
