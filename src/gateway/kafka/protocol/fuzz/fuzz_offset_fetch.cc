// libFuzzer target: OffsetFetch (API key 9) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/offset_fetch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kOffsetFetchMinVersion,
                     k::kOffsetFetchMaxVersion, k::decode_offset_fetch_request,
                     k::encode_offset_fetch_request, k::decode_offset_fetch_response,
                     k::encode_offset_fetch_response);
  return 0;
}
