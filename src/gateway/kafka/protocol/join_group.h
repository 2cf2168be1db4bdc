#pragma once
// JoinGroup (API key 11), versions 0-5, and the consumer protocol's embedded
// formats that travel inside it and SyncGroup as opaque BYTES. Version 6 is
// the first flexible version and is not served.
//
//   JoinGroup Request => group_id STRING session_timeout_ms INT32
//                        rebalance_timeout_ms INT32 (v1+) member_id STRING
//                        group_instance_id NULLABLE_STRING (v5+, KIP-345)
//                        protocol_type STRING [protocols]
//     protocols => name STRING metadata BYTES
//   JoinGroup Response => throttle_time_ms INT32 (v2+) error_code INT16
//                         generation_id INT32 protocol_name STRING leader STRING
//                         member_id STRING [members]
//     members => member_id STRING group_instance_id NULLABLE_STRING (v5+)
//                metadata BYTES
//
// v1-v3 requests are laid out alike, as are v2-v5 responses apart from the
// members' group_instance_id; v4 only changes the member-id handshake
// (KIP-394: MEMBER_ID_REQUIRED), which is the handler's business.
// Requests use request header v1 and responses response header v0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kJoinGroupMinVersion = 0;
inline constexpr int16_t kJoinGroupMaxVersion = 5;

struct JoinGroupRequestProtocol {
  std::string name;      // e.g. "range", "roundrobin", "cooperative-sticky"
  std::string metadata;  // for protocol_type "consumer": a ConsumerProtocolSubscription
  bool operator==(const JoinGroupRequestProtocol&) const = default;
};

struct JoinGroupRequest {
  std::string group_id;
  int32_t session_timeout_ms = 0;
  // v1+. Absent (-1) in v0, where the session timeout also bounds the rebalance.
  int32_t rebalance_timeout_ms = -1;
  std::string member_id;                         // "" on a member's first join
  std::optional<std::string> group_instance_id;  // v5+ (static membership)
  std::string protocol_type;                     // "consumer" for Kafka consumers
  std::vector<JoinGroupRequestProtocol> protocols;
  bool operator==(const JoinGroupRequest&) const = default;
};

struct JoinGroupResponseMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::string metadata;
  bool operator==(const JoinGroupResponseMember&) const = default;
};

struct JoinGroupResponse {
  int32_t throttle_time_ms = 0;  // v2+
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinGroupResponseMember> members;  // non-empty only for the leader
  bool operator==(const JoinGroupResponse&) const = default;
};

// Decoders take the body after the header, reject versions outside
// [kJoinGroupMinVersion, kJoinGroupMaxVersion], malformed fields (naming the
// field) and trailing bytes. Encoders write exactly the fields of `version`,
// which must be in range (asserted).
Result<JoinGroupRequest> decode_join_group_request(std::string_view body, int16_t version);
std::string encode_join_group_request(const JoinGroupRequest& request, int16_t version);
std::string encode_join_group_response(const JoinGroupResponse& response, int16_t version);
Result<JoinGroupResponse> decode_join_group_response(std::string_view body, int16_t version);

// ---- The consumer protocol (protocol_type "consumer") ----
//
// Not flexible in any version; each starts with an INT16 version.
//   ConsumerProtocolSubscription => version INT16 [topics STRING]
//       user_data NULLABLE_BYTES [owned_partitions] (v1+, KIP-429)
//       generation_id INT32 (v2+, KIP-792) rack_id NULLABLE_STRING (v3+, KIP-881)
//   ConsumerProtocolAssignment => version INT16 [assigned_partitions]
//       user_data NULLABLE_BYTES            (the same fields in v0-v3)
//   owned_partitions / assigned_partitions => topic STRING [partitions INT32]
//
// Newer versions may only append fields, so a version above the newest known
// one is decoded with the newest known layout and whatever follows is ignored,
// as the Java client does; the decoded `version` is then clamped to the newest
// known one, so that re-encoding a decoded value is always valid. For known
// versions trailing bytes are an error. A negative version is rejected.

inline constexpr int16_t kConsumerProtocolSubscriptionMaxVersion = 3;
inline constexpr int16_t kConsumerProtocolAssignmentMaxVersion = 3;

struct ConsumerProtocolTopicPartitions {
  std::string topic;
  std::vector<int32_t> partitions;
  bool operator==(const ConsumerProtocolTopicPartitions&) const = default;
};

struct ConsumerProtocolSubscription {
  int16_t version = 0;
  std::vector<std::string> topics;
  std::optional<std::string> user_data;
  std::vector<ConsumerProtocolTopicPartitions> owned_partitions;  // v1+
  int32_t generation_id = -1;                                      // v2+
  std::optional<std::string> rack_id;                              // v3+
  bool operator==(const ConsumerProtocolSubscription&) const = default;
};

struct ConsumerProtocolAssignment {
  int16_t version = 0;
  std::vector<ConsumerProtocolTopicPartitions> assigned_partitions;
  std::optional<std::string> user_data;
  bool operator==(const ConsumerProtocolAssignment&) const = default;
};

// Encoders write `value.version`'s fields; the version must be in
// [0, k...MaxVersion] (asserted).
Result<ConsumerProtocolSubscription> decode_consumer_protocol_subscription(
    std::string_view metadata);
std::string encode_consumer_protocol_subscription(const ConsumerProtocolSubscription& value);
Result<ConsumerProtocolAssignment> decode_consumer_protocol_assignment(
    std::string_view assignment);
std::string encode_consumer_protocol_assignment(const ConsumerProtocolAssignment& value);

}  // namespace tessera::kafka
