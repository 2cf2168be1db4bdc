// SaslHandshake and SaslAuthenticate (KIP-43, KIP-152): PLAIN and
// SCRAM-SHA-256 with a Tessera access key (username = key id, password =
// secret; SCRAM checks the verifier stored with the key). After a v0
// handshake the tokens travel as bare frames; after v1, in SaslAuthenticate.
#include <random>

#include <spdlog/spdlog.h>

#include "gateway/kafka/protocol/sasl.h"
#include "gateway/kafka/protocol/sasl_mechanisms.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"
#include "server/backend.h"

namespace tessera::kafka {
namespace {

const std::vector<std::string>& mechanisms() {
  static const std::vector<std::string> m{std::string(kSaslMechanismPlain),
                                          std::string(kSaslMechanismScramSha256)};
  return m;
}

// Printable, without ',' (RFC 5802 nonce).
std::string random_nonce() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out(32, 'x');
  for (auto& c : out) c = kChars[rng() % 64];
  return out;
}

// Per process: decoy verifiers for unknown keys are stable within a run.
const std::string& decoy_secret() {
  static const std::string s = random_nonce();
  return s;
}

}  // namespace

Result<std::string> Session::sasl_handshake(const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_sasl_handshake_request(body, h.api_version));
  SaslHandshakeResponse resp;
  resp.mechanisms = mechanisms();
  if (sasl_ != Sasl::none || principal_) {
    resp.error_code = code(KafkaError::illegal_sasl_state);
  } else if (std::find(resp.mechanisms.begin(), resp.mechanisms.end(), req.mechanism) ==
             resp.mechanisms.end()) {
    resp.error_code = code(KafkaError::unsupported_sasl_mechanism);
  } else {
    mechanism_ = req.mechanism;
    sasl_ = h.api_version == 0 ? Sasl::expect_raw : Sasl::expect_authenticate;
  }
  return encode_sasl_handshake_response(resp, h.api_version);
}

Result<std::string> Session::sasl_step(std::string_view token) {
  if (mechanism_ == kSaslMechanismPlain) {
    TESSERA_ASSIGN_OR_RETURN(auto creds, parse_sasl_plain(token));
    auto who = broker_.backend().authenticate(creds.username, creds.password);
    if (!who.is_ok()) {
      spdlog::info("kafka: {} ({}): SASL/PLAIN for key {} refused: {}", peer_, client_id_,
                   creds.username, who.status().message());
      return Status(Errc::unauthenticated, "Authentication failed: invalid access key or secret");
    }
    principal_ = *who;
    return std::string();
  }
  if (mechanism_ == kSaslMechanismScramSha256) {
    if (!scram_) {
      scram_ = std::make_unique<ScramServer>();
      TESSERA_ASSIGN_OR_RETURN(std::string user, scram_->client_first(token));
      ScramCredential cred;
      auto key = broker_.backend().access_key(user);
      if (key.is_ok() && !key->first.scram_salt().empty()) {
        cred.salt = key->first.scram_salt();
        cred.iterations = key->first.scram_iterations();
        cred.stored_key = key->first.scram_stored_key();
        cred.server_key = key->first.scram_server_key();
        scram_principal_ = key->second;
      } else {
        // Unknown key (or one made before SCRAM verifiers): the exchange
        // fails at the proof, indistinguishable from a wrong secret.
        cred = make_decoy_scram_credential(user, decoy_secret(), kScramMinIterations);
      }
      return scram_->server_first(cred, random_nonce());
    }
    auto last = scram_->client_final(token);
    if (!last.is_ok()) {
      spdlog::info("kafka: {} ({}): SASL/SCRAM-SHA-256 for key {} refused: {}", peer_, client_id_,
                   scram_->username(), last.status().message());
      return Status(Errc::unauthenticated, "Authentication failed during authentication due to invalid "
                                           "credentials with SASL mechanism SCRAM-SHA-256");
    }
    if (!scram_principal_) return Status(Errc::unauthenticated, "Authentication failed");
    principal_ = scram_principal_;
    return *last;
  }
  return Status(Errc::invalid_argument, "SASL mechanism " + mechanism_ + " is not enabled");
}

Result<std::string> Session::sasl_authenticate(const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_sasl_authenticate_request(body, h.api_version));
  SaslAuthenticateResponse resp;
  if (sasl_ != Sasl::expect_authenticate) {
    resp.error_code = code(KafkaError::illegal_sasl_state);
    resp.error_message = "SaslAuthenticate without a SaslHandshake first";
    return encode_sasl_authenticate_response(resp, h.api_version);
  }
  auto answer = sasl_step(req.auth_bytes);
  if (!answer.is_ok()) {
    sasl_ = Sasl::done;  // no second try on this connection; principal_ stays unset
    resp.error_code = code(KafkaError::sasl_authentication_failed);
    resp.error_message = answer.status().message();
  } else {
    resp.auth_bytes = *answer;
    if (principal_) sasl_ = Sasl::done;
  }
  return encode_sasl_authenticate_response(resp, h.api_version);
}

Status Session::raw_sasl(std::string_view token, std::string* out) {
  TESSERA_ASSIGN_OR_RETURN(auto answer, sasl_step(token));
  if (principal_) sasl_ = Sasl::done;
  size_t start = begin_frame(out);
  out->append(answer);
  finish_frame(out, start);
  return Status::ok();
}

HandlerResult handle_sasl_handshake(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto answer, s.sasl_handshake(h, body));
  return std::optional<std::string>(std::move(answer));
}

HandlerResult handle_sasl_authenticate(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto answer, s.sasl_authenticate(h, body));
  return std::optional<std::string>(std::move(answer));
}

}  // namespace tessera::kafka
