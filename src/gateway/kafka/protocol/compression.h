#pragma once
// The compression codecs of Kafka record batches (message format v2): the
// payload after a batch's record count is one compressed blob when the
// attributes' bits 0-2 name a codec. The wire formats are the ones Kafka's
// clients exchange, not each library's default:
//  - gzip: the gzip format (RFC 1952; zlib with windowBits 16+15). Decoding
//    accepts concatenated members, as Java's GZIPInputStream does.
//  - snappy: compress writes the xerial snappy-java framing the Java client
//    uses (16-byte header 0x82 "SNAPPY" 0x00, INT32 version 1, INT32
//    compatible version 1, then [INT32 length][raw snappy block] per 32 KiB
//    of input). decompress accepts that framing and a bare raw snappy block
//    (what some librdkafka versions send), told apart by the header magic.
//  - lz4: the LZ4 frame format (not raw LZ4 blocks), written the way Kafka's
//    Java client writes it: 64 KiB independent blocks, no checksums beyond
//    the header's. (Kafka's wrong header checksum applies to magic 0 only.)
//  - zstd: standard zstd frames, decoded by streaming since producers may
//    leave the content size out.
//
// decompress never produces more than `max_output_bytes` and never allocates
// more than one byte past it: a batch that inflates further is refused with
// "kafka: <codec> batch decompresses past N bytes". A zstd frame may also
// not declare a window above max(max_output_bytes, 8 MiB), bounding the
// decoder's own memory. Pure functions: no state survives a call.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka {

// The values of a batch's attribute bits 0-2.
enum class Compression : int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

inline constexpr int16_t kCompressionAttributeMask = 0x07;

// "none", "gzip", "snappy", "lz4", "zstd"; "unknown" for any other value.
std::string_view compression_name(Compression c);

// Inputs above INT32_MAX bytes (which no batch can hold) and unknown codec
// values are refused with invalid_argument.
Result<std::string> compress(Compression c, std::string_view data);

// Malformed, truncated or trailing input is invalid_argument naming the codec;
// exceeding the cap is Errc::too_large.
Result<std::string> decompress(Compression c, std::string_view data, size_t max_output_bytes);

}  // namespace tessera::kafka
