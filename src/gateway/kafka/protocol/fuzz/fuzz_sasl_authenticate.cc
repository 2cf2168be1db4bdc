// libFuzzer target: SaslAuthenticate (API key 36) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/sasl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kSaslAuthenticateMinVersion,
                     k::kSaslAuthenticateMaxVersion, k::decode_sasl_authenticate_request,
                     k::encode_sasl_authenticate_request, k::decode_sasl_authenticate_response,
                     k::encode_sasl_authenticate_response);
  return 0;
}
