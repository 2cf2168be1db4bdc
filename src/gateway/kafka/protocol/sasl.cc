#include "gateway/kafka/protocol/sasl.h"

#include "base/assert.h"
#include "gateway/kafka/protocol/admin_codec_util.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using admin_detail::decode_body;
using admin_detail::named;
using admin_detail::read_count;

constexpr size_t kMechanismBytes = 2;  // an empty STRING

bool handshake_version_known(int16_t v) {
  return v >= kSaslHandshakeMinVersion && v <= kSaslHandshakeMaxVersion;
}
bool authenticate_version_known(int16_t v) {
  return v >= kSaslAuthenticateMinVersion && v <= kSaslAuthenticateMaxVersion;
}

}  // namespace

Result<SaslHandshakeRequest> decode_sasl_handshake_request(std::string_view body,
                                                           int16_t version) {
  return decode_body<SaslHandshakeRequest>(
      body, "SaslHandshake request", version, kSaslHandshakeMinVersion,
      kSaslHandshakeMaxVersion, [](Reader& r) -> Result<SaslHandshakeRequest> {
        SaslHandshakeRequest req;
        TESSERA_ASSIGN_OR_RETURN(req.mechanism, named(r.read_string(), "mechanism"));
        return req;
      });
}

std::string encode_sasl_handshake_request(const SaslHandshakeRequest& request,
                                          int16_t version) {
  TESSERA_ASSERT(handshake_version_known(version));
  std::string out;
  Writer w(&out);
  w.write_string(request.mechanism);
  return out;
}

Result<SaslHandshakeResponse> decode_sasl_handshake_response(std::string_view body,
                                                             int16_t version) {
  return decode_body<SaslHandshakeResponse>(
      body, "SaslHandshake response", version, kSaslHandshakeMinVersion,
      kSaslHandshakeMaxVersion, [](Reader& r) -> Result<SaslHandshakeResponse> {
        SaslHandshakeResponse resp;
        TESSERA_ASSIGN_OR_RETURN(resp.error_code, named(r.read_int16(), "error_code"));
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kMechanismBytes, "mechanisms"));
        resp.mechanisms.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          TESSERA_ASSIGN_OR_RETURN(std::string_view m, named(r.read_string(), "mechanisms"));
          resp.mechanisms.emplace_back(m);
        }
        return resp;
      });
}

std::string encode_sasl_handshake_response(const SaslHandshakeResponse& response,
                                           int16_t version) {
  TESSERA_ASSERT(handshake_version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int16(response.error_code);
  w.write_array_length(response.mechanisms.size());
  for (const std::string& m : response.mechanisms) w.write_string(m);
  return out;
}

Result<SaslAuthenticateRequest> decode_sasl_authenticate_request(std::string_view body,
                                                                 int16_t version) {
  return decode_body<SaslAuthenticateRequest>(
      body, "SaslAuthenticate request", version, kSaslAuthenticateMinVersion,
      kSaslAuthenticateMaxVersion, [](Reader& r) -> Result<SaslAuthenticateRequest> {
        SaslAuthenticateRequest req;
        TESSERA_ASSIGN_OR_RETURN(req.auth_bytes, named(r.read_bytes(), "auth_bytes"));
        return req;
      });
}

std::string encode_sasl_authenticate_request(const SaslAuthenticateRequest& request,
                                             int16_t version) {
  TESSERA_ASSERT(authenticate_version_known(version));
  std::string out;
  Writer w(&out);
  w.write_bytes(request.auth_bytes);
  return out;
}

Result<SaslAuthenticateResponse> decode_sasl_authenticate_response(std::string_view body,
                                                                   int16_t version) {
  return decode_body<SaslAuthenticateResponse>(
      body, "SaslAuthenticate response", version, kSaslAuthenticateMinVersion,
      kSaslAuthenticateMaxVersion, [version](Reader& r) -> Result<SaslAuthenticateResponse> {
        SaslAuthenticateResponse resp;
        TESSERA_ASSIGN_OR_RETURN(resp.error_code, named(r.read_int16(), "error_code"));
        TESSERA_ASSIGN_OR_RETURN(resp.error_message,
                                 named(r.read_nullable_string(), "error_message"));
        TESSERA_ASSIGN_OR_RETURN(resp.auth_bytes, named(r.read_bytes(), "auth_bytes"));
        if (version >= 1) {
          TESSERA_ASSIGN_OR_RETURN(resp.session_lifetime_ms,
                                   named(r.read_int64(), "session_lifetime_ms"));
        }
        return resp;
      });
}

std::string encode_sasl_authenticate_response(const SaslAuthenticateResponse& response,
                                              int16_t version) {
  TESSERA_ASSERT(authenticate_version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int16(response.error_code);
  w.write_nullable_string(response.error_message);
  w.write_bytes(response.auth_bytes);
  if (version >= 1) w.write_int64(response.session_lifetime_ms);
  return out;
}

}  // namespace tessera::kafka
