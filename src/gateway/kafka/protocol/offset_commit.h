#pragma once
// OffsetCommit (API key 8), versions 0-7: a consumer records how far it has
// read. Version 8 is the first flexible version and is not served.
//
//   OffsetCommit Request => group_id STRING generation_id INT32 (v1+)
//       member_id STRING (v1+) group_instance_id NULLABLE_STRING (v7+)
//       retention_time_ms INT64 (v2-v4) [topics]
//     topics => name STRING [partitions]
//       partitions => partition_index INT32 committed_offset INT64
//                     committed_leader_epoch INT32 (v6+) commit_timestamp INT64 (v1 only)
//                     committed_metadata NULLABLE_STRING
//   OffsetCommit Response => throttle_time_ms INT32 (v3+) [topics]
//     topics => name STRING [partitions]
//       partitions => partition_index INT32 error_code INT16
//
// v0 commits went to ZooKeeper in Kafka; the layout is all that matters here.
// Requests use request header v1 and responses response header v0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kOffsetCommitMinVersion = 0;
inline constexpr int16_t kOffsetCommitMaxVersion = 7;

struct OffsetCommitRequestPartition {
  int32_t partition_index = 0;
  int64_t committed_offset = 0;
  int32_t committed_leader_epoch = -1;  // v6+
  int64_t commit_timestamp = -1;        // v1 only
  std::optional<std::string> committed_metadata;
  bool operator==(const OffsetCommitRequestPartition&) const = default;
};

struct OffsetCommitRequestTopic {
  std::string name;
  std::vector<OffsetCommitRequestPartition> partitions;
  bool operator==(const OffsetCommitRequestTopic&) const = default;
};

struct OffsetCommitRequest {
  std::string group_id;
  // v1+. -1 with an empty member id: a commit from outside group management.
  int32_t generation_id = -1;
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                // v2-v4; -1 = the broker's default
  std::vector<OffsetCommitRequestTopic> topics;
  bool operator==(const OffsetCommitRequest&) const = default;
};

struct OffsetCommitResponsePartition {
  int32_t partition_index = 0;
  int16_t error_code = 0;
  bool operator==(const OffsetCommitResponsePartition&) const = default;
};

struct OffsetCommitResponseTopic {
  std::string name;
  std::vector<OffsetCommitResponsePartition> partitions;
  bool operator==(const OffsetCommitResponseTopic&) const = default;
};

struct OffsetCommitResponse {
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<OffsetCommitResponseTopic> topics;
  bool operator==(const OffsetCommitResponse&) const = default;
};

// Decoders take the body after the header, reject versions outside
// [kOffsetCommitMinVersion, kOffsetCommitMaxVersion], malformed fields
// (naming the field) and trailing bytes. Encoders write exactly the fields of
// `version`, which must be in range (asserted).
Result<OffsetCommitRequest> decode_offset_commit_request(std::string_view body, int16_t version);
std::string encode_offset_commit_request(const OffsetCommitRequest& request, int16_t version);
std::string encode_offset_commit_response(const OffsetCommitResponse& response, int16_t version);
Result<OffsetCommitResponse> decode_offset_commit_response(std::string_view body,
                                                           int16_t version);

}  // namespace tessera::kafka
