// libFuzzer target: SaslHandshake (API key 17) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/sasl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kSaslHandshakeMinVersion,
                     k::kSaslHandshakeMaxVersion, k::decode_sasl_handshake_request,
                     k::encode_sasl_handshake_request, k::decode_sasl_handshake_response,
                     k::encode_sasl_handshake_response);
  return 0;
}
