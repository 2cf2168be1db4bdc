#pragma once
// CreateTopics (API key 19), versions 0-4: the non-flexible versions (v5 is
// the first flexible one). Protocol guide, "CreateTopics API":
//
//   CreateTopics Request (Version: 0-4) => [topics] timeout_ms validate_only(v1+)
//     topics => name num_partitions replication_factor [assignments] [configs]
//       name => STRING  num_partitions => INT32  replication_factor => INT16
//       assignments => partition_index INT32 [broker_ids INT32]
//       configs => name STRING value NULLABLE_STRING
//     timeout_ms => INT32  validate_only => BOOLEAN
//   CreateTopics Response (Version: 0-4) => throttle_time_ms(v2+) [topics]
//     topics => name STRING error_code INT16 error_message NULLABLE_STRING(v1+)
//
// v3 only changes throttling behaviour and v4 only relaxes validation
// (KIP-464: num_partitions / replication_factor may be -1 without
// assignments); neither changes the bytes. Codecs are pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kCreateTopicsMinVersion = 0;
inline constexpr int16_t kCreateTopicsMaxVersion = 4;

struct CreatableReplicaAssignment {
  int32_t partition_index = 0;
  std::vector<int32_t> broker_ids;
  bool operator==(const CreatableReplicaAssignment&) const = default;
};

struct CreatableTopicConfig {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const CreatableTopicConfig&) const = default;
};

struct CreatableTopic {
  std::string name;
  int32_t num_partitions = -1;      // -1: manual assignment or broker default
  int16_t replication_factor = -1;  // -1: manual assignment or broker default
  std::vector<CreatableReplicaAssignment> assignments;  // empty: automatic
  std::vector<CreatableTopicConfig> configs;
  bool operator==(const CreatableTopic&) const = default;
};

struct CreateTopicsRequest {
  std::vector<CreatableTopic> topics;
  int32_t timeout_ms = 60000;
  bool validate_only = false;  // v1+; false when decoding v0
  bool operator==(const CreateTopicsRequest&) const = default;
};

struct CreatableTopicResult {
  std::string name;
  int16_t error_code = 0;
  std::optional<std::string> error_message;  // v1+; nullopt when decoding v0
  bool operator==(const CreatableTopicResult&) const = default;
};

struct CreateTopicsResponse {
  int32_t throttle_time_ms = 0;  // v2+; 0 when decoding v0-v1
  std::vector<CreatableTopicResult> topics;
  bool operator==(const CreateTopicsResponse&) const = default;
};

// Decoders take the body after the request/response header, reject versions
// outside [kCreateTopicsMinVersion, kCreateTopicsMaxVersion], malformed
// fields and trailing bytes; errors name the message, version and field.
Result<CreateTopicsRequest> decode_create_topics_request(std::string_view body, int16_t version);
Result<CreateTopicsResponse> decode_create_topics_response(std::string_view body,
                                                           int16_t version);
// Encoders write exactly the fields `version` has; the version must be in
// range and strings must fit a STRING (asserted: caller bugs).
std::string encode_create_topics_request(const CreateTopicsRequest& request, int16_t version);
std::string encode_create_topics_response(const CreateTopicsResponse& response,
                                          int16_t version);

}  // namespace tessera::kafka
