#include "gateway/kafka/protocol/compression.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace tessera::kafka {
namespace {

constexpr Compression kCodecs[] = {Compression::gzip, Compression::snappy, Compression::lz4,
                                   Compression::zstd};
constexpr size_t kMiB = 1024 * 1024;

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// Deterministic bytes that do not compress.
std::string noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

// Text with some repetition, over several 32 KiB / 64 KiB blocks.
std::string text(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "record " + std::to_string(i % 977) + " of tessera; ";
  s.resize(n);
  return s;
}

std::string roundtrip(Compression c, const std::string& data) {
  Result<std::string> packed = compress(c, data);
  EXPECT_TRUE(packed.is_ok()) << packed.status().to_string();
  if (!packed.is_ok()) return "<compress failed>";
  Result<std::string> plain = decompress(c, *packed, data.size());
  EXPECT_TRUE(plain.is_ok()) << compression_name(c) << ": " << plain.status().to_string();
  return plain.is_ok() ? *plain : "<decompress failed>";
}

TEST(KafkaCompression, NamesAndAttributeValues) {
  EXPECT_EQ(static_cast<int>(Compression::gzip), 1);
  EXPECT_EQ(static_cast<int>(Compression::snappy), 2);
  EXPECT_EQ(static_cast<int>(Compression::lz4), 3);
  EXPECT_EQ(static_cast<int>(Compression::zstd), 4);
  EXPECT_EQ(compression_name(Compression::lz4), "lz4");
  EXPECT_EQ(compression_name(static_cast<Compression>(6)), "unknown");
}

TEST(KafkaCompression, RoundTripsEveryCodec) {
  for (Compression c : {Compression::none, Compression::gzip, Compression::snappy,
                        Compression::lz4, Compression::zstd}) {
    SCOPED_TRACE(compression_name(c));
    EXPECT_EQ(roundtrip(c, ""), "");
    EXPECT_EQ(roundtrip(c, "x"), "x");
    EXPECT_EQ(roundtrip(c, text(200 * 1024)), text(200 * 1024));
    EXPECT_EQ(roundtrip(c, noise(100 * 1024, 7)), noise(100 * 1024, 7));
  }
}

TEST(KafkaCompression, WritesTheFormatsKafkaClientsExpect) {
  std::string data = text(100 * 1024);
  // gzip member header: ID1 ID2 CM=deflate.
  EXPECT_EQ(compress(Compression::gzip, data)->substr(0, 3), bytes({0x1f, 0x8b, 0x08}));
  // LZ4 frame magic, then FLG = version 01 + block independence, BD = 64 KiB.
  EXPECT_EQ(compress(Compression::lz4, data)->substr(0, 6),
            bytes({0x04, 0x22, 0x4d, 0x18, 0x60, 0x40}));
  EXPECT_EQ(compress(Compression::zstd, data)->substr(0, 4), bytes({0x28, 0xb5, 0x2f, 0xfd}));
  // xerial header, and 100 KiB of input makes four blocks (32 KiB each).
  std::string snappy = *compress(Compression::snappy, data);
  EXPECT_EQ(snappy.substr(0, 16), bytes({0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0,
                                         0, 0, 1}));
  size_t pos = 16, blocks = 0;
  while (pos + 4 <= snappy.size()) {
    uint32_t len = (uint32_t{static_cast<uint8_t>(snappy[pos])} << 24) |
                   (uint32_t{static_cast<uint8_t>(snappy[pos + 1])} << 16) |
                   (uint32_t{static_cast<uint8_t>(snappy[pos + 2])} << 8) |
                   static_cast<uint8_t>(snappy[pos + 3]);
    pos += 4 + len;
    ++blocks;
  }
  EXPECT_EQ(pos, snappy.size());
  EXPECT_EQ(blocks, 4u);
}

// snappy-java's documented encoding of "foobar\n": header, one block of 9
// bytes holding a raw snappy literal (length 7, tag (7-1)<<2).
const std::string kXerialFoobar =
    bytes({0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0x07,
           0x18}) +
    "foobar\n";

TEST(KafkaCompression, SnappyXerialIsByteExact) {
  EXPECT_EQ(*compress(Compression::snappy, "foobar\n"), kXerialFoobar);
  Result<std::string> plain = decompress(Compression::snappy, kXerialFoobar, 100);
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(*plain, "foobar\n");
}

TEST(KafkaCompression, SnappyAcceptsRawBlocksToo) {
  Result<std::string> plain = decompress(Compression::snappy, bytes({0x07, 0x18}) + "foobar\n", 7);
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(*plain, "foobar\n");
  // Two xerial blocks, each a raw literal.
  std::string two = kXerialFoobar + bytes({0, 0, 0, 4, 0x02, 0x04}) + "ok";
  EXPECT_EQ(*decompress(Compression::snappy, two, 100), "foobar\nok");
}

TEST(KafkaCompression, GzipDecodesAHandAssembledStoredBlock) {
  // Header (no flags, OS 255), a final stored deflate block of 7 bytes, then
  // CRC-32 0xb22c9747 and ISIZE 7, little-endian (RFC 1952, RFC 1951 §3.2.4).
  std::string member = bytes({0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 7, 0, 0xf8, 0xff}) +
                       "foobar\n" + bytes({0x47, 0x97, 0x2c, 0xb2, 7, 0, 0, 0});
  EXPECT_EQ(*decompress(Compression::gzip, member, 7), "foobar\n");
  // Concatenated members decode as one stream (RFC 1952 §2.2).
  EXPECT_EQ(*decompress(Compression::gzip, member + member, 14), "foobar\nfoobar\n");
  std::string bad_crc = member;
  bad_crc[bad_crc.size() - 8] ^= 1;
  EXPECT_FALSE(decompress(Compression::gzip, bad_crc, 7).is_ok());
}

// A zstd frame with no content size: magic, FHD 0 (no FCS, no checksum), a
// window descriptor, then blocks.
std::string zstd_frame_without_size(int window_descriptor, const std::string& blocks) {
  return bytes({0x28, 0xb5, 0x2f, 0xfd, 0x00, window_descriptor}) + blocks;
}
// Block header: bit 0 last, bits 1-2 type (0 raw, 1 RLE), bits 3-23 size.
std::string zstd_block_header(bool last, int type, uint32_t size) {
  uint32_t h = (last ? 1u : 0u) | (static_cast<uint32_t>(type) << 1) | (size << 3);
  return bytes({static_cast<int>(h & 0xff), static_cast<int>((h >> 8) & 0xff),
                static_cast<int>(h >> 16)});
}

TEST(KafkaCompression, ZstdStreamsFramesWithoutContentSize) {
  std::string frame = zstd_frame_without_size(0x00, zstd_block_header(true, 0, 7) + "foobar\n");
  Result<std::string> plain = decompress(Compression::zstd, frame, 7);
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(*plain, "foobar\n");
  EXPECT_EQ(*decompress(Compression::zstd, frame + frame, 14), "foobar\nfoobar\n");
}

TEST(KafkaCompression, ZstdBombWithoutContentSizeStopsAtTheCap) {
  // 80 RLE blocks of 128 KiB (window 2^17: descriptor exponent 7) = 10 MiB
  // from 326 bytes, with nothing in the header announcing the size.
  std::string blocks;
  for (int i = 0; i < 80; ++i) blocks += zstd_block_header(i == 79, 1, 128 * 1024) + "z";
  std::string bomb = zstd_frame_without_size(7 << 3, blocks);
  ASSERT_LT(bomb.size(), 400u);
  EXPECT_EQ(decompress(Compression::zstd, bomb, 10 * kMiB)->size(), 10 * kMiB);
  Result<std::string> capped = decompress(Compression::zstd, bomb, kMiB);
  ASSERT_FALSE(capped.is_ok());
  EXPECT_EQ(capped.status().code(), Errc::too_large);
  EXPECT_EQ(capped.status().message(), "kafka: zstd batch decompresses past 1048576 bytes");
}

TEST(KafkaCompression, ZstdRefusesHugeWindows) {
  // windowLog 30 (exponent 20): the decoder would need a 1 GiB window.
  std::string frame = zstd_frame_without_size(20 << 3, zstd_block_header(true, 0, 1) + "a");
  Result<std::string> r = decompress(Compression::zstd, frame, kMiB);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::invalid_argument);
}

TEST(KafkaCompression, CapStopsZipBombsForEveryCodec) {
  std::string big(10 * kMiB, 'a');
  for (Compression c : kCodecs) {
    SCOPED_TRACE(compression_name(c));
    Result<std::string> packed = compress(c, big);
    ASSERT_TRUE(packed.is_ok());
    ASSERT_LT(packed->size(), kMiB);
    Result<std::string> r = decompress(c, *packed, kMiB);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::too_large);
    EXPECT_EQ(r.status().message(), "kafka: " + std::string(compression_name(c)) +
                                         " batch decompresses past 1048576 bytes");
  }
}

TEST(KafkaCompression, CapIsInclusive) {
  std::string data = text(5000);
  for (Compression c : {Compression::none, Compression::gzip, Compression::snappy,
                        Compression::lz4, Compression::zstd}) {
    SCOPED_TRACE(compression_name(c));
    std::string packed = *compress(c, data);
    EXPECT_TRUE(decompress(c, packed, data.size()).is_ok());
    Result<std::string> over = decompress(c, packed, data.size() - 1);
    ASSERT_FALSE(over.is_ok());
    EXPECT_EQ(over.status().code(), Errc::too_large);
  }
}

TEST(KafkaCompression, GarbageIsRefusedForEveryCodec) {
  for (Compression c : kCodecs) {
    SCOPED_TRACE(compression_name(c));
    for (const std::string& junk :
         {std::string(), std::string("this is not compressed data at all"), noise(300, 3),
          std::string(64, '\xff')}) {
      Result<std::string> r = decompress(c, junk, kMiB);
      ASSERT_FALSE(r.is_ok());
      EXPECT_EQ(r.status().code(), Errc::invalid_argument);
      EXPECT_EQ(r.status().message().find("kafka: " + std::string(compression_name(c))), 0u)
          << r.status().message();
    }
  }
}

TEST(KafkaCompression, TruncationAtEveryByteFails) {
  std::string data = text(3000);
  for (Compression c : kCodecs) {
    SCOPED_TRACE(compression_name(c));
    std::string packed = *compress(c, data);
    for (size_t len = 0; len < packed.size(); ++len) {
      Result<std::string> r = decompress(c, std::string_view(packed).substr(0, len), kMiB);
      if (c == Compression::snappy && len == 16) {
        // A bare xerial header is a valid empty stream (see the next test).
        EXPECT_EQ(r.is_ok() ? *r : "<error>", "");
        continue;
      }
      EXPECT_FALSE(r.is_ok()) << "prefix of " << len << " of " << packed.size();
    }
  }
}

TEST(KafkaCompression, XerialTruncationAtABlockBoundaryYieldsAPrefix) {
  // The xerial framing has no end marker: cutting between blocks is
  // undetectable, so it must at least return whole blocks only.
  std::string data = text(100 * 1024);
  std::string packed = *compress(Compression::snappy, data);
  size_t ok = 0;
  for (size_t len = 16; len < packed.size(); ++len) {
    Result<std::string> r =
        decompress(Compression::snappy, std::string_view(packed).substr(0, len), kMiB);
    if (!r.is_ok()) continue;
    ++ok;
    EXPECT_EQ(r->size() % (32 * 1024), 0u);
    EXPECT_EQ(*r, data.substr(0, r->size()));
  }
  EXPECT_EQ(ok, 4u);  // the bare header and after each of the first three blocks
}

TEST(KafkaCompression, TrailingBytesAreRefused) {
  for (Compression c : {Compression::gzip, Compression::lz4, Compression::zstd}) {
    SCOPED_TRACE(compression_name(c));
    std::string packed = *compress(c, text(1000)) + "junk";
    EXPECT_FALSE(decompress(c, packed, kMiB).is_ok());
  }
}

TEST(KafkaCompression, UnknownCodecIsRefused) {
  for (int v : {5, 7, -1}) {
    Result<std::string> r = decompress(static_cast<Compression>(v), "x", kMiB);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().message(), "kafka: unknown compression codec " + std::to_string(v));
    EXPECT_FALSE(compress(static_cast<Compression>(v), "x").is_ok());
  }
}

}  // namespace
}  // namespace tessera::kafka
