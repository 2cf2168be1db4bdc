#pragma once
// CreatePartitions (API key 37), versions 0-1: the non-flexible versions (v2
// is the first flexible one). Protocol guide, "CreatePartitions API":
//
//   CreatePartitions Request (Version: 0-1) => [topics] timeout_ms validate_only
//     topics => name STRING count INT32 [assignments] (nullable array)
//       assignments => [broker_ids INT32]
//     timeout_ms => INT32  validate_only => BOOLEAN
//   CreatePartitions Response (Version: 0-1) => throttle_time_ms [results]
//     results => name STRING error_code INT16 error_message NULLABLE_STRING
//
// v1 is byte-identical to v0 (it changes only when throttling happens).
// Codecs are pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kCreatePartitionsMinVersion = 0;
inline constexpr int16_t kCreatePartitionsMaxVersion = 1;

// The replicas of one new partition.
struct CreatePartitionsAssignment {
  std::vector<int32_t> broker_ids;
  bool operator==(const CreatePartitionsAssignment&) const = default;
};

struct CreatePartitionsTopic {
  std::string name;
  int32_t count = 0;  // the new total partition count
  // One entry per new partition, or nullopt to let the broker place them.
  std::optional<std::vector<CreatePartitionsAssignment>> assignments;
  bool operator==(const CreatePartitionsTopic&) const = default;
};

struct CreatePartitionsRequest {
  std::vector<CreatePartitionsTopic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;
  bool operator==(const CreatePartitionsRequest&) const = default;
};

struct CreatePartitionsTopicResult {
  std::string name;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  bool operator==(const CreatePartitionsTopicResult&) const = default;
};

struct CreatePartitionsResponse {
  int32_t throttle_time_ms = 0;
  std::vector<CreatePartitionsTopicResult> results;
  bool operator==(const CreatePartitionsResponse&) const = default;
};

// Decoders take the body after the header and reject versions outside
// [kCreatePartitionsMinVersion, kCreatePartitionsMaxVersion], malformed
// fields and trailing bytes. Encoders assert the version is in range.
Result<CreatePartitionsRequest> decode_create_partitions_request(std::string_view body,
                                                                 int16_t version);
Result<CreatePartitionsResponse> decode_create_partitions_response(std::string_view body,
                                                                   int16_t version);
std::string encode_create_partitions_request(const CreatePartitionsRequest& request,
                                             int16_t version);
std::string encode_create_partitions_response(const CreatePartitionsResponse& response,
                                              int16_t version);

}  // namespace tessera::kafka
