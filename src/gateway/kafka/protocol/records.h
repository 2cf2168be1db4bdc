#pragma once
// Kafka record batches, message format v2 (magic 2; KIP-98 and the
// "Record Batch" section of https://kafka.apache.org/documentation/#messageformat):
// the RECORDS field of Produce requests and Fetch responses holds batches
// back to back, each
//
//   baseOffset INT64, batchLength INT32 (bytes after this field),
//   partitionLeaderEpoch INT32, magic INT8 = 2, crc UINT32 (CRC-32C of every
//   byte from attributes to the batch's end), attributes INT16,
//   lastOffsetDelta INT32, baseTimestamp INT64, maxTimestamp INT64,
//   producerId INT64, producerEpoch INT16, baseSequence INT32,
//   recordsCount INT32, then the records — as one compressed blob when the
//   attributes name a codec (see compression.h).
//
// A record is: length VARINT (bytes after it), attributes INT8,
// timestampDelta VARLONG, offsetDelta VARINT, keyLength VARINT + key
// (-1 = null), valueLength VARINT + value (-1 = null), headers count VARINT,
// then per header keyLength VARINT + key (never null), valueLength VARINT +
// value (-1 = null).
//
// Decoded values own their bytes, so they outlive the frame they came from.
// Decoders never trust a length before checking it against the bytes left
// and never decompress past DecodeLimits::max_decompressed_bytes; every error
// is Errc::invalid_argument (Errc::too_large for the decompression cap) and
// names the batch's base offset and, inside it, the record and field.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gateway/kafka/protocol/compression.h"

namespace tessera::kafka {

// baseOffset + batchLength: the bytes before the length's count starts.
inline constexpr size_t kBatchLogOverheadBytes = 12;
// Everything up to and including recordsCount.
inline constexpr size_t kBatchHeaderBytes = 61;
inline constexpr int8_t kRecordBatchMagic = 2;

// Attribute bits above the compression codec (bits 0-2).
inline constexpr int16_t kTimestampTypeAttribute = 0x08;
inline constexpr int16_t kTransactionalAttribute = 0x10;
inline constexpr int16_t kControlAttribute = 0x20;
inline constexpr int16_t kDeleteHorizonAttribute = 0x40;

enum class TimestampType : int8_t { create_time = 0, log_append_time = 1 };

struct RecordHeader {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const RecordHeader&) const = default;
};

struct Record {
  // Written as a VARINT: must fit in int32 (asserted by the encoder).
  int64_t offset_delta = 0;
  int64_t timestamp_delta = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<RecordHeader> headers;
  int8_t attributes = 0;  // unused by every Kafka version so far
  bool operator==(const Record&) const = default;
};

struct RecordBatch {
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = -1;
  // Bits 0-2 are the codec the batch was (or will be) compressed with.
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  std::vector<Record> records;

  // The codec bits as an enum; values 5-7 never survive decoding.
  Compression compression() const {
    return static_cast<Compression>(attributes & kCompressionAttributeMask);
  }
  bool is_transactional() const { return (attributes & kTransactionalAttribute) != 0; }
  bool is_control() const { return (attributes & kControlAttribute) != 0; }
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeAttribute) != 0 ? TimestampType::log_append_time
                                                       : TimestampType::create_time;
  }
  bool operator==(const RecordBatch&) const = default;
};

// The fixed-size front of a batch, for paths that must not pay for decoding
// the records (the produce path's idempotence checks).
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = 0;
  int8_t magic = 0;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
  int32_t base_sequence = 0;
  int32_t record_count = 0;

  // The whole batch's size on the wire.
  size_t size_bytes() const { return kBatchLogOverheadBytes + static_cast<size_t>(batch_length); }
  Compression compression() const {
    return static_cast<Compression>(attributes & kCompressionAttributeMask);
  }
  bool is_transactional() const { return (attributes & kTransactionalAttribute) != 0; }
  bool is_control() const { return (attributes & kControlAttribute) != 0; }
  bool operator==(const BatchHeader&) const = default;
};

struct DecodeLimits {
  // The most bytes one batch's records may decompress to.
  size_t max_decompressed_bytes = 64 * 1024 * 1024;
};

// Reads the header of the batch at the front of `data` (more batches may
// follow it) after checking that the whole batch is present, its magic is 2,
// its codec is known, its batchLength covers the header and its CRC matches.
// The records are not looked at.
Result<BatchHeader> peek_batch_header(std::string_view data);

// Decodes a RECORDS field: zero or more whole batches back to back. With
// `allow_partial_tail` (a client reading Fetch output, where the broker may
// cut the last batch short) a truncated final batch is dropped; without it
// (a broker reading a Produce request) it is an error. Magic 0 and 1 message
// sets are refused ("message format v0/v1 not supported").
Result<std::vector<RecordBatch>> decode_record_batches(std::string_view records,
                                                       const DecodeLimits& limits,
                                                       bool allow_partial_tail);

// Encodes `batch` with its records compressed by `compression`, which also
// replaces the attributes' codec bits. batchLength, the CRC and the record
// count are computed; so is lastOffsetDelta (the last record's offset delta)
// unless the batch has no records, when batch.last_offset_delta is kept. The
// caller fills base_offset, the timestamps, the producer fields and each
// record's deltas. Out-of-range values (an offset delta outside int32, a
// batch above INT32_MAX bytes, an unknown codec) are caller bugs: asserted.
std::string encode_record_batch(const RecordBatch& batch, Compression compression);
// The same, appended to `out`: lets a Fetch response place batches back to
// back without copying them.
void append_record_batch(std::string* out, const RecordBatch& batch, Compression compression);

}  // namespace tessera::kafka
