// libFuzzer target: ListOffsets (API key 2) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/list_offsets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kListOffsetsMinVersion,
                     k::kListOffsetsMaxVersion, k::decode_list_offsets_request,
                     k::encode_list_offsets_request, k::decode_list_offsets_response,
                     k::encode_list_offsets_response);
  return 0;
}
