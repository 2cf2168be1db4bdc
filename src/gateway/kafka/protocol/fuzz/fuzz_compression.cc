// libFuzzer target: decompress() of every record-batch codec under a small
// output cap.
//
// Input: byte 0 picks the codec (bits 0-2, modulo 5: none, gzip, snappy, lz4,
// zstd) and the cap (bits 3-5: 256 << n bytes); the rest is the compressed
// payload. Properties: a failure is invalid_argument or too_large (never an
// internal error); an output never exceeds the cap; it is the same under a
// larger cap, still fits a cap of exactly its size and is too_large one byte
// below that; and compress() of it decompresses back to it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/kafka/protocol/compression.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  using tessera::Errc;
  const k::fuzz::Input in = k::fuzz::split(data, size);
  const auto codec = static_cast<k::Compression>((in.selector & 0x07) % 5);
  const size_t cap = size_t{256} << ((in.selector >> 3) & 0x07);

  tessera::Result<std::string> out = k::decompress(codec, in.body, cap);
  if (!out.is_ok()) {
    FUZZ_CHECK(out.status().code() == Errc::invalid_argument ||
               out.status().code() == Errc::too_large);
    return 0;
  }
  FUZZ_CHECK(out->size() <= cap);

  tessera::Result<std::string> larger = k::decompress(codec, in.body, cap * 4);
  FUZZ_CHECK(larger.is_ok() && *larger == *out);
  tessera::Result<std::string> exact = k::decompress(codec, in.body, out->size());
  FUZZ_CHECK(exact.is_ok() && *exact == *out);
  if (!out->empty()) {
    tessera::Result<std::string> below = k::decompress(codec, in.body, out->size() - 1);
    FUZZ_CHECK(!below.is_ok() && below.status().code() == Errc::too_large);
  }

  tessera::Result<std::string> packed = k::compress(codec, *out);
  FUZZ_CHECK(packed.is_ok());
  tessera::Result<std::string> back = k::decompress(codec, *packed, out->size());
  FUZZ_CHECK(back.is_ok() && *back == *out);
  return 0;
}
