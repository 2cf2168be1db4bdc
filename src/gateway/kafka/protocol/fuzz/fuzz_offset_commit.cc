// libFuzzer target: OffsetCommit (API key 8) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/offset_commit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kOffsetCommitMinVersion,
                     k::kOffsetCommitMaxVersion, k::decode_offset_commit_request,
                     k::encode_offset_commit_request, k::decode_offset_commit_response,
                     k::encode_offset_commit_response);
  return 0;
}
