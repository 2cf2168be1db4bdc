#pragma once
// ListOffsets (API key 2), versions 0-5: every non-flexible version (v6 is the
// first flexible one). Protocol guide "ListOffsets API":
//   v0: max_num_offsets in the request and old_style_offsets (an array) in
//       the response; v1 replaces them with a single timestamp and offset;
//   v2: isolation_level and throttle_time_ms; v4: current_leader_epoch and
//       the response's leader_epoch (KIP-320).
// `timestamp` in a request is a time in ms or one of the special values
// kListOffsetsLatest (-1) and kListOffsetsEarliest (-2).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kListOffsetsMinVersion = 0;
inline constexpr int16_t kListOffsetsMaxVersion = 5;

inline constexpr int64_t kListOffsetsLatest = -1;
inline constexpr int64_t kListOffsetsEarliest = -2;

struct ListOffsetsPartition {
  int32_t partition_index = 0;
  int32_t current_leader_epoch = -1;  // v4+
  int64_t timestamp = 0;
  int32_t max_num_offsets = 1;  // v0 only
  bool operator==(const ListOffsetsPartition&) const = default;
};

struct ListOffsetsTopic {
  std::string name;
  std::vector<ListOffsetsPartition> partitions;
  bool operator==(const ListOffsetsTopic&) const = default;
};

struct ListOffsetsRequest {
  int32_t replica_id = -1;     // -1 for consumers
  int8_t isolation_level = 0;  // v2+
  std::vector<ListOffsetsTopic> topics;
  bool operator==(const ListOffsetsRequest&) const = default;
};

struct ListOffsetsPartitionResponse {
  int32_t partition_index = 0;
  int16_t error_code = 0;
  std::vector<int64_t> old_style_offsets;  // v0 only
  int64_t timestamp = -1;                  // v1+
  int64_t offset = -1;                     // v1+
  int32_t leader_epoch = -1;               // v4+
  bool operator==(const ListOffsetsPartitionResponse&) const = default;
};

struct ListOffsetsTopicResponse {
  std::string name;
  std::vector<ListOffsetsPartitionResponse> partitions;
  bool operator==(const ListOffsetsTopicResponse&) const = default;
};

struct ListOffsetsResponse {
  int32_t throttle_time_ms = 0;  // v2+
  std::vector<ListOffsetsTopicResponse> topics;
  bool operator==(const ListOffsetsResponse&) const = default;
};

// Decoders take the body after the request/response header. They reject a
// version outside [kListOffsetsMinVersion, kListOffsetsMaxVersion], malformed
// or truncated fields (naming the field) and trailing bytes.
Result<ListOffsetsRequest> decode_list_offsets_request(std::string_view body, int16_t version);
Result<ListOffsetsResponse> decode_list_offsets_response(std::string_view body,
                                                         int16_t version);

// Encoders: `version` must be in range (asserted; the caller negotiated it).
std::string encode_list_offsets_request(const ListOffsetsRequest& request, int16_t version);
std::string encode_list_offsets_response(const ListOffsetsResponse& response, int16_t version);

}  // namespace tessera::kafka
