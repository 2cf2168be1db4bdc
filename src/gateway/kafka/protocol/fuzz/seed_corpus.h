#pragma once
// The seed corpus generator (kafka_fuzz_seeds): writes, for every fuzz target
// of this directory, a few inputs made by the encoders, in the layout the
// target reads (fuzz_check.h), so that no binary seed is committed and seeds
// follow the codecs when they change. Output: <root>/<target>/seed-<n>.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

namespace tessera::kafka::fuzz {

class SeedWriter {
 public:
  explicit SeedWriter(std::filesystem::path root) : root_(std::move(root)) {}

  // One seed: `bytes` exactly.
  void add(std::string_view target, std::string_view bytes);
  // One seed: the selector byte, then `body`.
  void add(std::string_view target, uint8_t selector, std::string_view body) {
    add(target, std::string(1, static_cast<char>(selector)) + std::string(body));
  }

  // The request and the response of a per-API target at every version.
  template <typename Req, typename Resp>
  void add_api(std::string_view target, int16_t min_version, int16_t max_version,
               const Req& request, Encoder<Req> encode_request, const Resp& response,
               Encoder<Resp> encode_response) {
    for (int16_t v = min_version; v <= max_version; ++v) {
      add(target, selector_for(v, min_version, false), encode_request(request, v));
      add(target, selector_for(v, min_version, true), encode_response(response, v));
    }
  }

  size_t count() const { return count_; }

 private:
  std::filesystem::path root_;
  std::map<std::string, int, std::less<>> next_;
  size_t count_ = 0;
};

void add_data_seeds(SeedWriter& w);   // Metadata, Produce, Fetch, ListOffsets, InitProducerId
void add_group_seeds(SeedWriter& w);  // consumer-group APIs and the consumer protocol
void add_admin_seeds(SeedWriter& w);  // admin APIs, SaslHandshake/Authenticate, PLAIN, SCRAM
void add_layer_seeds(SeedWriter& w);  // ApiVersions, headers and framing, records, codecs

}  // namespace tessera::kafka::fuzz
