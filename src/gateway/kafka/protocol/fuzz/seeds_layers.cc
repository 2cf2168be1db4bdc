// Seeds for the targets below and around the message bodies: ApiVersions
// (the first request), request and response headers in frames, record
// batches under every codec, and the codecs' payloads on their own.
#include <snappy.h>

#include <string>

#include "gateway/kafka/protocol/api_versions.h"
#include "gateway/kafka/protocol/compression.h"
#include "gateway/kafka/protocol/fuzz/seed_corpus.h"
#include "gateway/kafka/protocol/records.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka::fuzz {
namespace {

constexpr Compression kCodecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                                   Compression::lz4, Compression::zstd};

void api_versions(SeedWriter& w) {
  ApiVersionsRequest req;
  req.client_software_name = "librdkafka";
  req.client_software_version = "2.0.2";
  req.tagged_fields = {{0, "x"}, {5, ""}};
  ApiVersionsResponse resp;
  resp.api_keys = {{0, 3, 8, {}}, {18, 0, 3, {{1, "t"}}}};
  resp.throttle_time_ms = 1;
  resp.tagged_fields = {{0, "features"}};
  for (int16_t v = 0; v <= kApiVersionsMaxVersion; ++v) {
    w.add("fuzz_api_versions", selector_for(v, 0, false), encode_api_versions_request(req, v));
    w.add("fuzz_api_versions", selector_for(v, 0, true), encode_api_versions_response(resp, v));
  }
}

// fuzz_request_header: selector (header version, response bit, frame limit
// 1 MiB), then frames back to back.
void headers(SeedWriter& w) {
  constexpr uint8_t kLimit1MiB = 6 << 3;
  for (int hv = 0; hv <= 2; ++hv) {
    RequestHeader h;
    h.api_key = static_cast<int16_t>(ApiKey::metadata);
    h.api_version = 8;
    h.correlation_id = 17;
    h.client_id = "client";
    if (hv == 2) h.tagged_fields = {{0, "a"}, {3, "bc"}};
    std::string stream;
    for (int i = 0; i < 2; ++i) {
      const size_t at = begin_frame(&stream);
      Writer fw(&stream);
      write_request_header(fw, h, hv);
      fw.write_int32(-1);  // a Metadata body: null topics
      finish_frame(&stream, at);
      h.client_id.reset();
    }
    w.add("fuzz_request_header", static_cast<uint8_t>(hv | kLimit1MiB), stream);
    w.add("fuzz_request_header", static_cast<uint8_t>(hv | kLimit1MiB),
          stream.substr(0, stream.size() - 3));  // the second frame cut short
  }
  for (int hv = 0; hv <= 1; ++hv) {
    std::string stream;
    const size_t at = begin_frame(&stream);
    Writer fw(&stream);
    write_response_header(fw, 17, hv);
    fw.write_int16(0);
    finish_frame(&stream, at);
    w.add("fuzz_request_header", static_cast<uint8_t>(hv | 0x04 | kLimit1MiB), stream);
  }
}

RecordBatch batch(int64_t base_offset, int16_t attributes) {
  RecordBatch b;
  b.base_offset = base_offset;
  b.partition_leader_epoch = 3;
  b.attributes = attributes;
  b.base_timestamp = 1'700'000'000'000;
  b.max_timestamp = b.base_timestamp + 2;
  b.producer_id = 1000;
  b.producer_epoch = 1;
  b.base_sequence = 0;
  for (int i = 0; i < 3; ++i) {
    Record r;
    r.offset_delta = i;
    r.timestamp_delta = i;
    r.key = "key-" + std::to_string(i);
    r.value = std::string(20, static_cast<char>('a' + i));
    if (i == 1) r.key.reset();
    if (i == 2) r.headers = {RecordHeader{"trace", "abc"}, RecordHeader{"empty", std::nullopt}};
    b.records.push_back(r);
  }
  return b;
}

// fuzz_record_batches: selector bit 0 allow_partial_tail, bit 1 fix CRCs,
// bits 2-4 the cap (7: 32 KiB).
void record_batches(SeedWriter& w) {
  constexpr uint8_t kCap32KiB = 7 << 2;
  constexpr uint8_t kFixCrc = 0x02;
  constexpr uint8_t kPartial = 0x01;
  std::string all;
  for (Compression c : kCodecs) {
    const std::string one = encode_record_batch(batch(100, kTransactionalAttribute), c);
    w.add("fuzz_record_batches", kCap32KiB | kFixCrc, one);
    w.add("fuzz_record_batches", kCap32KiB, one);
    all += one;
  }
  w.add("fuzz_record_batches", kCap32KiB | kFixCrc, all);
  w.add("fuzz_record_batches", kCap32KiB | kFixCrc | kPartial, all.substr(0, all.size() - 5));
  RecordBatch control = batch(7, kControlAttribute | kTransactionalAttribute);
  control.records.resize(1);
  w.add("fuzz_record_batches", kCap32KiB | kFixCrc,
        encode_record_batch(control, Compression::none));
  RecordBatch empty = batch(0, 0);
  empty.records.clear();
  w.add("fuzz_record_batches", kCap32KiB | kFixCrc, encode_record_batch(empty, Compression::zstd));
}

// fuzz_compression: selector bits 0-2 the codec, bits 3-5 the cap (2: 1 KiB).
void codecs(SeedWriter& w) {
  constexpr uint8_t kCap1KiB = 2 << 3;
  std::string plain;
  for (int i = 0; i < 20; ++i) plain += "record " + std::to_string(i) + " of the batch; ";
  for (Compression c : kCodecs) {
    const auto selector = static_cast<uint8_t>(static_cast<int>(c) | kCap1KiB);
    Result<std::string> packed = compress(c, plain);
    TESSERA_ASSERT(packed.is_ok());
    w.add("fuzz_compression", selector, *packed);
    Result<std::string> tiny = compress(c, "x");
    TESSERA_ASSERT(tiny.is_ok());
    w.add("fuzz_compression", selector, *tiny + *tiny);  // concatenated members / frames
  }
  std::string raw;  // a bare snappy block, as some librdkafka versions send
  snappy::Compress(plain.data(), plain.size(), &raw);
  w.add("fuzz_compression", static_cast<uint8_t>(static_cast<int>(Compression::snappy) | kCap1KiB),
        raw);
}

}  // namespace

void add_layer_seeds(SeedWriter& w) {
  api_versions(w);
  headers(w);
  record_batches(w);
  codecs(w);
}

}  // namespace tessera::kafka::fuzz
