#pragma once
// OffsetFetch (API key 9), versions 0-5: a consumer reads its group's
// committed offsets. Version 6 is the first flexible version and is not served.
//
//   OffsetFetch Request => group_id STRING [topics]
//     topics => name STRING [partition_indexes INT32]
//   (topics is a nullable ARRAY from v2: null asks for every committed topic)
//   OffsetFetch Response => throttle_time_ms INT32 (v3+) [topics]
//       error_code INT16 (v2+)
//     topics => name STRING [partitions]
//       partitions => partition_index INT32 committed_offset INT64
//                     committed_leader_epoch INT32 (v5+) metadata NULLABLE_STRING
//                     error_code INT16
//
// v0 read offsets from ZooKeeper in Kafka, v1+ from __consumer_offsets; the
// layouts of v0 and v1 are the same. Requests use request header v1 and
// responses response header v0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kOffsetFetchMinVersion = 0;
inline constexpr int16_t kOffsetFetchMaxVersion = 5;

struct OffsetFetchRequestTopic {
  std::string name;
  std::vector<int32_t> partition_indexes;
  bool operator==(const OffsetFetchRequestTopic&) const = default;
};

struct OffsetFetchRequest {
  std::string group_id;
  // nullopt (all topics) is only expressible in v2+: encoding it at v0-v1
  // asserts, and a null array in a v0-v1 request is rejected.
  std::optional<std::vector<OffsetFetchRequestTopic>> topics =
      std::vector<OffsetFetchRequestTopic>{};
  bool operator==(const OffsetFetchRequest&) const = default;
};

struct OffsetFetchResponsePartition {
  int32_t partition_index = 0;
  int64_t committed_offset = -1;  // -1: nothing committed
  int32_t committed_leader_epoch = -1;  // v5+
  std::optional<std::string> metadata;
  int16_t error_code = 0;
  bool operator==(const OffsetFetchResponsePartition&) const = default;
};

struct OffsetFetchResponseTopic {
  std::string name;
  std::vector<OffsetFetchResponsePartition> partitions;
  bool operator==(const OffsetFetchResponseTopic&) const = default;
};

struct OffsetFetchResponse {
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<OffsetFetchResponseTopic> topics;
  int16_t error_code = 0;  // v2+: group- or coordinator-level error
  bool operator==(const OffsetFetchResponse&) const = default;
};

// Decoders take the body after the header, reject versions outside
// [kOffsetFetchMinVersion, kOffsetFetchMaxVersion], malformed fields (naming
// the field) and trailing bytes. Encoders write exactly the fields of
// `version`, which must be in range (asserted).
Result<OffsetFetchRequest> decode_offset_fetch_request(std::string_view body, int16_t version);
std::string encode_offset_fetch_request(const OffsetFetchRequest& request, int16_t version);
std::string encode_offset_fetch_response(const OffsetFetchResponse& response, int16_t version);
Result<OffsetFetchResponse> decode_offset_fetch_response(std::string_view body,
                                                         int16_t version);

}  // namespace tessera::kafka
