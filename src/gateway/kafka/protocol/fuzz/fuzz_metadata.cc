// libFuzzer target: Metadata (API key 3) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kMetadataMinVersion, k::kMetadataMaxVersion,
                     k::decode_metadata_request, k::encode_metadata_request,
                     k::decode_metadata_response, k::encode_metadata_response);
  return 0;
}
