// libFuzzer target: FindCoordinator (API key 10) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/find_coordinator.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kFindCoordinatorMinVersion,
                     k::kFindCoordinatorMaxVersion, k::decode_find_coordinator_request,
                     k::encode_find_coordinator_request, k::decode_find_coordinator_response,
                     k::encode_find_coordinator_response);
  return 0;
}
