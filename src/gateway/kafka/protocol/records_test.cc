#include "gateway/kafka/protocol/records.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "base/crc32c.h"

namespace tessera::kafka {
namespace {

constexpr Compression kAllCodecs[] = {Compression::none, Compression::gzip,
                                      Compression::snappy, Compression::lz4, Compression::zstd};
constexpr size_t kMiB = 1024 * 1024;
const DecodeLimits kLimits{};

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// Recomputes the CRC of the single batch in `b` after a test edited it.
void fix_crc(std::string* b) {
  uint32_t crc = crc32c(std::string_view(*b).substr(21));
  for (int i = 0; i < 4; ++i) (*b)[17 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
}
void put_be32(std::string* b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*b)[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

Record rec(int64_t offset_delta, int64_t timestamp_delta, std::optional<std::string> key,
           std::optional<std::string> value, std::vector<RecordHeader> headers = {}) {
  Record r;
  r.offset_delta = offset_delta;
  r.timestamp_delta = timestamp_delta;
  r.key = std::move(key);
  r.value = std::move(value);
  r.headers = std::move(headers);
  return r;
}

// The batch of SmallBatchIsByteExact.
RecordBatch small_batch() {
  RecordBatch b;
  b.base_offset = 5;
  b.partition_leader_epoch = 2;
  b.last_offset_delta = 1;
  b.base_timestamp = 1000;
  b.max_timestamp = 1001;
  b.records = {rec(0, 0, "k", "v"), rec(1, 1, std::nullopt, "hi", {{"h", std::nullopt}})};
  return b;
}

RecordBatch sample_batch(Compression c, int n) {
  RecordBatch b;
  b.base_offset = 1'000'000'000'000;
  b.partition_leader_epoch = 7;
  b.attributes = static_cast<int16_t>(static_cast<int16_t>(c) | kTransactionalAttribute);
  b.base_timestamp = 1'700'000'000'000;
  b.max_timestamp = b.base_timestamp + 5;
  b.producer_id = 4242;
  b.producer_epoch = 3;
  b.base_sequence = 17;
  for (int i = 0; i < n; ++i) {
    std::optional<std::string> key;
    if (i % 3 != 0) key = "key-" + std::to_string(i);
    std::optional<std::string> value;
    if (i % 5 != 4) value = std::string(static_cast<size_t>(i % 40), static_cast<char>('a' + i % 26));
    std::vector<RecordHeader> headers;
    if (i % 2 == 0) headers = {{"trace", "t-" + std::to_string(i)}, {"", std::nullopt}};
    b.records.push_back(rec(i, (i % 7) - 3, key, value, headers));
  }
  b.last_offset_delta = n == 0 ? 0 : n - 1;
  return b;
}

Result<std::vector<RecordBatch>> decode(std::string_view wire, bool partial = false) {
  return decode_record_batches(wire, kLimits, partial);
}

std::string error_of(std::string_view wire, bool partial = false) {
  Result<std::vector<RecordBatch>> r = decode(wire, partial);
  EXPECT_FALSE(r.is_ok());
  if (r.is_ok()) return "<decoded>";
  EXPECT_EQ(r.status().code(), Errc::invalid_argument);
  return r.status().message();
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

TEST(KafkaRecords, SmallBatchIsByteExact) {
  // Message format v2 from the protocol guide, assembled by hand; the CRC-32C
  // was computed independently over bytes 21..end.
  std::string expected =
      bytes({0, 0, 0, 0, 0, 0, 0, 5,              // baseOffset 5
             0, 0, 0, 70,                         // batchLength: 49 + 21 record bytes
             0, 0, 0, 2,                          // partitionLeaderEpoch
             2,                                   // magic
             0xe0, 0x17, 0xe4, 0x94,              // crc
             0, 0,                                // attributes
             0, 0, 0, 1,                          // lastOffsetDelta
             0, 0, 0, 0, 0, 0, 0x03, 0xe8,        // baseTimestamp 1000
             0, 0, 0, 0, 0, 0, 0x03, 0xe9,        // maxTimestamp 1001
             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producerId -1
             0xff, 0xff,                          // producerEpoch -1
             0xff, 0xff, 0xff, 0xff,              // baseSequence -1
             0, 0, 0, 2,                          // recordsCount
             // record 0: length 8, attributes, tsDelta 0, offsetDelta 0,
             // key "k", value "v", no headers (zigzag varints)
             0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0,
             // record 1: length 11, tsDelta 1, offsetDelta 1, null key,
             // value "hi", one header "h" with a null value
             0x16, 0, 0x02, 0x02, 0x01, 0x04, 'h', 'i', 0x02, 0x02, 'h', 0x01});
  EXPECT_EQ(encode_record_batch(small_batch(), Compression::none), expected);
  Result<std::vector<RecordBatch>> r = decode(expected);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], small_batch());
}

TEST(KafkaRecords, RoundTripsEveryCodec) {
  for (Compression c : kAllCodecs) {
    SCOPED_TRACE(compression_name(c));
    for (int n : {0, 1, 3, 500}) {
      RecordBatch b = sample_batch(c, n);
      Result<std::vector<RecordBatch>> r = decode(encode_record_batch(b, c));
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      ASSERT_EQ(r->size(), 1u);
      EXPECT_EQ((*r)[0], b);
      EXPECT_EQ((*r)[0].compression(), c);
    }
  }
}

TEST(KafkaRecords, AttributeHelpers) {
  RecordBatch b;
  b.attributes = 0x0b;  // lz4 + log-append time
  EXPECT_EQ(b.compression(), Compression::lz4);
  EXPECT_EQ(b.timestamp_type(), TimestampType::log_append_time);
  EXPECT_FALSE(b.is_transactional());
  EXPECT_FALSE(b.is_control());
  b.attributes = 0x30;
  EXPECT_EQ(b.compression(), Compression::none);
  EXPECT_EQ(b.timestamp_type(), TimestampType::create_time);
  EXPECT_TRUE(b.is_transactional());
  EXPECT_TRUE(b.is_control());
}

TEST(KafkaRecords, EncoderComputesDerivedFieldsAndCodecBits) {
  RecordBatch b = sample_batch(Compression::none, 4);
  b.last_offset_delta = 99;                                  // recomputed from the records
  b.attributes = static_cast<int16_t>(b.attributes | 0x3);   // replaced by the argument
  Result<BatchHeader> h = peek_batch_header(encode_record_batch(b, Compression::gzip));
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  EXPECT_EQ(h->last_offset_delta, 3);
  EXPECT_EQ(h->compression(), Compression::gzip);
  EXPECT_TRUE(h->is_transactional());
  EXPECT_EQ(h->record_count, 4);
  // An empty batch (left by compaction) keeps the caller's lastOffsetDelta.
  RecordBatch empty = sample_batch(Compression::none, 0);
  empty.last_offset_delta = 9;
  EXPECT_EQ(peek_batch_header(encode_record_batch(empty, Compression::none))->last_offset_delta, 9);
}

TEST(KafkaRecords, PeekReadsTheHeaderOnly) {
  std::string wire = encode_record_batch(sample_batch(Compression::zstd, 10), Compression::zstd);
  std::string first_size = wire;
  wire += encode_record_batch(small_batch(), Compression::none);
  Result<BatchHeader> h = peek_batch_header(wire);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  EXPECT_EQ(h->base_offset, 1'000'000'000'000);
  EXPECT_EQ(h->size_bytes(), first_size.size());
  EXPECT_EQ(h->magic, 2);
  EXPECT_EQ(h->producer_id, 4242);
  EXPECT_EQ(h->producer_epoch, 3);
  EXPECT_EQ(h->base_sequence, 17);
  EXPECT_EQ(h->record_count, 10);
  EXPECT_EQ(h->last_offset_delta, 9);
  EXPECT_EQ(h->max_timestamp, h->base_timestamp + 5);
  // The next batch starts where size_bytes() says.
  EXPECT_EQ(peek_batch_header(std::string_view(wire).substr(h->size_bytes()))->base_offset, 5);
  // The CRC is checked, and the whole batch must be there.
  std::string corrupt = wire;
  corrupt[80] ^= 0x40;
  EXPECT_FALSE(peek_batch_header(corrupt).is_ok());
  EXPECT_FALSE(peek_batch_header(std::string_view(wire).substr(0, 61)).is_ok());
}

TEST(KafkaRecords, CrcMismatchNamesTheBatch) {
  std::string wire = encode_record_batch(small_batch(), Compression::none);
  for (size_t at : {17u, 21u, 40u, 65u, static_cast<unsigned>(wire.size() - 1)}) {
    std::string bad = wire;
    bad[at] ^= 0x01;
    EXPECT_TRUE(starts_with(error_of(bad), "kafka: record batch at offset 5: CRC mismatch"))
        << "byte " << at << ": " << error_of(bad);
  }
}

TEST(KafkaRecords, LegacyAndUnknownMagicAreRefused) {
  std::string wire = encode_record_batch(small_batch(), Compression::none);
  for (int magic : {0, 1}) {
    std::string old = wire;
    old[16] = static_cast<char>(magic);
    std::string m = error_of(old);
    EXPECT_NE(m.find("message format v" + std::to_string(magic) + " not supported"),
              std::string::npos)
        << m;
  }
  std::string future = wire;
  future[16] = 3;
  EXPECT_EQ(error_of(future), "kafka: record batch at offset 5: unknown magic 3");
}

TEST(KafkaRecords, TruncationAtEveryByteFailsCleanly) {
  for (Compression c : kAllCodecs) {
    SCOPED_TRACE(compression_name(c));
    std::string wire = encode_record_batch(sample_batch(c, 5), c);
    EXPECT_EQ(decode("")->size(), 0u);  // an empty RECORDS field holds no batches
    for (size_t len = 1; len < wire.size(); ++len) {
      std::string_view prefix = std::string_view(wire).substr(0, len);
      EXPECT_FALSE(decode(prefix).is_ok()) << "prefix " << len;
      Result<std::vector<RecordBatch>> tail = decode(prefix, true);
      ASSERT_TRUE(tail.is_ok()) << "prefix " << len << ": " << tail.status().to_string();
      EXPECT_TRUE(tail->empty());
    }
  }
}

TEST(KafkaRecords, BatchLengthIsChecked) {
  std::string wire = encode_record_batch(small_batch(), Compression::none);
  std::string longer = wire;
  put_be32(&longer, 8, 71);
  EXPECT_EQ(error_of(longer), "kafka: record batch at offset 5: batchLength 71 runs past the 70 bytes left");
  std::string tiny = wire;
  put_be32(&tiny, 8, 48);
  EXPECT_EQ(error_of(tiny, true),
            "kafka: record batch at offset 5: batchLength 48 is less than the batch header's 49 bytes");
  put_be32(&tiny, 8, 0xffffffff);
  EXPECT_NE(error_of(tiny, true).find("batchLength -1"), std::string::npos);
}

TEST(KafkaRecords, RecordCountMustMatchTheRecords) {
  std::string wire = encode_record_batch(small_batch(), Compression::none);
  std::string more = wire;
  put_be32(&more, 57, 3);
  fix_crc(&more);
  EXPECT_EQ(error_of(more), "kafka: record batch at offset 5: recordsCount 3 but only 2 records present");
  std::string fewer = wire;
  put_be32(&fewer, 57, 1);
  fix_crc(&fewer);
  EXPECT_EQ(error_of(fewer), "kafka: record batch at offset 5: 12 bytes after the last of 1 records");
  std::string negative = wire;
  put_be32(&negative, 57, 0xfffffffe);
  fix_crc(&negative);
  EXPECT_EQ(error_of(negative), "kafka: record batch at offset 5: recordsCount -2 is negative");
  // A huge count over a few bytes fails without reserving for it.
  std::string huge = wire;
  put_be32(&huge, 57, 0x7fffffff);
  fix_crc(&huge);
  EXPECT_NE(error_of(huge).find("but only 2 records present"), std::string::npos);
}

TEST(KafkaRecords, RecordFieldsAreChecked) {
  const std::string wire = encode_record_batch(small_batch(), Compression::none);
  auto edit = [&](size_t at, int byte) {
    std::string b = wire;
    b[at] = static_cast<char>(byte);
    fix_crc(&b);
    return error_of(b);
  };
  const std::string at5 = "kafka: record batch at offset 5: ";
  // Record 0 starts at byte 61 (length), record 1 at byte 70.
  EXPECT_EQ(edit(61, 0x0c), at5 + "record 0 value: length 1 runs past the 0 bytes left in the record");
  EXPECT_EQ(edit(61, 0x0e), at5 + "record 0 headers count: truncated VARINT at byte 7");
  EXPECT_EQ(edit(61, 0x12), at5 + "record 0 length 9 leaves 1 bytes after the record's fields");
  EXPECT_EQ(edit(61, 0x01), at5 + "record 0 length -1 is outside the 20 bytes left");
  EXPECT_EQ(edit(65, 0x03), at5 + "record 0 key: length -2 is invalid");
  EXPECT_EQ(edit(79, 0x01), at5 + "record 1 header 0 key: length -1 is invalid");
  EXPECT_EQ(edit(78, 0x01), at5 + "record 1 headers count -1 does not fit the 3 bytes left");
  EXPECT_EQ(edit(78, 0x00), at5 + "record 1 length 11 leaves 3 bytes after the record's fields");
}

TEST(KafkaRecords, UnknownCodecIsRefused) {
  std::string wire = encode_record_batch(small_batch(), Compression::none);
  wire[22] = 5;
  fix_crc(&wire);
  EXPECT_EQ(error_of(wire), "kafka: record batch at offset 5: unknown compression codec 5");
}

TEST(KafkaRecords, DecompressionCapPerCodec) {
  RecordBatch b = sample_batch(Compression::none, 1);
  b.records[0].value = std::string(10 * kMiB, 'x');
  DecodeLimits limits;
  limits.max_decompressed_bytes = kMiB;
  for (Compression c : {Compression::gzip, Compression::snappy, Compression::lz4,
                        Compression::zstd}) {
    SCOPED_TRACE(compression_name(c));
    std::string wire = encode_record_batch(b, c);
    ASSERT_LT(wire.size(), kMiB);
    Result<std::vector<RecordBatch>> r = decode_record_batches(wire, limits, false);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::too_large);
    EXPECT_EQ(r.status().message(), "kafka: record batch at offset 1000000000000: " +
                                        std::string(compression_name(c)) +
                                        " batch decompresses past 1048576 bytes");
  }
}

TEST(KafkaRecords, GarbageCompressedPayloadPerCodec) {
  std::string header = encode_record_batch(small_batch(), Compression::none).substr(0, 61);
  for (Compression c : {Compression::gzip, Compression::snappy, Compression::lz4,
                        Compression::zstd}) {
    SCOPED_TRACE(compression_name(c));
    std::string wire = header + "definitely not a compressed record set";
    put_be32(&wire, 8, static_cast<uint32_t>(wire.size() - 12));
    wire[22] = static_cast<char>(c);
    fix_crc(&wire);
    std::string m = error_of(wire);
    EXPECT_TRUE(starts_with(m, "kafka: record batch at offset 5: " +
                                   std::string(compression_name(c)) + " batch is malformed"))
        << m;
  }
}

TEST(KafkaRecords, SnappyBatchesFromEitherFramingDecode) {
  // The records of small_batch() uncompressed, as one raw snappy literal
  // (length 21, tag (21-1)<<2) and in xerial framing around that block.
  std::string plain = encode_record_batch(small_batch(), Compression::none).substr(61);
  ASSERT_EQ(plain.size(), 21u);
  std::string raw = bytes({21, 20 << 2}) + plain;
  std::string xerial =
      bytes({0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23}) + raw;
  for (const std::string& payload : {raw, xerial}) {
    std::string wire = encode_record_batch(small_batch(), Compression::none).substr(0, 61) + payload;
    put_be32(&wire, 8, static_cast<uint32_t>(wire.size() - 12));
    wire[22] = static_cast<char>(Compression::snappy);
    fix_crc(&wire);
    Result<std::vector<RecordBatch>> r = decode(wire);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    RecordBatch expected = small_batch();
    expected.attributes = static_cast<int16_t>(Compression::snappy);
    EXPECT_EQ((*r)[0], expected);
  }
}

TEST(KafkaRecords, BatchesBackToBackAndPartialTail) {
  std::string wire;
  std::vector<RecordBatch> batches;
  for (Compression c : kAllCodecs) {
    RecordBatch b = sample_batch(c, 20);
    b.base_offset = static_cast<int64_t>(batches.size()) * 20;
    batches.push_back(b);
    append_record_batch(&wire, b, c);
  }
  Result<std::vector<RecordBatch>> all = decode(wire);
  ASSERT_TRUE(all.is_ok()) << all.status().to_string();
  EXPECT_EQ(*all, batches);

  size_t last_start = wire.size() - encode_record_batch(batches.back(), Compression::zstd).size();
  for (size_t cut = last_start + 1; cut < wire.size(); cut += 7) {
    std::string_view fetched = std::string_view(wire).substr(0, cut);
    Result<std::vector<RecordBatch>> r = decode(fetched, true);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->size(), batches.size() - 1);
    EXPECT_FALSE(decode(fetched, false).is_ok());
  }
  // A damaged batch is an error even where a partial tail is allowed.
  std::string damaged = wire;
  damaged[last_start + 30] ^= 1;
  EXPECT_NE(error_of(damaged, true).find("CRC mismatch"), std::string::npos);
}

TEST(KafkaRecords, ControlBatchRoundTrips) {
  // A transaction marker: control + transactional, one record whose key is
  // the control type (version 0, type 1 = COMMIT).
  RecordBatch b;
  b.base_offset = 42;
  b.attributes = kControlAttribute | kTransactionalAttribute;
  b.producer_id = 9;
  b.producer_epoch = 1;
  b.records = {rec(0, 0, bytes({0, 0, 0, 1}), bytes({0, 0, 0, 0, 0, 0}))};
  Result<std::vector<RecordBatch>> r = decode(encode_record_batch(b, Compression::none));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0], b);
  EXPECT_TRUE((*r)[0].is_control());
}

TEST(KafkaRecords, HostileRecordBytesNeverCrash) {
  // Every byte of the records area, set to a few values, CRC fixed: the
  // decoder must return (ok or an error), never read out of bounds.
  const std::string wire = encode_record_batch(small_batch(), Compression::none);
  int failures = 0;
  for (size_t at = 57; at < wire.size(); ++at) {
    for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string b = wire;
      b[at] = static_cast<char>(v);
      fix_crc(&b);
      if (!decode(b).is_ok()) ++failures;
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace tessera::kafka
