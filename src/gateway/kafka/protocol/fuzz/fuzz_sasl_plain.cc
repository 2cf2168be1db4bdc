// libFuzzer target: parse_sasl_plain, the SASL PLAIN message (RFC 4616)
// "[authzid] NUL authcid NUL passwd".
//
// Input: the whole input is the message (no selector byte). Properties: an
// accepted message is exactly authzid NUL username NUL password of the parsed
// fields; no field holds a NUL or exceeds kSaslPlainFieldBytesMax; username
// and password are non-empty; authzid is empty or the username. A refusal is
// invalid_argument, or permission_denied for a foreign authzid.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/sasl_mechanisms.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  using tessera::Errc;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  tessera::Result<k::SaslPlainCredentials> c = k::parse_sasl_plain(message);
  if (!c.is_ok()) {
    FUZZ_CHECK(c.status().code() == Errc::invalid_argument ||
               c.status().code() == Errc::permission_denied);
    return 0;
  }
  std::string rebuilt = c->authzid;
  rebuilt += '\0';
  rebuilt += c->username;
  rebuilt += '\0';
  rebuilt += c->password;
  FUZZ_CHECK(rebuilt == message);
  for (const std::string* f : {&c->authzid, &c->username, &c->password}) {
    FUZZ_CHECK(f->find('\0') == std::string::npos);
    FUZZ_CHECK(f->size() <= k::kSaslPlainFieldBytesMax);
  }
  FUZZ_CHECK(!c->username.empty() && !c->password.empty());
  FUZZ_CHECK(c->authzid.empty() || c->authzid == c->username);
  return 0;
}
