#pragma once
// FindCoordinator (API key 10), versions 0-2: which broker coordinates a
// consumer group (key_type 0) or a transactional id (key_type 1). Version 3 is
// the first flexible version and is not served.
//
//   FindCoordinator Request (v0)   => key STRING
//   FindCoordinator Request (v1-2) => key STRING key_type INT8
//   FindCoordinator Response (v0)  => error_code INT16 node_id INT32 host STRING port INT32
//   FindCoordinator Response (v1-2)=> throttle_time_ms INT32 error_code INT16
//                                     error_message NULLABLE_STRING node_id INT32
//                                     host STRING port INT32
//
// Requests use request header v1 and responses response header v0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kFindCoordinatorMinVersion = 0;
inline constexpr int16_t kFindCoordinatorMaxVersion = 2;

// FindCoordinator key types (protocol guide, FindCoordinator key_type).
inline constexpr int8_t kCoordinatorKeyTypeGroup = 0;
inline constexpr int8_t kCoordinatorKeyTypeTransaction = 1;

struct FindCoordinatorRequest {
  std::string key;
  int8_t key_type = kCoordinatorKeyTypeGroup;  // v1+; v0 always asks for a group
  bool operator==(const FindCoordinatorRequest&) const = default;
};

struct FindCoordinatorResponse {
  int32_t throttle_time_ms = 0;              // v1+
  int16_t error_code = 0;
  std::optional<std::string> error_message;  // v1+
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  bool operator==(const FindCoordinatorResponse&) const = default;
};

// Decoders take the body after the header, reject versions outside
// [kFindCoordinatorMinVersion, kFindCoordinatorMaxVersion], malformed fields
// (naming the field) and trailing bytes. Encoders write exactly the fields of
// `version`, which must be in range (asserted).
Result<FindCoordinatorRequest> decode_find_coordinator_request(std::string_view body,
                                                               int16_t version);
std::string encode_find_coordinator_request(const FindCoordinatorRequest& request,
                                            int16_t version);
std::string encode_find_coordinator_response(const FindCoordinatorResponse& response,
                                             int16_t version);
Result<FindCoordinatorResponse> decode_find_coordinator_response(std::string_view body,
                                                                 int16_t version);

}  // namespace tessera::kafka
