// libFuzzer target: DescribeConfigs (API key 32) request and response bodies over
// every version the codec serves. Input layout and property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/describe_configs.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  k::fuzz::check_api(k::fuzz::split(data, size), k::kDescribeConfigsMinVersion,
                     k::kDescribeConfigsMaxVersion, k::decode_describe_configs_request,
                     k::encode_describe_configs_request, k::decode_describe_configs_response,
                     k::encode_describe_configs_response);
  return 0;
}
