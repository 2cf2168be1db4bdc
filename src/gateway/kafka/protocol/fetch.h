#pragma once
// Fetch (API key 1), versions 4-11: from the first version with message
// format v2 and isolation levels (v4) up to the last non-flexible version
// (v12 is flexible). Protocol guide "Fetch API":
//   v5: log_start_offset (request partitions and response partitions);
//   v7: fetch sessions (KIP-227): session_id, session_epoch, forgotten topics,
//       and the response's top-level error_code and session_id;
//   v9: current_leader_epoch (KIP-320); v11: rack_id and
//       preferred_read_replica (KIP-392).
//
// `records` is the partition's RECORDS field (NULLABLE_BYTES on the wire) kept
// as raw bytes: the record batches are produced and decoded elsewhere.
//
// Hot path: the response encoder sizes its output exactly first, then appends
// each partition's records bytes once into the caller's buffer, which can be
// a frame started with begin_frame.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kFetchMinVersion = 4;
inline constexpr int16_t kFetchMaxVersion = 11;

struct FetchPartition {
  int32_t partition = 0;
  int32_t current_leader_epoch = -1;  // v9+
  int64_t fetch_offset = 0;
  int64_t log_start_offset = -1;  // v5+; only followers send a real value
  int32_t partition_max_bytes = 0;
  bool operator==(const FetchPartition&) const = default;
};

struct FetchTopic {
  std::string topic;
  std::vector<FetchPartition> partitions;
  bool operator==(const FetchTopic&) const = default;
};

struct FetchForgottenTopic {
  std::string topic;
  std::vector<int32_t> partitions;
  bool operator==(const FetchForgottenTopic&) const = default;
};

struct FetchRequest {
  int32_t replica_id = -1;  // -1 for consumers
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0x7fffffff;
  int8_t isolation_level = 0;  // 0 read_uncommitted, 1 read_committed
  int32_t session_id = 0;      // v7+
  int32_t session_epoch = -1;  // v7+
  std::vector<FetchTopic> topics;
  std::vector<FetchForgottenTopic> forgotten_topics_data;  // v7+
  std::string rack_id;                                     // v11+
  bool operator==(const FetchRequest&) const = default;
};

struct FetchAbortedTransaction {
  int64_t producer_id = 0;
  int64_t first_offset = 0;
  bool operator==(const FetchAbortedTransaction&) const = default;
};

struct FetchPartitionResponse {
  int32_t partition_index = 0;
  int16_t error_code = 0;
  int64_t high_watermark = 0;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;  // v5+
  // Nullable on the wire: null when not reading committed data.
  std::optional<std::vector<FetchAbortedTransaction>> aborted_transactions;
  int32_t preferred_read_replica = -1;  // v11+
  std::optional<std::string> records;   // RECORDS: nullable raw record batches
  bool operator==(const FetchPartitionResponse&) const = default;
};

struct FetchTopicResponse {
  std::string topic;
  std::vector<FetchPartitionResponse> partitions;
  bool operator==(const FetchTopicResponse&) const = default;
};

struct FetchResponse {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;  // v7+
  int32_t session_id = 0;  // v7+
  std::vector<FetchTopicResponse> responses;
  bool operator==(const FetchResponse&) const = default;
};

// Decoders take the body after the request/response header. They reject a
// version outside [kFetchMinVersion, kFetchMaxVersion], malformed or truncated
// fields (naming the field) and trailing bytes. decode_fetch_response copies
// records (it serves tests and clients, not the broker's hot path).
Result<FetchRequest> decode_fetch_request(std::string_view body, int16_t version);
Result<FetchResponse> decode_fetch_response(std::string_view body, int16_t version);

// Encoders: `version` must be in range (asserted; the caller negotiated it).
std::string encode_fetch_request(const FetchRequest& request, int16_t version);

// The exact number of bytes encode_fetch_response appends.
size_t fetch_response_size(const FetchResponse& response, int16_t version);
// Appends the response body to *out (which may already hold a frame prefix
// and response header), reserving the exact size first.
void encode_fetch_response(const FetchResponse& response, int16_t version, std::string* out);
std::string encode_fetch_response(const FetchResponse& response, int16_t version);

}  // namespace tessera::kafka
