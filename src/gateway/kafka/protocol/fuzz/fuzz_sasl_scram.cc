// libFuzzer target: ScramServer, the server side of SCRAM-SHA-256 (RFC 5802,
// RFC 7677), against one fixed credential and server nonce.
//
// Input: byte 0 is a selector, bytes 1-2 a big-endian length L, then the
// client-first message (L bytes, or what is left), then the rest R.
//  - selector bit 0 clear: R is the client-final message. A refusal is
//    invalid_argument or unauthenticated and fails the exchange for good; an
//    acceptance must carry the proof and get the server signature that this
//    file computes independently (so never, unless the fuzzer finds the
//    password's keys).
//  - bit 0 set: the target plays an honest client: it builds the
//    client-final message with the correct proof (with R, minus commas, as an
//    extension when bit 1 is set) and requires success and the right server
//    signature; the same message with one proof bit flipped must be refused
//    as unauthenticated.
// For every client-first message: a refusal is invalid_argument or
// permission_denied and fails the exchange; an acceptance yields a non-empty
// username of at most kScramNameBytesMax bytes without NUL, and server_first
// must then succeed and echo the client's nonce.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/sasl_mechanisms.h"

namespace {

namespace k = tessera::kafka;
using tessera::Errc;

constexpr std::string_view kPassword = "pencil";
constexpr std::string_view kSalt = "fuzz salt, sixteen";
constexpr std::string_view kServerNonce = "3rfcNHYJY1ZVvWVs7j";

std::string hmac(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = 0;
    const size_t n = in.size() - i < 3 ? in.size() - i : 3;
    for (size_t j = 0; j < 3; ++j) {
      v = (v << 8) | (j < n ? static_cast<unsigned char>(in[i + j]) : 0u);
    }
    for (size_t j = 0; j < 4; ++j)
      out.push_back(j <= n ? kAlphabet[(v >> (18 - 6 * j)) & 0x3f] : '=');
  }
  return out;
}

// The credential and the client-side keys, derived once (PBKDF2 is slow).
struct Keys {
  k::ScramCredential credential =
      k::make_scram_credential(kPassword, kSalt, k::kScramMinIterations);
  std::string client_key;

  Keys() {
    std::array<unsigned char, k::kScramKeyBytes> salted{};
    PKCS5_PBKDF2_HMAC(kPassword.data(), static_cast<int>(kPassword.size()),
                      reinterpret_cast<const unsigned char*>(kSalt.data()),
                      static_cast<int>(kSalt.size()), k::kScramMinIterations, EVP_sha256(),
                      static_cast<int>(salted.size()), salted.data());
    client_key = hmac(std::string_view(reinterpret_cast<const char*>(salted.data()), salted.size()),
                      "Client Key");
    std::array<unsigned char, SHA256_DIGEST_LENGTH> stored{};
    SHA256(reinterpret_cast<const unsigned char*>(client_key.data()), client_key.size(),
           stored.data());
    FUZZ_CHECK(credential.stored_key ==
               std::string(reinterpret_cast<const char*>(stored.data()), stored.size()));
  }
};

const Keys& keys() {
  static const Keys k;
  return k;
}

std::string proof_for(std::string_view auth_message) {
  std::string proof = hmac(keys().credential.stored_key, auth_message);
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= keys().client_key[i];
  return proof;
}

std::string server_signature(std::string_view auth_message) {
  return "v=" + base64(hmac(keys().credential.server_key, auth_message));
}

void expect_failed_for_good(k::ScramServer& server) {
  FUZZ_CHECK(!server.succeeded());
  tessera::Result<std::string> later = server.client_final("c=biws,r=x,p=AAAA");
  FUZZ_CHECK(!later.is_ok() && later.status().code() == Errc::invalid_argument);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t selector = data[0];
  const size_t declared = (size_t{data[1]} << 8) | data[2];
  const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  const std::string_view client_first = input.substr(0, declared);
  const std::string_view rest = input.substr(client_first.size());

  k::ScramServer server;
  tessera::Result<std::string> user = server.client_first(client_first);
  if (!user.is_ok()) {
    FUZZ_CHECK(user.status().code() == Errc::invalid_argument ||
               user.status().code() == Errc::permission_denied);
    FUZZ_CHECK(!server.server_first(keys().credential, kServerNonce).is_ok());
    return 0;
  }
  FUZZ_CHECK(*user == server.username());
  FUZZ_CHECK(!user->empty() && user->size() <= k::kScramNameBytesMax);
  FUZZ_CHECK(user->find('\0') == std::string::npos);

  tessera::Result<std::string> server_first = server.server_first(keys().credential, kServerNonce);
  FUZZ_CHECK(server_first.is_ok());
  FUZZ_CHECK(server_first->starts_with("r="));
  const std::string nonce = server_first->substr(2, server_first->find(',') - 2);
  FUZZ_CHECK(nonce.ends_with(kServerNonce) && nonce.size() > kServerNonce.size());

  // The gs2 header is everything up to its second comma; the bare message follows.
  const size_t gs2_end = client_first.find(',', client_first.find(',') + 1) + 1;
  const std::string_view gs2 = client_first.substr(0, gs2_end);
  const std::string_view bare = client_first.substr(gs2_end);
  FUZZ_CHECK(bare.find(nonce.substr(0, nonce.size() - kServerNonce.size())) != std::string::npos);

  if ((selector & 0x01) == 0) {
    tessera::Result<std::string> final_reply = server.client_final(rest);
    if (!final_reply.is_ok()) {
      FUZZ_CHECK(final_reply.status().code() == Errc::invalid_argument ||
                 final_reply.status().code() == Errc::unauthenticated);
      expect_failed_for_good(server);
      return 0;
    }
    const std::string_view without_proof = rest.substr(0, rest.rfind(",p="));
    const std::string auth =
        std::string(bare) + "," + *server_first + "," + std::string(without_proof);
    FUZZ_CHECK(rest.substr(without_proof.size()) == ",p=" + base64(proof_for(auth)));
    FUZZ_CHECK(*final_reply == server_signature(auth) && server.succeeded());
    return 0;
  }

  std::string without_proof = "c=" + base64(gs2) + ",r=" + nonce;
  if ((selector & 0x02) != 0) {
    std::string extension(rest);
    for (char& c : extension) c = c == ',' ? '_' : c;
    without_proof += ",x=" + extension;
  }
  const std::string auth = std::string(bare) + "," + *server_first + "," + without_proof;
  const std::string proof = proof_for(auth);
  const std::string message = without_proof + ",p=" + base64(proof);
  if (message.size() > k::kScramMessageBytesMax) return 0;

  k::ScramServer twin;  // the same exchange, answered with a wrong proof
  FUZZ_CHECK(twin.client_first(client_first).is_ok());
  FUZZ_CHECK(twin.server_first(keys().credential, kServerNonce).is_ok());

  tessera::Result<std::string> final_reply = server.client_final(message);
  FUZZ_CHECK(final_reply.is_ok());
  FUZZ_CHECK(*final_reply == server_signature(auth) && server.succeeded());

  std::string wrong = proof;
  wrong[static_cast<size_t>(selector >> 3) % wrong.size()] ^=
      static_cast<char>(1 << (selector & 7));
  tessera::Result<std::string> refused = twin.client_final(without_proof + ",p=" + base64(wrong));
  FUZZ_CHECK(!refused.is_ok() && refused.status().code() == Errc::unauthenticated);
  expect_failed_for_good(twin);
  return 0;
}
