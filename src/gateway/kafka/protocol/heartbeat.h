#pragma once
// Heartbeat (API key 12), versions 0-3: a group member's liveness signal, and
// how it learns that a rebalance has started (REBALANCE_IN_PROGRESS). Version
// 4 is the first flexible version and is not served.
//
//   Heartbeat Request => group_id STRING generation_id INT32 member_id STRING
//                        group_instance_id NULLABLE_STRING (v3+, KIP-345)
//   Heartbeat Response => throttle_time_ms INT32 (v1+) error_code INT16
//
// Requests use request header v1 and responses response header v0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kHeartbeatMinVersion = 0;
inline constexpr int16_t kHeartbeatMaxVersion = 3;

struct HeartbeatRequest {
  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  bool operator==(const HeartbeatRequest&) const = default;
};

struct HeartbeatResponse {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  bool operator==(const HeartbeatResponse&) const = default;
};

// Decoders take the body after the header, reject versions outside
// [kHeartbeatMinVersion, kHeartbeatMaxVersion], malformed fields (naming the
// field) and trailing bytes. Encoders write exactly the fields of `version`,
// which must be in range (asserted).
Result<HeartbeatRequest> decode_heartbeat_request(std::string_view body, int16_t version);
std::string encode_heartbeat_request(const HeartbeatRequest& request, int16_t version);
std::string encode_heartbeat_response(const HeartbeatResponse& response, int16_t version);
Result<HeartbeatResponse> decode_heartbeat_response(std::string_view body, int16_t version);

}  // namespace tessera::kafka
