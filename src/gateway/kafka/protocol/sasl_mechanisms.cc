#include "gateway/kafka/protocol/sasl_mechanisms.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace tessera::kafka {
namespace {

Status malformed(std::string message) {
  return Status(Errc::invalid_argument, "kafka: " + std::move(message));
}

// ---- Base64 (RFC 4648 §4, with padding), strict: SCRAM carries salts,
// channel bindings and proofs in it, and a lenient decoder would accept
// several spellings of one proof.

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    const size_t n = std::min<size_t>(3, in.size() - i);
    uint32_t v = 0;
    for (size_t j = 0; j < 3; ++j) {
      v = (v << 8) | (j < n ? static_cast<uint8_t>(in[i + j]) : 0u);
    }
    for (size_t j = 0; j < 4; ++j) {
      out.push_back(j <= n ? kBase64Alphabet[(v >> (18 - 6 * j)) & 0x3f] : '=');
    }
  }
  return out;
}

int base64_value(char c) {
  const size_t at = kBase64Alphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// nullopt unless `in` is canonical padded base64.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    size_t pad = 0;
    if (last && in[i + 3] == '=') pad = in[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      const int d = j < 4 - pad ? base64_value(in[i + j]) : 0;
      if (d < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    // Padding leaves 2 or 4 unused low bits; canonical encodings zero them.
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) return std::nullopt;
    for (size_t j = 0; j < 3 - pad; ++j) {
      out.push_back(static_cast<char>((v >> (16 - 8 * j)) & 0xff));
    }
  }
  return out;
}

// ---- SHA-256 primitives (OpenSSL) ----

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  const unsigned char* ok = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                 bytes_of(data), data.size(), out.data(), &len);
  TESSERA_ASSERT(ok != nullptr && len == kScramKeyBytes);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string sha256(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(bytes_of(data), data.size(), out.data());
  return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- SCRAM attribute syntax (RFC 5802 §7) ----

std::vector<std::string_view> split_attributes(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t comma = s.find(','); comma != std::string_view::npos; comma = s.find(',', start)) {
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  out.push_back(s.substr(start));
  return out;
}

// The value of "k=value", or nullopt if `attr` is not attribute `k`.
std::optional<std::string_view> attribute(std::string_view attr, char k) {
  if (attr.size() < 2 || attr[0] != k || attr[1] != '=') return std::nullopt;
  return attr.substr(2);
}

// printable = %x21-2B / %x2D-7E: what nonces are made of.
bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return !s.empty();
}

// saslname: ',' and '=' travel as "=2C" and "=3D"; any other '=' is invalid.
Result<std::string> decode_saslname(std::string_view s, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\0') return malformed("SCRAM " + std::string(what) + " contains a NUL");
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    const std::string_view escape = s.substr(i + 1, 2);
    if (escape != "2C" && escape != "3D") {
      return malformed("SCRAM " + std::string(what) + " has an '=' that is not =2C or =3D");
    }
    out.push_back(escape == "2C" ? ',' : '=');
    i += 2;
  }
  if (out.empty()) return malformed("SCRAM " + std::string(what) + " is empty");
  if (out.size() > kScramNameBytesMax) {
    return malformed("SCRAM " + std::string(what) + " is longer than " +
                     std::to_string(kScramNameBytesMax) + " bytes");
  }
  return out;
}

}  // namespace

// ---- PLAIN ----

Result<SaslPlainCredentials> parse_sasl_plain(std::string_view message) {
  const size_t first = message.find('\0');
  if (first == std::string_view::npos) return malformed("PLAIN message has no NUL separator");
  const size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) {
    return malformed("PLAIN message has one NUL separator, not two");
  }
  const std::string_view authzid = message.substr(0, first);
  const std::string_view username = message.substr(first + 1, second - first - 1);
  const std::string_view password = message.substr(second + 1);
  if (password.find('\0') != std::string_view::npos) {
    return malformed("PLAIN message has more than two NUL separators");
  }
  if (username.empty()) return malformed("PLAIN username is empty");
  if (password.empty()) return malformed("PLAIN password is empty");
  for (auto [field, name] : {std::pair{authzid, "authzid"}, std::pair{username, "username"},
                             std::pair{password, "password"}}) {
    if (field.size() > kSaslPlainFieldBytesMax) {
      return malformed("PLAIN " + std::string(name) + " is longer than " +
                       std::to_string(kSaslPlainFieldBytesMax) + " bytes");
    }
  }
  if (!authzid.empty() && authzid != username) {
    return Status(Errc::permission_denied,
                  "kafka: PLAIN authorization id differs from the username");
  }
  return SaslPlainCredentials{std::string(authzid), std::string(username), std::string(password)};
}

// ---- SCRAM credentials ----

ScramCredential make_scram_credential(std::string_view password, std::string_view salt,
                                      int iterations) {
  TESSERA_ASSERT(!salt.empty());
  TESSERA_ASSERT(iterations >= kScramMinIterations && iterations <= kScramMaxIterations);
  std::array<unsigned char, kScramKeyBytes> salted{};
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                                   bytes_of(salt), static_cast<int>(salt.size()), iterations,
                                   EVP_sha256(), static_cast<int>(salted.size()), salted.data());
  TESSERA_ASSERT(ok == 1);
  const std::string_view salted_password(reinterpret_cast<const char*>(salted.data()),
                                         salted.size());
  ScramCredential c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = sha256(hmac_sha256(salted_password, "Client Key"));
  c.server_key = hmac_sha256(salted_password, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  return c;
}

ScramCredential make_decoy_scram_credential(std::string_view username, std::string_view secret,
                                            int iterations) {
  TESSERA_ASSERT(!secret.empty());
  TESSERA_ASSERT(iterations >= kScramMinIterations && iterations <= kScramMaxIterations);
  const std::string name(username);
  ScramCredential c;
  c.salt = hmac_sha256(secret, "decoy salt:" + name);
  c.iterations = iterations;
  c.stored_key = hmac_sha256(secret, "decoy stored key:" + name);
  c.server_key = hmac_sha256(secret, "decoy server key:" + name);
  return c;
}

bool scram_password_matches(const ScramCredential& credential, std::string_view password) {
  if (credential.salt.empty() || credential.iterations < kScramMinIterations ||
      credential.iterations > kScramMaxIterations) {
    return false;
  }
  ScramCredential candidate =
      make_scram_credential(password, credential.salt, credential.iterations);
  return equal_constant_time(candidate.stored_key, credential.stored_key);
}

// ---- ScramServer ----

Status ScramServer::fail(Status st) {
  state_ = State::failed;
  return st;
}

Result<std::string> ScramServer::client_first(std::string_view m) {
  if (state_ != State::initial) return fail(malformed("SCRAM client-first message out of order"));
  if (m.size() > kScramMessageBytesMax) {
    return fail(malformed("SCRAM client-first message is longer than " +
                          std::to_string(kScramMessageBytesMax) + " bytes"));
  }
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  if (m.starts_with("p=")) return fail(malformed("SCRAM channel binding is not supported"));
  if (!m.starts_with("n,") && !m.starts_with("y,")) {
    return fail(malformed("SCRAM client-first message has no gs2 header"));
  }
  const size_t authz_end = m.find(',', 2);
  if (authz_end == std::string_view::npos) {
    return fail(malformed("SCRAM gs2 header is not terminated"));
  }
  std::string authzid;
  if (authz_end > 2) {
    std::optional<std::string_view> a = attribute(m.substr(2, authz_end - 2), 'a');
    if (!a) return fail(malformed("SCRAM gs2 header has a malformed authzid"));
    Result<std::string> decoded = decode_saslname(*a, "authzid");
    if (!decoded.is_ok()) return fail(decoded.status());
    authzid = std::move(decoded).value();
  }
  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  const std::string_view bare = m.substr(authz_end + 1);
  const std::vector<std::string_view> attrs = split_attributes(bare);
  if (attribute(attrs[0], 'm')) {
    return fail(malformed("SCRAM mandatory extensions are not supported"));
  }
  std::optional<std::string_view> n = attribute(attrs[0], 'n');
  if (!n) return fail(malformed("SCRAM client-first message has no username"));
  Result<std::string> username = decode_saslname(*n, "username");
  if (!username.is_ok()) return fail(username.status());
  std::optional<std::string_view> r = attrs.size() > 1 ? attribute(attrs[1], 'r') : std::nullopt;
  if (!r) return fail(malformed("SCRAM client-first message has no nonce"));
  if (!printable(*r)) return fail(malformed("SCRAM client nonce is empty or not printable"));
  if (attrs.size() > 2) {
    if (attrs[2].starts_with("tokenauth=")) {
      return fail(malformed("SCRAM delegation-token authentication is not supported"));
    }
    return fail(malformed("SCRAM client-first message has an unsupported extension"));
  }
  if (!authzid.empty() && authzid != *username) {
    return fail(Status(Errc::permission_denied,
                       "kafka: SCRAM authorization id differs from the username"));
  }
  username_ = std::move(username).value();
  gs2_header_ = std::string(m.substr(0, authz_end + 1));
  client_first_bare_ = std::string(bare);
  client_nonce_ = std::string(*r);
  state_ = State::got_client_first;
  return username_;
}

Result<std::string> ScramServer::server_first(const ScramCredential& credential,
                                              std::string_view server_nonce) {
  if (state_ != State::got_client_first) {
    return fail(malformed("SCRAM server-first message out of order"));
  }
  if (!printable(server_nonce)) {
    return fail(malformed("SCRAM server nonce is empty or not printable"));
  }
  if (credential.salt.empty() || credential.iterations < kScramMinIterations ||
      credential.iterations > kScramMaxIterations ||
      credential.stored_key.size() != kScramKeyBytes ||
      credential.server_key.size() != kScramKeyBytes) {
    return fail(Status(Errc::internal, "kafka: SCRAM credential is malformed"));
  }
  nonce_ = client_nonce_ + std::string(server_nonce);
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential.salt) +
                  ",i=" + std::to_string(credential.iterations);
  stored_key_ = credential.stored_key;
  server_key_ = credential.server_key;
  state_ = State::sent_server_first;
  return server_first_;
}

Result<std::string> ScramServer::client_final(std::string_view m) {
  if (state_ != State::sent_server_first) {
    return fail(malformed("SCRAM client-final message out of order"));
  }
  if (m.size() > kScramMessageBytesMax) {
    return fail(malformed("SCRAM client-final message is longer than " +
                          std::to_string(kScramMessageBytesMax) + " bytes"));
  }
  // client-final-message = channel-binding "," nonce ["," extensions] "," proof
  const size_t proof_at = m.rfind(",p=");
  if (proof_at == std::string_view::npos) {
    return fail(malformed("SCRAM client-final message has no proof"));
  }
  const std::string_view without_proof = m.substr(0, proof_at);
  const std::vector<std::string_view> attrs = split_attributes(without_proof);
  std::optional<std::string_view> c = attribute(attrs[0], 'c');
  if (!c) return fail(malformed("SCRAM client-final message has no channel binding"));
  std::optional<std::string_view> r = attrs.size() > 1 ? attribute(attrs[1], 'r') : std::nullopt;
  if (!r) return fail(malformed("SCRAM client-final message has no nonce"));
  for (size_t i = 2; i < attrs.size(); ++i) {
    if (attrs[i].size() < 2 || attrs[i][1] != '=') {
      return fail(malformed("SCRAM client-final message has a malformed extension"));
    }
  }
  std::optional<std::string> binding = base64_decode(*c);
  if (!binding) return fail(malformed("SCRAM channel binding is not base64"));
  if (*binding != gs2_header_) {
    return fail(malformed("SCRAM channel binding does not match the gs2 header"));
  }
  // librdkafka (through 2.x) sends its client nonce followed by the whole
  // server nonce, which already starts with it; accept that form too.
  if (*r != nonce_ && *r != client_nonce_ + nonce_) {
    return fail(malformed("SCRAM nonce does not match"));
  }
  std::optional<std::string> proof = base64_decode(m.substr(proof_at + 3));
  if (!proof || proof->size() != kScramKeyBytes) {
    return fail(malformed("SCRAM proof is not base64 of " + std::to_string(kScramKeyBytes) +
                          " bytes"));
  }
  // RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage),
  // and the client knows the password iff SHA-256(ClientKey) == StoredKey.
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  std::string client_key = hmac_sha256(stored_key_, auth_message);
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= (*proof)[i];
  if (!equal_constant_time(sha256(client_key), stored_key_)) {
    return fail(Status(Errc::unauthenticated, "kafka: SCRAM authentication failed"));
  }
  state_ = State::succeeded;
  return "v=" + base64_encode(hmac_sha256(server_key_, auth_message));
}

}  // namespace tessera::kafka
