// libFuzzer target: Fetch (API key 1) request and response bodies, v4-v11.
// Input layout and round-trip property: fuzz_check.h. Also: the response
// encoder appends exactly fetch_response_size bytes after what the buffer
// already holds (a frame prefix and header in the broker).
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/kafka/protocol/fetch.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  const k::fuzz::Input in = k::fuzz::split(data, size);
  const int16_t version = in.version(k::kFetchMinVersion, k::kFetchMaxVersion);
  if (!in.response()) {
    k::fuzz::check_round_trip(in.body, version, k::decode_fetch_request, k::encode_fetch_request);
    return 0;
  }
  k::fuzz::Encoder<k::FetchResponse> encode = k::encode_fetch_response;
  k::fuzz::check_round_trip(in.body, version, k::decode_fetch_response, encode);
  tessera::Result<k::FetchResponse> response = k::decode_fetch_response(in.body, version);
  if (!response.is_ok()) return 0;
  const std::string alone = encode(*response, version);
  FUZZ_CHECK(alone.size() == k::fetch_response_size(*response, version));
  std::string framed = "prefix";
  k::encode_fetch_response(*response, version, &framed);
  FUZZ_CHECK(framed == "prefix" + alone);
  return 0;
}
