// libFuzzer target: Heartbeat (API key 12) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/heartbeat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kHeartbeatMinVersion, k::kHeartbeatMaxVersion,
                     k::decode_heartbeat_request, k::encode_heartbeat_request,
                     k::decode_heartbeat_response, k::encode_heartbeat_response);
  return 0;
}
