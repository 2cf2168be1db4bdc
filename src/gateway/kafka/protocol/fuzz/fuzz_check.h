#pragma once
// Shared by the Kafka codec fuzz targets (one LLVMFuzzerTestOneInput per
// source file) and by the seed generator, which must write inputs in the
// layout the targets read.
//
// Input layout of the per-API targets: byte 0 is a selector, the rest is a
// message body (what follows the request or response header). The selector's
// low 7 bits pick the version, modulo the API's range; bit 7 picks the
// response decoder instead of the request decoder. An empty input is an empty
// v<min> request body.
//
// The property checked (check_round_trip): a body that decodes re-encodes, at
// the same version, to bytes that
//   - are no longer than the input (the encoders write the canonical form,
//     which is never longer than what any accepted input spelt),
//   - decode again, to a value equal to the first,
//   - re-encode to themselves (encoding is a fixed point after one trip);
// and a body that does not decode fails with Errc::invalid_argument, the only
// code the decoders document. A violation aborts, which libFuzzer reports as a
// crash and saves the input for replay. Encoders assert on values they refuse,
// so a decoder that accepts what its encoder refuses is caught here too.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka::fuzz {

[[noreturn]] inline void property_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz property violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

}  // namespace tessera::kafka::fuzz

// An always-on check of a fuzzing property: aborts with the condition.
#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) ::tessera::kafka::fuzz::property_failed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace tessera::kafka::fuzz {

inline constexpr uint8_t kResponseBit = 0x80;
inline constexpr uint8_t kVersionMask = 0x7f;

struct Input {
  uint8_t selector = 0;
  std::string_view body;

  // A version in [min_version, max_version].
  int16_t version(int16_t min_version, int16_t max_version) const {
    const int span = max_version - min_version + 1;
    return static_cast<int16_t>(min_version + (selector & kVersionMask) % span);
  }
  bool response() const { return (selector & kResponseBit) != 0; }
};

inline Input split(const uint8_t* data, size_t size) {
  if (size == 0) return Input{};
  return Input{data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

// The selector that makes Input::version return `version` (for the seeds).
inline uint8_t selector_for(int16_t version, int16_t min_version, bool response) {
  const auto v = static_cast<uint8_t>((version - min_version) & kVersionMask);
  return static_cast<uint8_t>(v | (response ? kResponseBit : 0));
}

template <typename T>
using Decoder = Result<T> (*)(std::string_view, int16_t);
template <typename T>
using Encoder = std::string (*)(const T&, int16_t);

// See the header comment. `equal` stands in for operator== on types without one.
template <typename T, typename Equal = std::equal_to<>>
void check_round_trip(std::string_view body, int16_t version, Decoder<T> decode, Encoder<T> encode,
                      Equal equal = {}) {
  Result<T> first = decode(body, version);
  if (!first.is_ok()) {
    FUZZ_CHECK(first.status().code() == Errc::invalid_argument);
    return;
  }
  const std::string encoded = encode(*first, version);
  FUZZ_CHECK(encoded.size() <= body.size());
  Result<T> second = decode(encoded, version);
  FUZZ_CHECK(second.is_ok());
  FUZZ_CHECK(equal(*first, *second));
  FUZZ_CHECK(encode(*second, version) == encoded);
}

// The same for a request/response pair picked by `in`'s selector.
template <typename Req, typename Resp>
void check_api(const Input& in, int16_t min_version, int16_t max_version,
               Decoder<Req> decode_request, Encoder<Req> encode_request,
               Decoder<Resp> decode_response, Encoder<Resp> encode_response) {
  const int16_t version = in.version(min_version, max_version);
  if (in.response()) {
    check_round_trip(in.body, version, decode_response, encode_response);
  } else {
    check_round_trip(in.body, version, decode_request, encode_request);
  }
}

}  // namespace tessera::kafka::fuzz
