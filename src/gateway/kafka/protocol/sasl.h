#pragma once
// SaslHandshake (API key 17, versions 0-1) and SaslAuthenticate (API key 36,
// versions 0-1): the non-flexible versions (SaslHandshake has no flexible
// version; SaslAuthenticate v2 is its first). Protocol guide, "SaslHandshake
// API" and "SaslAuthenticate API", and KIP-43 / KIP-152:
//
//   SaslHandshake Request (Version: 0-1) => mechanism STRING
//   SaslHandshake Response (Version: 0-1) => error_code INT16 [mechanisms STRING]
//   SaslAuthenticate Request (Version: 0-1) => auth_bytes BYTES
//   SaslAuthenticate Response (Version: 0-1) => error_code INT16
//       error_message NULLABLE_STRING auth_bytes BYTES session_lifetime_ms INT64 (v1+)
//
// The two SaslHandshake versions have the same bytes but differ in what
// follows: after v0 the client sends raw SASL tokens, each framed by an INT32
// size and no Kafka header; after v1 every token travels in a
// SaslAuthenticate request. The mechanisms' own messages (PLAIN, SCRAM) are in
// sasl_mechanisms.h. Codecs are pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kSaslHandshakeMinVersion = 0;
inline constexpr int16_t kSaslHandshakeMaxVersion = 1;
inline constexpr int16_t kSaslAuthenticateMinVersion = 0;
inline constexpr int16_t kSaslAuthenticateMaxVersion = 1;

struct SaslHandshakeRequest {
  std::string mechanism;  // e.g. "PLAIN", "SCRAM-SHA-256"
  bool operator==(const SaslHandshakeRequest&) const = default;
};

struct SaslHandshakeResponse {
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;  // those the broker has enabled
  bool operator==(const SaslHandshakeResponse&) const = default;
};

struct SaslAuthenticateRequest {
  std::string auth_bytes;  // the mechanism's client message
  bool operator==(const SaslAuthenticateRequest&) const = default;
};

struct SaslAuthenticateResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::string auth_bytes;           // the mechanism's server message
  int64_t session_lifetime_ms = 0;  // v1+ (KIP-368); 0: no re-authentication needed
  bool operator==(const SaslAuthenticateResponse&) const = default;
};

// Decoders take the body after the header and reject versions outside the
// API's range, malformed fields and trailing bytes. Encoders write exactly
// the fields `version` has and assert it is in range.
Result<SaslHandshakeRequest> decode_sasl_handshake_request(std::string_view body,
                                                           int16_t version);
Result<SaslHandshakeResponse> decode_sasl_handshake_response(std::string_view body,
                                                             int16_t version);
std::string encode_sasl_handshake_request(const SaslHandshakeRequest& request, int16_t version);
std::string encode_sasl_handshake_response(const SaslHandshakeResponse& response,
                                           int16_t version);

Result<SaslAuthenticateRequest> decode_sasl_authenticate_request(std::string_view body,
                                                                 int16_t version);
Result<SaslAuthenticateResponse> decode_sasl_authenticate_response(std::string_view body,
                                                                   int16_t version);
std::string encode_sasl_authenticate_request(const SaslAuthenticateRequest& request,
                                             int16_t version);
std::string encode_sasl_authenticate_response(const SaslAuthenticateResponse& response,
                                              int16_t version);

}  // namespace tessera::kafka
