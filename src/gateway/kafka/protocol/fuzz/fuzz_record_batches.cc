// libFuzzer target: decode_record_batches and peek_batch_header over a
// RECORDS field (record batches back to back, magic 2, every codec), with a
// small decompression cap.
//
// Input: byte 0 is a selector — bit 0 allow_partial_tail, bit 1 recompute
// each whole batch's CRC before decoding (so that mutations get past the
// checksum into the records and the compressed payloads), bits 2-4 the cap
// (256 << n bytes) — and the rest is the RECORDS bytes. Properties:
//  - a failure is invalid_argument or too_large;
//  - the same bytes decode to the same batches under a larger cap, and
//    without allow_partial_tail only if nothing was cut off;
//  - peek_batch_header agrees with each decoded batch;
//  - each batch re-encodes (with its own codec) to one batch that decodes to
//    an equal value — except lastOffsetDelta, which the encoder derives from
//    the last record — and, uncompressed, to no more bytes than it had.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/crc32c.h"
#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/records.h"

namespace {

namespace k = tessera::kafka;
using tessera::Errc;

constexpr size_t kLengthOffset = 8;
constexpr size_t kCrcOffset = 17;
constexpr size_t kCrcCoveredFrom = 21;

uint32_t get_be32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// Rewrites the CRC of every whole batch that batchLength delimits.
void fix_crcs(std::string* b) {
  size_t pos = 0;
  while (b->size() - pos >= k::kBatchHeaderBytes) {
    const auto length = static_cast<int32_t>(get_be32(*b, pos + kLengthOffset));
    if (length < static_cast<int32_t>(k::kBatchHeaderBytes - k::kBatchLogOverheadBytes)) return;
    const size_t end = pos + k::kBatchLogOverheadBytes + static_cast<size_t>(length);
    if (end > b->size()) return;
    const uint32_t crc = tessera::crc32c(
        std::string_view(*b).substr(pos + kCrcCoveredFrom, end - pos - kCrcCoveredFrom));
    for (size_t i = 0; i < 4; ++i) {
      (*b)[pos + kCrcOffset + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
    }
    pos = end;
  }
}

// What decoding the encoder's output of `b` gives back.
k::RecordBatch normalized(k::RecordBatch b) {
  if (!b.records.empty()) b.last_offset_delta = static_cast<int32_t>(b.records.back().offset_delta);
  return b;
}

void check_header(const k::BatchHeader& h, const k::RecordBatch& b) {
  FUZZ_CHECK(h.magic == k::kRecordBatchMagic);
  FUZZ_CHECK(h.base_offset == b.base_offset);
  FUZZ_CHECK(h.partition_leader_epoch == b.partition_leader_epoch);
  FUZZ_CHECK(h.attributes == b.attributes);
  FUZZ_CHECK(h.last_offset_delta == b.last_offset_delta);
  FUZZ_CHECK(h.base_timestamp == b.base_timestamp);
  FUZZ_CHECK(h.max_timestamp == b.max_timestamp);
  FUZZ_CHECK(h.producer_id == b.producer_id);
  FUZZ_CHECK(h.producer_epoch == b.producer_epoch);
  FUZZ_CHECK(h.base_sequence == b.base_sequence);
  FUZZ_CHECK(h.record_count >= 0 && static_cast<size_t>(h.record_count) == b.records.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const k::fuzz::Input in = k::fuzz::split(data, size);
  const bool allow_partial = (in.selector & 0x01) != 0;
  std::string records(in.body);
  if ((in.selector & 0x02) != 0) fix_crcs(&records);
  const k::DecodeLimits limits{size_t{256} << ((in.selector >> 2) & 0x07)};

  tessera::Result<std::vector<k::RecordBatch>> batches =
      k::decode_record_batches(records, limits, allow_partial);
  if (!batches.is_ok()) {
    FUZZ_CHECK(batches.status().code() == Errc::invalid_argument ||
               batches.status().code() == Errc::too_large);
    return 0;
  }

  const k::DecodeLimits larger{limits.max_decompressed_bytes * 4};
  tessera::Result<std::vector<k::RecordBatch>> again =
      k::decode_record_batches(records, larger, allow_partial);
  FUZZ_CHECK(again.is_ok() && *again == *batches);
  tessera::Result<std::vector<k::RecordBatch>> other =
      k::decode_record_batches(records, limits, !allow_partial);
  if (allow_partial) {
    FUZZ_CHECK(!other.is_ok() || *other == *batches);
  } else {
    FUZZ_CHECK(other.is_ok() && *other == *batches);
  }

  std::string_view rest = records;
  std::string all_reencoded;
  std::vector<k::RecordBatch> expected;
  for (const k::RecordBatch& b : *batches) {
    FUZZ_CHECK(static_cast<int>(b.compression()) >= 0 && static_cast<int>(b.compression()) <= 4);
    tessera::Result<k::BatchHeader> h = k::peek_batch_header(rest);
    FUZZ_CHECK(h.is_ok());
    check_header(*h, b);
    const size_t original_bytes = h->size_bytes();
    FUZZ_CHECK(original_bytes <= rest.size());
    rest.remove_prefix(original_bytes);

    const std::string encoded = k::encode_record_batch(b, b.compression());
    if (b.compression() == k::Compression::none) FUZZ_CHECK(encoded.size() <= original_bytes);
    const k::RecordBatch want = normalized(b);
    tessera::Result<k::BatchHeader> eh = k::peek_batch_header(encoded);
    FUZZ_CHECK(eh.is_ok() && eh->size_bytes() == encoded.size());
    check_header(*eh, want);
    tessera::Result<std::vector<k::RecordBatch>> back =
        k::decode_record_batches(encoded, limits, false);
    FUZZ_CHECK(back.is_ok() && back->size() == 1 && back->front() == want);
    all_reencoded += encoded;
    expected.push_back(want);
  }
  // Whatever is left was a cut-short tail, dropped as allowed.
  FUZZ_CHECK(rest.empty() || allow_partial);
  tessera::Result<std::vector<k::RecordBatch>> all =
      k::decode_record_batches(all_reencoded, limits, false);
  FUZZ_CHECK(all.is_ok() && *all == expected);
  return 0;
}
