#pragma once
// InitProducerId (API key 22), versions 0-1 (v2 is the first flexible
// version; v1 only changes throttling behaviour, so both share one layout).
// Protocol guide "InitProducerId API"; KIP-98 (idempotent and transactional
// producers).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kInitProducerIdMinVersion = 0;
inline constexpr int16_t kInitProducerIdMaxVersion = 1;

struct InitProducerIdRequest {
  std::optional<std::string> transactional_id;  // null: idempotent, not transactional
  int32_t transaction_timeout_ms = 0;
  bool operator==(const InitProducerIdRequest&) const = default;
};

struct InitProducerIdResponse {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;
  bool operator==(const InitProducerIdResponse&) const = default;
};

// Decoders take the body after the request/response header. They reject a
// version outside [kInitProducerIdMinVersion, kInitProducerIdMaxVersion],
// malformed or truncated fields (naming the field) and trailing bytes.
Result<InitProducerIdRequest> decode_init_producer_id_request(std::string_view body,
                                                              int16_t version);
Result<InitProducerIdResponse> decode_init_producer_id_response(std::string_view body,
                                                                int16_t version);

// Encoders: `version` must be in range (asserted; the caller negotiated it).
std::string encode_init_producer_id_request(const InitProducerIdRequest& request,
                                            int16_t version);
std::string encode_init_producer_id_response(const InitProducerIdResponse& response,
                                             int16_t version);

}  // namespace tessera::kafka
