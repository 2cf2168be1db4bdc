// libFuzzer target: ApiVersions (API key 18) request and response bodies,
// v0-v3 (v3 flexible: compact strings and tagged fields). Input layout and
// round-trip property: fuzz_check.h.
#include <cstddef>
#include <cstdint>

#include "gateway/kafka/protocol/api_versions.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

namespace {

// ApiVersionsRequest has no operator==.
bool same(const tessera::kafka::ApiVersionsRequest& a,
          const tessera::kafka::ApiVersionsRequest& b) {
  return a.client_software_name == b.client_software_name &&
         a.client_software_version == b.client_software_version &&
         a.tagged_fields == b.tagged_fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  const k::fuzz::Input in = k::fuzz::split(data, size);
  const int16_t version = in.version(0, k::kApiVersionsMaxVersion);
  if (in.response()) {
    k::fuzz::check_round_trip(in.body, version, k::decode_api_versions_response,
                              k::encode_api_versions_response);
  } else {
    k::fuzz::check_round_trip(in.body, version, k::decode_api_versions_request,
                              k::encode_api_versions_request, same);
  }
  return 0;
}
