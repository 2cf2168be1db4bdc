#pragma once
// DeleteTopics (API key 20), versions 0-3: the non-flexible versions (v4 is
// the first flexible one). Protocol guide, "DeleteTopics API":
//
//   DeleteTopics Request (Version: 0-3) => [topic_names] timeout_ms
//     topic_names => STRING  timeout_ms => INT32
//   DeleteTopics Response (Version: 0-3) => throttle_time_ms(v1+) [responses]
//     responses => name STRING error_code INT16
//
// v2 and v3 change only throttling and the TOPIC_DELETION_DISABLED error code,
// not the bytes. Codecs are pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kDeleteTopicsMinVersion = 0;
inline constexpr int16_t kDeleteTopicsMaxVersion = 3;

struct DeleteTopicsRequest {
  std::vector<std::string> topic_names;
  int32_t timeout_ms = 0;
  bool operator==(const DeleteTopicsRequest&) const = default;
};

struct DeletableTopicResult {
  std::string name;
  int16_t error_code = 0;
  bool operator==(const DeletableTopicResult&) const = default;
};

struct DeleteTopicsResponse {
  int32_t throttle_time_ms = 0;  // v1+; 0 when decoding v0
  std::vector<DeletableTopicResult> responses;
  bool operator==(const DeleteTopicsResponse&) const = default;
};

// Decoders take the body after the header and reject versions outside
// [kDeleteTopicsMinVersion, kDeleteTopicsMaxVersion], malformed fields and
// trailing bytes. Encoders write exactly the fields `version` has (version
// asserted in range).
Result<DeleteTopicsRequest> decode_delete_topics_request(std::string_view body, int16_t version);
Result<DeleteTopicsResponse> decode_delete_topics_response(std::string_view body,
                                                           int16_t version);
std::string encode_delete_topics_request(const DeleteTopicsRequest& request, int16_t version);
std::string encode_delete_topics_response(const DeleteTopicsResponse& response,
                                          int16_t version);

}  // namespace tessera::kafka
