#pragma once
// The server side of the SASL mechanisms the Kafka gateway offers, as pure
// logic over the tokens that SaslAuthenticate (or, after a v0 SaslHandshake,
// raw frames) carries: no I/O, no clock, no randomness (the caller passes the
// server nonce and salts in).
//
//  - PLAIN (RFC 4616): one client message "[authzid] NUL authcid NUL passwd".
//  - SCRAM-SHA-256 (RFC 5802 with RFC 7677's SHA-256): client-first,
//    server-first, client-final, server-final. Like Kafka's ScramSaslServer:
//    no channel binding (gs2 flag "p=" is refused; "n" and "y" are accepted),
//    an authzid must equal the username, usernames and passwords are used as
//    UTF-8 bytes without SASLprep, and the only extension Kafka defines
//    ("tokenauth", delegation tokens) is refused along with unknown ones.
//
// Errors are Errc::invalid_argument for malformed messages,
// Errc::permission_denied for an authzid other than the username,
// Errc::unauthenticated for a wrong SCRAM proof and Errc::internal for a
// malformed stored credential. Messages never contain a
// password, and a failed SCRAM proof reads the same whether or not the user
// exists: for an unknown user the caller continues with
// make_decoy_scram_credential() and the exchange fails at the proof.

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr std::string_view kSaslMechanismPlain = "PLAIN";
inline constexpr std::string_view kSaslMechanismScramSha256 = "SCRAM-SHA-256";

// ---- PLAIN ----

// RFC 4616 §2 requires servers to accept at least 255 octets per field; more
// is refused.
inline constexpr size_t kSaslPlainFieldBytesMax = 255;

struct SaslPlainCredentials {
  std::string authzid;  // empty unless the client asked to act as someone
  std::string username;
  std::string password;
  bool operator==(const SaslPlainCredentials&) const = default;
};

// Parses a PLAIN message. Refuses a missing NUL, an extra NUL (inside the
// password), an empty username or password, a field over
// kSaslPlainFieldBytesMax, and (as Kafka does) an authzid that differs from
// the username.
Result<SaslPlainCredentials> parse_sasl_plain(std::string_view message);

// ---- SCRAM-SHA-256 ----

// RFC 7677 §4 asks for at least 4096 iterations; Kafka bounds SCRAM-SHA-256
// credentials to [4096, 16384].
inline constexpr int kScramMinIterations = 4096;
inline constexpr int kScramMaxIterations = 16384;
inline constexpr size_t kScramKeyBytes = 32;  // SHA-256 output
// Bounds every SCRAM message and name, so a hostile client cannot make the
// server hash or copy much.
inline constexpr size_t kScramMessageBytesMax = 4096;
inline constexpr size_t kScramNameBytesMax = 255;

// What the server stores per user (RFC 5802 §3): never the password.
struct ScramCredential {
  std::string salt;  // raw bytes
  int iterations = 0;
  std::string stored_key;  // SHA-256(ClientKey), kScramKeyBytes
  std::string server_key;  // HMAC(SaltedPassword, "Server Key"), kScramKeyBytes
  bool operator==(const ScramCredential&) const = default;
};

// SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations),
// ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = SHA-256(ClientKey),
// ServerKey = HMAC(SaltedPassword, "Server Key"). The salt must be non-empty
// and iterations within [kScramMinIterations, kScramMaxIterations]
// (asserted: the caller chooses both).
ScramCredential make_scram_credential(std::string_view password, std::string_view salt,
                                      int iterations);

// A credential for a user that does not exist, derived from the username and
// a server secret: the same salt on every attempt (as a real user's would
// be), keys no password produces. `secret` must be non-empty (asserted).
ScramCredential make_decoy_scram_credential(std::string_view username, std::string_view secret,
                                            int iterations);

// True if `password` is the one `credential` was made from; compares in
// constant time. Lets PLAIN logins check against stored SCRAM credentials.
bool scram_password_matches(const ScramCredential& credential, std::string_view password);

// One SCRAM-SHA-256 exchange, server side. Call in order:
//   1. client_first(msg)  -> the username, for the caller to look up;
//   2. server_first(credential, server_nonce) -> the server-first message;
//   3. client_final(msg)  -> the server-final message "v=..." on success.
// Any error, or a call out of order, fails the exchange for good: every
// later call returns an error. Not thread-safe; one per connection.
class ScramServer {
 public:
  // "gs2-header client-first-message-bare", e.g. "n,,n=user,r=<cnonce>".
  Result<std::string> client_first(std::string_view message);
  // `server_nonce` must be printable ASCII without ',' (the caller draws it
  // from a CSPRNG; RFC 5802 §5.1). Returns "r=<cnonce><snonce>,s=<b64 salt>,i=<n>".
  Result<std::string> server_first(const ScramCredential& credential,
                                   std::string_view server_nonce);
  // "c=<b64 gs2-header>,r=<nonce>[,ext...],p=<b64 proof>". Checks the
  // channel binding and nonce, verifies the proof in constant time and
  // returns "v=<b64 ServerSignature>".
  Result<std::string> client_final(std::string_view message);

  bool succeeded() const { return state_ == State::succeeded; }
  // The username from client-first (authzid equals it when given).
  const std::string& username() const { return username_; }

 private:
  enum class State { initial, got_client_first, sent_server_first, succeeded, failed };
  Status fail(Status st);

  State state_ = State::initial;
  std::string username_;
  std::string gs2_header_;         // e.g. "n,," : what c= must encode
  std::string client_first_bare_;  // for AuthMessage
  std::string client_nonce_;
  std::string nonce_;  // client + server nonce
  std::string server_first_;
  std::string stored_key_;
  std::string server_key_;
};

}  // namespace tessera::kafka
