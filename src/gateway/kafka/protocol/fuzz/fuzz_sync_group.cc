// libFuzzer target: SyncGroup (API key 14) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/sync_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kSyncGroupMinVersion, k::kSyncGroupMaxVersion,
                     k::decode_sync_group_request, k::encode_sync_group_request,
                     k::decode_sync_group_response, k::encode_sync_group_response);
  return 0;
}
