// libFuzzer target: DeleteTopics (API key 20) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/delete_topics.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kDeleteTopicsMinVersion,
                     k::kDeleteTopicsMaxVersion, k::decode_delete_topics_request,
                     k::encode_delete_topics_request, k::decode_delete_topics_response,
                     k::encode_delete_topics_response);
  return 0;
}
