#pragma once
// Kafka wire-protocol primitives: the types of the protocol guide
// (https://kafka.apache.org/protocol#protocol_types), the request and response
// headers, and the size-prefixed framing. Pure functions over bytes: no I/O.
//
// Writer appends to a caller-owned std::string. Reader walks a std::string_view
// and never reads past its end: every read returns a Result whose error
// (Errc::invalid_argument) names the type and the byte offset that was
// truncated or malformed. Every length read from the wire is checked against
// the bytes left before anything is allocated, so a hostile frame cannot make
// a decoder allocate more than the frame's own size. After an error the
// Reader's position is unspecified; callers abandon the frame.
//
// Strings and byte arrays are returned as views into the Reader's input, so
// they live only as long as the frame does. Neither type is thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

// UUID: sixteen bytes in network byte order.
using Uuid = std::array<uint8_t, 16>;

// One entry of a TAGGED_FIELDS section (KIP-482). A generic reader knows no
// tags, so it keeps every field as raw bytes; message decoders interpret the
// tags their schema defines and carry the rest through unchanged.
struct TaggedField {
  uint32_t tag = 0;
  std::string data;
  bool operator==(const TaggedField&) const = default;
};
// Strictly ascending by tag, on the wire and in memory.
using TaggedFields = std::vector<TaggedField>;

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void write_bool(bool v);
  void write_int8(int8_t v);
  void write_int16(int16_t v);
  void write_int32(int32_t v);
  void write_int64(int64_t v);
  void write_uint32(uint32_t v);
  void write_varint(int32_t v);   // zigzag, then UNSIGNED_VARINT
  void write_varlong(int64_t v);  // zigzag, then 64-bit unsigned varint
  void write_unsigned_varint(uint32_t v);
  void write_uuid(const Uuid& v);
  void write_float64(double v);

  // Lengths beyond what the type's prefix can express are caller bugs and
  // assert: STRING holds at most 32767 bytes, BYTES at most INT32_MAX.
  void write_string(std::string_view s);
  void write_nullable_string(std::optional<std::string_view> s);
  void write_compact_string(std::string_view s);
  void write_compact_nullable_string(std::optional<std::string_view> s);
  void write_bytes(std::string_view b);
  void write_nullable_bytes(std::optional<std::string_view> b);
  void write_compact_bytes(std::string_view b);
  void write_compact_nullable_bytes(std::optional<std::string_view> b);

  // ARRAY: INT32 count, -1 for null. COMPACT_ARRAY: UNSIGNED_VARINT count + 1,
  // 0 for null. The elements follow, written by the caller.
  void write_array_length(std::optional<size_t> n);
  void write_compact_array_length(std::optional<size_t> n);

  // TAGGED_FIELDS: count, then (tag, size, bytes) per field. The fields must
  // be strictly ascending by tag (asserted).
  void write_tagged_fields(const TaggedFields& fields = {});

  void write_raw(std::string_view b) { out_->append(b); }
  size_t size() const { return out_->size(); }

 private:
  template <typename U>
  void put_be(U v);
  void put_uvarint64(uint64_t v);

  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  // BOOLEAN: any non-zero byte reads as true, as the protocol guide says.
  Result<bool> read_bool();
  Result<int8_t> read_int8();
  Result<int16_t> read_int16();
  Result<int32_t> read_int32();
  Result<int64_t> read_int64();
  Result<uint32_t> read_uint32();
  // Varints accept non-minimal encodings (as Kafka's Java reader does) but
  // reject a continuation bit on the last permitted byte (5 for 32 bits, 10
  // for 64) and bits that do not fit the type.
  Result<int32_t> read_varint();
  Result<int64_t> read_varlong();
  Result<uint32_t> read_unsigned_varint();
  Result<Uuid> read_uuid();
  Result<double> read_float64();

  // Non-nullable forms reject a null length; nullable forms return nullopt.
  // Negative lengths other than -1 are malformed.
  Result<std::string_view> read_string();
  Result<std::optional<std::string_view>> read_nullable_string();
  Result<std::string_view> read_compact_string();
  Result<std::optional<std::string_view>> read_compact_nullable_string();
  Result<std::string_view> read_bytes();
  Result<std::optional<std::string_view>> read_nullable_bytes();
  Result<std::string_view> read_compact_bytes();
  Result<std::optional<std::string_view>> read_compact_nullable_bytes();

  // Element counts; nullopt for a null array. A count whose elements could not
  // fit in the bytes left (at `min_element_bytes` each) is rejected, so the
  // caller may reserve() the count safely.
  Result<std::optional<size_t>> read_array_length(size_t min_element_bytes = 1);
  Result<std::optional<size_t>> read_compact_array_length(size_t min_element_bytes = 1);

  // Reads a whole TAGGED_FIELDS section, keeping every field as raw bytes.
  // Rejects duplicate or descending tags, as Kafka's own reader does.
  Result<TaggedFields> read_tagged_fields();

  Result<std::string_view> read_raw(size_t n, std::string_view what);
  // Fails if bytes are left: `what` names the message for the error.
  Status expect_end(std::string_view what) const;

 private:
  Result<std::string_view> take(size_t n, std::string_view type);
  Result<uint64_t> read_uvarint_bits(int bits, std::string_view type);
  Result<std::optional<std::string_view>> take_sized(int64_t len, size_t start,
                                                     std::string_view type, bool nullable);

  std::string_view data_;
  size_t pos_ = 0;
};

// Request header (protocol guide "Headers"): v0 has no client id; v1 adds a
// NULLABLE_STRING client id; v2 (flexible requests) adds TAGGED_FIELDS. The
// client id stays a classic NULLABLE_STRING even in v2.
struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  TaggedFields tagged_fields;
};

// `header_version` must be 0, 1 or 2 (asserted): the caller derives it from
// the API key and version it has already peeked at.
Result<RequestHeader> parse_request_header(Reader& r, int header_version);
void write_request_header(Writer& w, const RequestHeader& h, int header_version);

// Response header: v0 is the correlation id; v1 (flexible responses) adds an
// empty TAGGED_FIELDS section. ApiVersions responses always use v0.
void write_response_header(Writer& w, int32_t correlation_id, int header_version);
Result<int32_t> parse_response_header(Reader& r, int header_version);

// Framing: every request and response travels as an INT32 size N followed by
// N bytes. take_frame looks at the front of `buffer`:
//  - a complete frame: returns its payload (a view into `buffer`) and sets
//    *consumed to 4 + N;
//  - not enough bytes yet: returns nullopt and sets *consumed to 0;
//  - a negative size or one above `max_frame_bytes`: invalid_argument (the
//    connection cannot be resynchronised and should be closed).
Result<std::optional<std::string_view>> take_frame(std::string_view buffer,
                                                   int32_t max_frame_bytes, size_t* consumed);
// Appends a 4-byte placeholder and returns its offset; finish_frame writes the
// size of everything appended after it.
size_t begin_frame(std::string* out);
void finish_frame(std::string* out, size_t frame_start);

}  // namespace tessera::kafka
