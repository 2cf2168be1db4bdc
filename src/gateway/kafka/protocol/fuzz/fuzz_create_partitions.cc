// libFuzzer target: CreatePartitions (API key 37) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/create_partitions.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kCreatePartitionsMinVersion,
                     k::kCreatePartitionsMaxVersion, k::decode_create_partitions_request,
                     k::encode_create_partitions_request, k::decode_create_partitions_response,
                     k::encode_create_partitions_response);
  return 0;
}
