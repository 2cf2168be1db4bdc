// libFuzzer target: InitProducerId (API key 22) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/init_producer_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kInitProducerIdMinVersion,
                     k::kInitProducerIdMaxVersion, k::decode_init_producer_id_request,
                     k::encode_init_producer_id_request, k::decode_init_producer_id_response,
                     k::encode_init_producer_id_response);
  return 0;
}
