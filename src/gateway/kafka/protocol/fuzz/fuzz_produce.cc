// libFuzzer target: Produce (API key 0) request and response bodies, v3-v8.
// Input layout and round-trip property: fuzz_check.h. Also: the zero-copy
// request decoder and the owning one accept the same bodies and agree.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/produce.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  const k::fuzz::Input in = k::fuzz::split(data, size);
  k::fuzz::check_api(in, k::kProduceMinVersion, k::kProduceMaxVersion, k::decode_produce_request,
                     k::encode_produce_request, k::decode_produce_response,
                     k::encode_produce_response);
  if (in.response()) return 0;
  const int16_t version = in.version(k::kProduceMinVersion, k::kProduceMaxVersion);
  tessera::Result<k::ProduceRequestView> view = k::decode_produce_request_view(in.body, version);
  tessera::Result<k::ProduceRequest> owned = k::decode_produce_request(in.body, version);
  FUZZ_CHECK(view.is_ok() == owned.is_ok());
  if (view.is_ok()) FUZZ_CHECK(k::to_owned(*view) == *owned);
  return 0;
}
