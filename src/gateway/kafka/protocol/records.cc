#include "gateway/kafka/protocol/records.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "base/assert.h"
#include "base/crc32c.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

constexpr size_t kMagicOffset = 16;
constexpr size_t kCrcOffset = 17;
constexpr size_t kAttributesOffset = 21;  // the CRC covers from here to the end
constexpr int32_t kMinBatchLength = static_cast<int32_t>(kBatchHeaderBytes - kBatchLogOverheadBytes);
// length, attributes, timestampDelta, offsetDelta, keyLength, valueLength and
// headers count take at least one byte each.
constexpr size_t kMinRecordBytes = 7;
// A header's keyLength and valueLength.
constexpr size_t kMinHeaderBytes = 2;
constexpr int16_t kMaxKnownCodec = static_cast<int16_t>(Compression::zstd);

std::string_view without_prefix(const Status& s) {
  std::string_view m = s.message();
  constexpr std::string_view kPrefix = "kafka: ";
  if (m.substr(0, kPrefix.size()) == kPrefix) m.remove_prefix(kPrefix.size());
  return m;
}

std::string batch_subject(int64_t base_offset) {
  return "kafka: record batch at offset " + std::to_string(base_offset) + ": ";
}

Status batch_error(int64_t base_offset, std::string_view detail) {
  return Status(Errc::invalid_argument, batch_subject(base_offset) + std::string(detail));
}

// Re-states an inner error (a Reader's or a codec's) as being about the batch
// at `base_offset` and, when `field` is not empty, that field of it.
Status in_batch(int64_t base_offset, std::string_view field, const Status& inner) {
  std::string m = batch_subject(base_offset);
  if (!field.empty()) m += std::string(field) + ": ";
  m += without_prefix(inner);
  return Status(inner.code(), std::move(m));
}

uint32_t get_be32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
int64_t get_be64(std::string_view b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return static_cast<int64_t>(v);
}
void put_be32(std::string* out, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) (*out)[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

// The header of the batch at the front of `data` once the whole batch is
// known to be there and intact; nullopt when it is cut short and that is
// allowed.
Result<std::optional<BatchHeader>> frame_batch(std::string_view data, bool allow_partial) {
  if (data.size() < kBatchLogOverheadBytes) {
    if (allow_partial) return std::optional<BatchHeader>();
    return Status(Errc::invalid_argument,
                  "kafka: truncated record batch: " + std::to_string(data.size()) +
                      " bytes left, fewer than baseOffset and batchLength need");
  }
  int64_t base_offset = get_be64(data, 0);
  int32_t length = static_cast<int32_t>(get_be32(data, 8));
  if (data.size() > kMagicOffset) {
    int8_t magic = static_cast<int8_t>(data[kMagicOffset]);
    if (magic == 0 || magic == 1) {
      return batch_error(base_offset, "message format v" + std::to_string(magic) +
                                          " not supported (magic " + std::to_string(magic) +
                                          "); only record batches (magic 2) are");
    }
    if (magic != kRecordBatchMagic) {
      return batch_error(base_offset, "unknown magic " + std::to_string(magic));
    }
  }
  if (length < kMinBatchLength) {
    return batch_error(base_offset, "batchLength " + std::to_string(length) +
                                        " is less than the batch header's " +
                                        std::to_string(kMinBatchLength) + " bytes");
  }
  size_t left = data.size() - kBatchLogOverheadBytes;
  if (static_cast<size_t>(length) > left) {
    if (allow_partial) return std::optional<BatchHeader>();
    return batch_error(base_offset, "batchLength " + std::to_string(length) + " runs past the " +
                                        std::to_string(left) + " bytes left");
  }
  std::string_view batch = data.substr(0, kBatchLogOverheadBytes + length);

  // The whole header is present (length >= kMinBatchLength), so these reads
  // cannot fail; they are checked anyway.
  Reader r(batch);
  BatchHeader h;
  TESSERA_ASSIGN_OR_RETURN(h.base_offset, r.read_int64());
  TESSERA_ASSIGN_OR_RETURN(h.batch_length, r.read_int32());
  TESSERA_ASSIGN_OR_RETURN(h.partition_leader_epoch, r.read_int32());
  TESSERA_ASSIGN_OR_RETURN(h.magic, r.read_int8());
  TESSERA_ASSIGN_OR_RETURN(h.crc, r.read_uint32());
  TESSERA_ASSIGN_OR_RETURN(h.attributes, r.read_int16());
  TESSERA_ASSIGN_OR_RETURN(h.last_offset_delta, r.read_int32());
  TESSERA_ASSIGN_OR_RETURN(h.base_timestamp, r.read_int64());
  TESSERA_ASSIGN_OR_RETURN(h.max_timestamp, r.read_int64());
  TESSERA_ASSIGN_OR_RETURN(h.producer_id, r.read_int64());
  TESSERA_ASSIGN_OR_RETURN(h.producer_epoch, r.read_int16());
  TESSERA_ASSIGN_OR_RETURN(h.base_sequence, r.read_int32());
  TESSERA_ASSIGN_OR_RETURN(h.record_count, r.read_int32());

  uint32_t actual = crc32c(batch.substr(kAttributesOffset));
  if (actual != h.crc) {
    return batch_error(base_offset, "CRC mismatch (header says " + std::to_string(h.crc) +
                                        ", bytes give " + std::to_string(actual) + ")");
  }
  if ((h.attributes & kCompressionAttributeMask) > kMaxKnownCodec) {
    return batch_error(base_offset, "unknown compression codec " +
                                        std::to_string(h.attributes & kCompressionAttributeMask));
  }
  if (h.record_count < 0) {
    return batch_error(base_offset, "recordsCount " + std::to_string(h.record_count) +
                                        " is negative");
  }
  return std::optional<BatchHeader>(h);
}

// Unwraps a Reader result inside record `index`, or returns an error naming
// the batch, the record and the field.
#define TESSERA_RECORD_FIELD(decl, expr, field)                                     \
  TESSERA_RECORD_FIELD_IMPL(TESSERA_CONCAT(_field_, __LINE__), decl, expr, field)
#define TESSERA_RECORD_FIELD_IMPL(tmp, decl, expr, field)                           \
  auto tmp = (expr);                                                                \
  if (!tmp.is_ok()) return in_batch(base_offset, record_field(index, field), tmp.status()); \
  decl = std::move(tmp).value()

std::string record_field(size_t index, std::string_view field) {
  return "record " + std::to_string(index) + " " + std::string(field);
}

// VARINT length + bytes; -1 is null where `nullable`.
Result<std::optional<std::string>> read_var_bytes(Reader& r, bool nullable) {
  TESSERA_ASSIGN_OR_RETURN(int32_t len, r.read_varint());
  if (len == -1 && nullable) return std::optional<std::string>();
  if (len < 0) {
    return Status(Errc::invalid_argument, "kafka: length " + std::to_string(len) + " is invalid");
  }
  if (static_cast<size_t>(len) > r.remaining()) {
    return Status(Errc::invalid_argument, "kafka: length " + std::to_string(len) +
                                              " runs past the " + std::to_string(r.remaining()) +
                                              " bytes left in the record");
  }
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, r.read_raw(static_cast<size_t>(len), "bytes"));
  return std::optional<std::string>(std::string(b));
}

Result<Record> read_record(Reader& outer, int64_t base_offset, size_t index) {
  TESSERA_RECORD_FIELD(int32_t length, outer.read_varint(), "length");
  if (length < 0 || static_cast<size_t>(length) > outer.remaining()) {
    return batch_error(base_offset, record_field(index, "length") + " " +
                                        std::to_string(length) + " is outside the " +
                                        std::to_string(outer.remaining()) + " bytes left");
  }
  TESSERA_RECORD_FIELD(std::string_view body,
                       outer.read_raw(static_cast<size_t>(length), "record"), "body");
  Reader r(body);
  Record rec;
  TESSERA_RECORD_FIELD(rec.attributes, r.read_int8(), "attributes");
  TESSERA_RECORD_FIELD(rec.timestamp_delta, r.read_varlong(), "timestampDelta");
  TESSERA_RECORD_FIELD(rec.offset_delta, r.read_varint(), "offsetDelta");
  TESSERA_RECORD_FIELD(rec.key, read_var_bytes(r, true), "key");
  TESSERA_RECORD_FIELD(rec.value, read_var_bytes(r, true), "value");
  TESSERA_RECORD_FIELD(int32_t header_count, r.read_varint(), "headers count");
  if (header_count < 0 || static_cast<size_t>(header_count) > r.remaining() / kMinHeaderBytes) {
    return batch_error(base_offset, record_field(index, "headers count") + " " +
                                        std::to_string(header_count) + " does not fit the " +
                                        std::to_string(r.remaining()) + " bytes left");
  }
  rec.headers.reserve(static_cast<size_t>(header_count));
  for (int32_t j = 0; j < header_count; ++j) {
    std::string name = "header " + std::to_string(j);
    RecordHeader h;
    TESSERA_RECORD_FIELD(std::optional<std::string> key, read_var_bytes(r, false), name + " key");
    h.key = std::move(*key);
    TESSERA_RECORD_FIELD(h.value, read_var_bytes(r, true), name + " value");
    rec.headers.push_back(std::move(h));
  }
  if (!r.at_end()) {
    return batch_error(base_offset, record_field(index, "length") + " " +
                                        std::to_string(length) + " leaves " +
                                        std::to_string(r.remaining()) +
                                        " bytes after the record's fields");
  }
  return rec;
}

#undef TESSERA_RECORD_FIELD_IMPL
#undef TESSERA_RECORD_FIELD

Result<std::vector<Record>> read_records(std::string_view area, int32_t count,
                                         int64_t base_offset) {
  Reader r(area);
  std::vector<Record> records;
  records.reserve(std::min(static_cast<size_t>(count), area.size() / kMinRecordBytes));
  for (int32_t i = 0; i < count; ++i) {
    if (r.at_end()) {
      return batch_error(base_offset, "recordsCount " + std::to_string(count) + " but only " +
                                          std::to_string(i) + " records present");
    }
    TESSERA_ASSIGN_OR_RETURN(Record rec, read_record(r, base_offset, static_cast<size_t>(i)));
    records.push_back(std::move(rec));
  }
  if (!r.at_end()) {
    return batch_error(base_offset, std::to_string(r.remaining()) + " bytes after the last of " +
                                        std::to_string(count) + " records");
  }
  return records;
}

Result<RecordBatch> decode_batch(std::string_view batch, const BatchHeader& h,
                                 const DecodeLimits& limits) {
  RecordBatch b;
  b.base_offset = h.base_offset;
  b.partition_leader_epoch = h.partition_leader_epoch;
  b.attributes = h.attributes;
  b.last_offset_delta = h.last_offset_delta;
  b.base_timestamp = h.base_timestamp;
  b.max_timestamp = h.max_timestamp;
  b.producer_id = h.producer_id;
  b.producer_epoch = h.producer_epoch;
  b.base_sequence = h.base_sequence;
  std::string_view area = batch.substr(kBatchHeaderBytes);
  if (h.compression() == Compression::none) {
    TESSERA_ASSIGN_OR_RETURN(b.records, read_records(area, h.record_count, h.base_offset));
    return b;
  }
  Result<std::string> plain = decompress(h.compression(), area, limits.max_decompressed_bytes);
  if (!plain.is_ok()) return in_batch(h.base_offset, "", plain.status());
  TESSERA_ASSIGN_OR_RETURN(b.records, read_records(*plain, h.record_count, h.base_offset));
  return b;
}

void write_var_bytes(Writer& w, const std::optional<std::string>& b) {
  if (!b.has_value()) {
    w.write_varint(-1);
    return;
  }
  TESSERA_ASSERT(b->size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  w.write_varint(static_cast<int32_t>(b->size()));
  w.write_raw(*b);
}

// Appends one record; `scratch` holds its body while the length is unknown.
void append_record(std::string* out, const Record& rec, std::string* scratch) {
  TESSERA_ASSERT(rec.offset_delta >= std::numeric_limits<int32_t>::min() &&
                 rec.offset_delta <= std::numeric_limits<int32_t>::max());
  TESSERA_ASSERT(rec.headers.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  scratch->clear();
  Writer w(scratch);
  w.write_int8(rec.attributes);
  w.write_varlong(rec.timestamp_delta);
  w.write_varint(static_cast<int32_t>(rec.offset_delta));
  write_var_bytes(w, rec.key);
  write_var_bytes(w, rec.value);
  w.write_varint(static_cast<int32_t>(rec.headers.size()));
  for (const RecordHeader& h : rec.headers) {
    write_var_bytes(w, h.key);
    write_var_bytes(w, h.value);
  }
  TESSERA_ASSERT(scratch->size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  Writer o(out);
  o.write_varint(static_cast<int32_t>(scratch->size()));
  o.write_raw(*scratch);
}

}  // namespace

Result<BatchHeader> peek_batch_header(std::string_view data) {
  TESSERA_ASSIGN_OR_RETURN(std::optional<BatchHeader> h, frame_batch(data, false));
  return *h;
}

Result<std::vector<RecordBatch>> decode_record_batches(std::string_view records,
                                                       const DecodeLimits& limits,
                                                       bool allow_partial_tail) {
  std::vector<RecordBatch> batches;
  while (!records.empty()) {
    TESSERA_ASSIGN_OR_RETURN(std::optional<BatchHeader> h,
                             frame_batch(records, allow_partial_tail));
    if (!h.has_value()) break;  // a cut-short last batch, allowed
    std::string_view batch = records.substr(0, h->size_bytes());
    TESSERA_ASSIGN_OR_RETURN(RecordBatch b, decode_batch(batch, *h, limits));
    batches.push_back(std::move(b));
    records.remove_prefix(batch.size());
  }
  return batches;
}

void append_record_batch(std::string* out, const RecordBatch& batch, Compression compression) {
  TESSERA_ASSERT(static_cast<int16_t>(compression) >= 0 &&
                 static_cast<int16_t>(compression) <= kMaxKnownCodec);
  TESSERA_ASSERT(batch.records.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  const size_t start = out->size();
  int16_t attributes = static_cast<int16_t>((batch.attributes & ~kCompressionAttributeMask) |
                                            static_cast<int16_t>(compression));
  int32_t last_offset_delta = batch.last_offset_delta;
  if (!batch.records.empty()) {
    last_offset_delta = static_cast<int32_t>(batch.records.back().offset_delta);
  }
  Writer w(out);
  w.write_int64(batch.base_offset);
  w.write_int32(0);  // batchLength, patched below
  w.write_int32(batch.partition_leader_epoch);
  w.write_int8(kRecordBatchMagic);
  w.write_uint32(0);  // crc, patched below
  w.write_int16(attributes);
  w.write_int32(last_offset_delta);
  w.write_int64(batch.base_timestamp);
  w.write_int64(batch.max_timestamp);
  w.write_int64(batch.producer_id);
  w.write_int16(batch.producer_epoch);
  w.write_int32(batch.base_sequence);
  w.write_int32(static_cast<int32_t>(batch.records.size()));

  std::string scratch;
  if (compression == Compression::none) {
    for (const Record& rec : batch.records) append_record(out, rec, &scratch);
  } else {
    std::string plain;
    for (const Record& rec : batch.records) append_record(&plain, rec, &scratch);
    // Compressing in-memory bytes fails only for inputs no batch can hold.
    Result<std::string> packed = compress(compression, plain);
    TESSERA_ASSERT_MSG(packed.is_ok(), packed.status().message().c_str());
    out->append(*packed);
  }

  size_t length = out->size() - start - kBatchLogOverheadBytes;
  TESSERA_ASSERT(length <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  put_be32(out, start + 8, static_cast<uint32_t>(length));
  std::string_view covered(out->data() + start + kAttributesOffset,
                           out->size() - start - kAttributesOffset);
  put_be32(out, start + kCrcOffset, crc32c(covered));
}

std::string encode_record_batch(const RecordBatch& batch, Compression compression) {
  std::string out;
  append_record_batch(&out, batch, compression);
  return out;
}

}  // namespace tessera::kafka
