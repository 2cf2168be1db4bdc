#pragma once
// Produce (API key 0), versions 3-8: message format v2 only (v3 is the first
// version carrying record batches of magic 2 and a transactional id) up to the
// last non-flexible version (v9 is flexible). Protocol guide "Produce API":
//   request:  transactional_id acks timeout_ms [topic_data [partition_data]]
//   response: [responses [partition_responses]] throttle_time_ms
//   v5: log_start_offset in the response; v8: record_errors and
//   error_message (KIP-467).
//
// `records` is the partition's RECORDS field (NULLABLE_BYTES on the wire) kept
// as raw bytes: the record batches are decoded elsewhere (records.h).
//
// Hot path: decode_produce_request_view returns views into the request body
// instead of copying every batch. decode_produce_request is the owning form.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kProduceMinVersion = 3;
inline constexpr int16_t kProduceMaxVersion = 8;

struct ProducePartitionData {
  int32_t index = 0;
  std::optional<std::string> records;  // RECORDS: nullable raw record batches
  bool operator==(const ProducePartitionData&) const = default;
};

struct ProduceTopicData {
  std::string name;
  std::vector<ProducePartitionData> partition_data;
  bool operator==(const ProduceTopicData&) const = default;
};

struct ProduceRequest {
  std::optional<std::string> transactional_id;
  int16_t acks = 0;  // 0: no response, 1: leader, -1: all in-sync replicas
  int32_t timeout_ms = 0;
  std::vector<ProduceTopicData> topic_data;
  bool operator==(const ProduceRequest&) const = default;
};

// The same request with every string and byte field as a view into the body
// given to decode_produce_request_view. A view is valid only while that
// buffer is alive and unmodified: a handler that keeps records past the
// request's frame must copy them (to_owned does the whole request).
struct ProducePartitionDataView {
  int32_t index = 0;
  std::optional<std::string_view> records;
  bool operator==(const ProducePartitionDataView&) const = default;
};

struct ProduceTopicDataView {
  std::string_view name;
  std::vector<ProducePartitionDataView> partition_data;
  bool operator==(const ProduceTopicDataView&) const = default;
};

struct ProduceRequestView {
  std::optional<std::string_view> transactional_id;
  int16_t acks = 0;
  int32_t timeout_ms = 0;
  std::vector<ProduceTopicDataView> topic_data;
  bool operator==(const ProduceRequestView&) const = default;
};

struct ProduceRecordError {
  int32_t batch_index = 0;
  std::optional<std::string> batch_index_error_message;
  bool operator==(const ProduceRecordError&) const = default;
};

struct ProducePartitionResponse {
  int32_t index = 0;
  int16_t error_code = 0;
  int64_t base_offset = 0;
  int64_t log_append_time_ms = -1;  // -1 unless the topic uses LogAppendTime
  int64_t log_start_offset = -1;    // v5+
  std::vector<ProduceRecordError> record_errors;  // v8+
  std::optional<std::string> error_message;       // v8+
  bool operator==(const ProducePartitionResponse&) const = default;
};

struct ProduceTopicResponse {
  std::string name;
  std::vector<ProducePartitionResponse> partition_responses;
  bool operator==(const ProduceTopicResponse&) const = default;
};

struct ProduceResponse {
  std::vector<ProduceTopicResponse> responses;
  int32_t throttle_time_ms = 0;
  bool operator==(const ProduceResponse&) const = default;
};

// Decoders take the body after the request/response header. They reject a
// version outside [kProduceMinVersion, kProduceMaxVersion], malformed or
// truncated fields (naming the field) and trailing bytes.
Result<ProduceRequestView> decode_produce_request_view(std::string_view body, int16_t version);
Result<ProduceRequest> decode_produce_request(std::string_view body, int16_t version);
ProduceRequest to_owned(const ProduceRequestView& view);

Result<ProduceResponse> decode_produce_response(std::string_view body, int16_t version);

// Encoders: `version` must be in range (asserted; the caller negotiated it).
std::string encode_produce_request(const ProduceRequest& request, int16_t version);
std::string encode_produce_response(const ProduceResponse& response, int16_t version);

}  // namespace tessera::kafka
