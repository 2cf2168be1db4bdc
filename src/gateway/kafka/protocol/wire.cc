#include "gateway/kafka/protocol/wire.h"

#include <bit>
#include <limits>
#include <utility>

#include "base/assert.h"

namespace tessera::kafka {
namespace {

constexpr size_t kFrameSizeBytes = 4;

Status malformed(std::string message) {
  return Status(Errc::invalid_argument, "kafka: " + std::move(message));
}

Status truncated(std::string_view type, size_t at) {
  return malformed("truncated " + std::string(type) + " at byte " + std::to_string(at));
}

// Zigzag maps signed to unsigned so small magnitudes stay short: 0, -1, 1, -2
// become 0, 1, 2, 3 (protocol buffers' sint32/sint64, which Kafka follows).
uint32_t zigzag32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
uint64_t zigzag64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int32_t unzigzag32(uint32_t u) { return static_cast<int32_t>((u >> 1) ^ (0u - (u & 1u))); }
int64_t unzigzag64(uint64_t u) {
  return static_cast<int64_t>((u >> 1) ^ (uint64_t{0} - (u & 1u)));
}

}  // namespace

// ---- Writer ----

template <typename U>
void Writer::put_be(U v) {
  for (int i = static_cast<int>(sizeof(U)) - 1; i >= 0; --i) {
    out_->push_back(static_cast<char>((static_cast<uint64_t>(v) >> (i * 8)) & 0xff));
  }
}

void Writer::put_uvarint64(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void Writer::write_bool(bool v) { out_->push_back(v ? 1 : 0); }
void Writer::write_int8(int8_t v) { put_be(static_cast<uint8_t>(v)); }
void Writer::write_int16(int16_t v) { put_be(static_cast<uint16_t>(v)); }
void Writer::write_int32(int32_t v) { put_be(static_cast<uint32_t>(v)); }
void Writer::write_int64(int64_t v) { put_be(static_cast<uint64_t>(v)); }
void Writer::write_uint32(uint32_t v) { put_be(v); }
void Writer::write_varint(int32_t v) { put_uvarint64(zigzag32(v)); }
void Writer::write_varlong(int64_t v) { put_uvarint64(zigzag64(v)); }
void Writer::write_unsigned_varint(uint32_t v) { put_uvarint64(v); }
void Writer::write_uuid(const Uuid& v) {
  out_->append(reinterpret_cast<const char*>(v.data()), v.size());
}
void Writer::write_float64(double v) { put_be(std::bit_cast<uint64_t>(v)); }

void Writer::write_string(std::string_view s) {
  TESSERA_ASSERT(s.size() <= static_cast<size_t>(std::numeric_limits<int16_t>::max()));
  write_int16(static_cast<int16_t>(s.size()));
  out_->append(s);
}

void Writer::write_nullable_string(std::optional<std::string_view> s) {
  if (!s) return write_int16(-1);
  write_string(*s);
}

void Writer::write_compact_string(std::string_view s) {
  TESSERA_ASSERT(s.size() < std::numeric_limits<uint32_t>::max());
  write_unsigned_varint(static_cast<uint32_t>(s.size() + 1));
  out_->append(s);
}

void Writer::write_compact_nullable_string(std::optional<std::string_view> s) {
  if (!s) return write_unsigned_varint(0);
  write_compact_string(*s);
}

void Writer::write_bytes(std::string_view b) {
  TESSERA_ASSERT(b.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  write_int32(static_cast<int32_t>(b.size()));
  out_->append(b);
}

void Writer::write_nullable_bytes(std::optional<std::string_view> b) {
  if (!b) return write_int32(-1);
  write_bytes(*b);
}

// COMPACT_BYTES and COMPACT_STRING share one encoding: N + 1, then N bytes.
void Writer::write_compact_bytes(std::string_view b) { write_compact_string(b); }
void Writer::write_compact_nullable_bytes(std::optional<std::string_view> b) {
  write_compact_nullable_string(b);
}

void Writer::write_array_length(std::optional<size_t> n) {
  if (!n) return write_int32(-1);
  TESSERA_ASSERT(*n <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  write_int32(static_cast<int32_t>(*n));
}

void Writer::write_compact_array_length(std::optional<size_t> n) {
  if (!n) return write_unsigned_varint(0);
  TESSERA_ASSERT(*n < std::numeric_limits<uint32_t>::max());
  write_unsigned_varint(static_cast<uint32_t>(*n + 1));
}

void Writer::write_tagged_fields(const TaggedFields& fields) {
  write_unsigned_varint(static_cast<uint32_t>(fields.size()));
  for (size_t i = 0; i < fields.size(); ++i) {
    TESSERA_ASSERT(i == 0 || fields[i - 1].tag < fields[i].tag);
    TESSERA_ASSERT(fields[i].data.size() <= std::numeric_limits<uint32_t>::max());
    write_unsigned_varint(fields[i].tag);
    write_unsigned_varint(static_cast<uint32_t>(fields[i].data.size()));
    out_->append(fields[i].data);
  }
}

// ---- Reader ----

Result<std::string_view> Reader::take(size_t n, std::string_view type) {
  if (n > remaining()) return truncated(type, pos_);
  std::string_view out = data_.substr(pos_, n);
  pos_ += n;
  return out;
}

Result<std::string_view> Reader::read_raw(size_t n, std::string_view what) {
  return take(n, what);
}

Status Reader::expect_end(std::string_view what) const {
  if (at_end()) return Status::ok();
  return malformed(std::to_string(remaining()) + " trailing bytes after " + std::string(what));
}

namespace {
template <typename U>
U load_be(std::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
  return static_cast<U>(v);
}
}  // namespace

Result<bool> Reader::read_bool() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(1, "BOOLEAN"));
  return b[0] != 0;
}
Result<int8_t> Reader::read_int8() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(1, "INT8"));
  return static_cast<int8_t>(load_be<uint8_t>(b));
}
Result<int16_t> Reader::read_int16() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(2, "INT16"));
  return static_cast<int16_t>(load_be<uint16_t>(b));
}
Result<int32_t> Reader::read_int32() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(4, "INT32"));
  return static_cast<int32_t>(load_be<uint32_t>(b));
}
Result<int64_t> Reader::read_int64() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(8, "INT64"));
  return static_cast<int64_t>(load_be<uint64_t>(b));
}
Result<uint32_t> Reader::read_uint32() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(4, "UINT32"));
  return load_be<uint32_t>(b);
}
Result<Uuid> Reader::read_uuid() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(16, "UUID"));
  Uuid u;
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(b[i]);
  return u;
}
Result<double> Reader::read_float64() {
  TESSERA_ASSIGN_OR_RETURN(std::string_view b, take(8, "FLOAT64"));
  return std::bit_cast<double>(load_be<uint64_t>(b));
}

// Little-endian base-128 groups, high bit = more follow. A `bits`-wide value
// takes at most ceil(bits / 7) bytes, and the last of those may only carry
// the bits that remain.
Result<uint64_t> Reader::read_uvarint_bits(int bits, std::string_view type) {
  const size_t start = pos_;
  const int max_bytes = (bits + 6) / 7;
  uint64_t v = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (at_end()) return truncated(type, start);
    const auto b = static_cast<uint8_t>(data_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (i == max_bytes - 1 && (b >> (bits - 7 * i)) != 0) {
        return malformed(std::string(type) + " at byte " + std::to_string(start) +
                         " does not fit in " + std::to_string(bits) + " bits");
      }
      return v;
    }
  }
  return malformed(std::string(type) + " at byte " + std::to_string(start) +
                   " is longer than " + std::to_string(max_bytes) + " bytes");
}

Result<int32_t> Reader::read_varint() {
  TESSERA_ASSIGN_OR_RETURN(uint64_t u, read_uvarint_bits(32, "VARINT"));
  return unzigzag32(static_cast<uint32_t>(u));
}
Result<int64_t> Reader::read_varlong() {
  TESSERA_ASSIGN_OR_RETURN(uint64_t u, read_uvarint_bits(64, "VARLONG"));
  return unzigzag64(u);
}
Result<uint32_t> Reader::read_unsigned_varint() {
  TESSERA_ASSIGN_OR_RETURN(uint64_t u, read_uvarint_bits(32, "UNSIGNED_VARINT"));
  return static_cast<uint32_t>(u);
}

// `len` is the decoded length, -1 meaning null. It is checked against the
// bytes left before the view is taken, so nothing is sized from an unchecked
// length.
Result<std::optional<std::string_view>> Reader::take_sized(int64_t len, size_t start,
                                                           std::string_view type,
                                                           bool nullable) {
  if (len == -1) {
    if (nullable) return std::optional<std::string_view>();
    return malformed(std::string(type) + " at byte " + std::to_string(start) + " is null");
  }
  if (len < 0) {
    return malformed(std::string(type) + " at byte " + std::to_string(start) +
                     " has negative length " + std::to_string(len));
  }
  if (static_cast<uint64_t>(len) > remaining()) {
    return malformed(std::string(type) + " length " + std::to_string(len) + " exceeds the " +
                     std::to_string(remaining()) + " bytes left");
  }
  std::string_view out = data_.substr(pos_, static_cast<size_t>(len));
  pos_ += out.size();
  return std::optional<std::string_view>(out);
}

Result<std::optional<std::string_view>> Reader::read_nullable_string() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(int16_t len, read_int16());
  return take_sized(len, start, "NULLABLE_STRING", true);
}
Result<std::string_view> Reader::read_string() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(int16_t len, read_int16());
  TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> s,
                           take_sized(len, start, "STRING", false));
  return *s;
}
Result<std::optional<std::string_view>> Reader::read_compact_nullable_string() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(uint32_t n, read_unsigned_varint());
  return take_sized(int64_t{n} - 1, start, "COMPACT_NULLABLE_STRING", true);
}
Result<std::string_view> Reader::read_compact_string() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(uint32_t n, read_unsigned_varint());
  TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> s,
                           take_sized(int64_t{n} - 1, start, "COMPACT_STRING", false));
  return *s;
}
Result<std::optional<std::string_view>> Reader::read_nullable_bytes() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(int32_t len, read_int32());
  return take_sized(len, start, "NULLABLE_BYTES", true);
}
Result<std::string_view> Reader::read_bytes() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(int32_t len, read_int32());
  TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> b,
                           take_sized(len, start, "BYTES", false));
  return *b;
}
Result<std::optional<std::string_view>> Reader::read_compact_nullable_bytes() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(uint32_t n, read_unsigned_varint());
  return take_sized(int64_t{n} - 1, start, "COMPACT_NULLABLE_BYTES", true);
}
Result<std::string_view> Reader::read_compact_bytes() {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(uint32_t n, read_unsigned_varint());
  TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> b,
                           take_sized(int64_t{n} - 1, start, "COMPACT_BYTES", false));
  return *b;
}

namespace {
Result<std::optional<size_t>> bound_count(int64_t n, size_t start, size_t min_element_bytes,
                                          size_t left, std::string_view type) {
  if (n == -1) return std::optional<size_t>();
  if (n < 0) {
    return malformed(std::string(type) + " at byte " + std::to_string(start) +
                     " has negative length " + std::to_string(n));
  }
  const uint64_t count = static_cast<uint64_t>(n);
  if (min_element_bytes > 0 && count > left / min_element_bytes) {
    return malformed(std::string(type) + " length " + std::to_string(n) + " exceeds what the " +
                     std::to_string(left) + " bytes left can hold");
  }
  return std::optional<size_t>(static_cast<size_t>(count));
}
}  // namespace

Result<std::optional<size_t>> Reader::read_array_length(size_t min_element_bytes) {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(int32_t n, read_int32());
  return bound_count(n, start, min_element_bytes, remaining(), "ARRAY");
}

Result<std::optional<size_t>> Reader::read_compact_array_length(size_t min_element_bytes) {
  const size_t start = pos_;
  TESSERA_ASSIGN_OR_RETURN(uint32_t n, read_unsigned_varint());
  return bound_count(static_cast<int64_t>(n) - 1, start, min_element_bytes, remaining(),
                     "COMPACT_ARRAY");
}

Result<TaggedFields> Reader::read_tagged_fields() {
  const size_t count_start = pos_;
  TESSERA_ASSIGN_OR_RETURN(uint32_t n, read_unsigned_varint());
  // Each field needs at least a one-byte tag and a one-byte size.
  TESSERA_ASSIGN_OR_RETURN(std::optional<size_t> count,
                           bound_count(n, count_start, 2, remaining(), "TAGGED_FIELDS"));
  TaggedFields fields;
  fields.reserve(*count);
  for (size_t i = 0; i < *count; ++i) {
    const size_t start = pos_;
    TESSERA_ASSIGN_OR_RETURN(uint32_t tag, read_unsigned_varint());
    if (!fields.empty() && tag <= fields.back().tag) {
      return malformed("tagged field " + std::to_string(tag) + " at byte " +
                       std::to_string(start) + " follows tag " +
                       std::to_string(fields.back().tag) + " (tags must ascend)");
    }
    TESSERA_ASSIGN_OR_RETURN(uint32_t size, read_unsigned_varint());
    TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> data,
                             take_sized(size, start, "tagged field", false));
    fields.push_back(TaggedField{tag, std::string(*data)});
  }
  return fields;
}

// ---- Headers ----

Result<RequestHeader> parse_request_header(Reader& r, int header_version) {
  TESSERA_ASSERT(header_version >= 0 && header_version <= 2);
  RequestHeader h;
  TESSERA_ASSIGN_OR_RETURN(h.api_key, r.read_int16());
  TESSERA_ASSIGN_OR_RETURN(h.api_version, r.read_int16());
  TESSERA_ASSIGN_OR_RETURN(h.correlation_id, r.read_int32());
  if (header_version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> id, r.read_nullable_string());
    if (id) h.client_id = std::string(*id);
  }
  if (header_version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(h.tagged_fields, r.read_tagged_fields());
  }
  return h;
}

void write_request_header(Writer& w, const RequestHeader& h, int header_version) {
  TESSERA_ASSERT(header_version >= 0 && header_version <= 2);
  w.write_int16(h.api_key);
  w.write_int16(h.api_version);
  w.write_int32(h.correlation_id);
  if (header_version >= 1) {
    w.write_nullable_string(h.client_id ? std::optional<std::string_view>(*h.client_id)
                                        : std::nullopt);
  }
  if (header_version >= 2) w.write_tagged_fields(h.tagged_fields);
}

void write_response_header(Writer& w, int32_t correlation_id, int header_version) {
  TESSERA_ASSERT(header_version == 0 || header_version == 1);
  w.write_int32(correlation_id);
  if (header_version == 1) w.write_tagged_fields();
}

Result<int32_t> parse_response_header(Reader& r, int header_version) {
  TESSERA_ASSERT(header_version == 0 || header_version == 1);
  TESSERA_ASSIGN_OR_RETURN(int32_t correlation_id, r.read_int32());
  if (header_version == 1) {
    TESSERA_ASSIGN_OR_RETURN([[maybe_unused]] TaggedFields ignored, r.read_tagged_fields());
  }
  return correlation_id;
}

// ---- Framing ----

Result<std::optional<std::string_view>> take_frame(std::string_view buffer,
                                                   int32_t max_frame_bytes, size_t* consumed) {
  *consumed = 0;
  if (buffer.size() < kFrameSizeBytes) return std::optional<std::string_view>();
  const auto size = static_cast<int32_t>(load_be<uint32_t>(buffer.substr(0, kFrameSizeBytes)));
  if (size < 0) return malformed("frame size " + std::to_string(size) + " is negative");
  if (size > max_frame_bytes) {
    return malformed("frame size " + std::to_string(size) + " exceeds the limit of " +
                     std::to_string(max_frame_bytes) + " bytes");
  }
  const size_t total = kFrameSizeBytes + static_cast<size_t>(size);
  if (buffer.size() < total) return std::optional<std::string_view>();
  *consumed = total;
  return std::optional<std::string_view>(buffer.substr(kFrameSizeBytes, size));
}

size_t begin_frame(std::string* out) {
  const size_t at = out->size();
  out->append(kFrameSizeBytes, '\0');
  return at;
}

void finish_frame(std::string* out, size_t frame_start) {
  TESSERA_ASSERT(frame_start + kFrameSizeBytes <= out->size());
  const size_t size = out->size() - frame_start - kFrameSizeBytes;
  TESSERA_ASSERT(size <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  for (size_t i = 0; i < kFrameSizeBytes; ++i) {
    (*out)[frame_start + i] = static_cast<char>((size >> (8 * (kFrameSizeBytes - 1 - i))) & 0xff);
  }
}

}  // namespace tessera::kafka
