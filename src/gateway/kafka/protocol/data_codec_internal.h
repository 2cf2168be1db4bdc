#pragma once
// Internal to the data-path codecs (metadata, produce, fetch, list_offsets,
// init_producer_id): not part of the public API, include only from their .cc
// files.
//
// FieldReader wraps a Reader so that every error names the message, its
// version and the field that was wrong, e.g.
//   "kafka: Produce request v3 topic_data.partition_data.records:
//    NULLABLE_BYTES length 9 exceeds the 3 bytes left".
// Error text is only built on failure; the success path allocates nothing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka::data_codec {

// "kafka: Produce request version 9 is not supported".
inline Status unsupported_version(std::string_view message, int16_t version) {
  return Status(Errc::invalid_argument, "kafka: " + std::string(message) + " version " +
                                            std::to_string(version) + " is not supported");
}

class FieldReader {
 public:
  // `message` ("Produce request") must outlive the reader; a literal does.
  FieldReader(std::string_view body, std::string_view message, int16_t version)
      : r_(body), message_(message), version_(version) {}

  Result<bool> boolean(std::string_view field) { return check(r_.read_bool(), field); }
  Result<int8_t> int8(std::string_view field) { return check(r_.read_int8(), field); }
  Result<int16_t> int16(std::string_view field) { return check(r_.read_int16(), field); }
  Result<int32_t> int32(std::string_view field) { return check(r_.read_int32(), field); }
  Result<int64_t> int64(std::string_view field) { return check(r_.read_int64(), field); }
  Result<std::string_view> string(std::string_view field) {
    return check(r_.read_string(), field);
  }
  Result<std::optional<std::string_view>> nullable_string(std::string_view field) {
    return check(r_.read_nullable_string(), field);
  }
  // RECORDS in non-flexible versions: NULLABLE_BYTES.
  Result<std::optional<std::string_view>> nullable_bytes(std::string_view field) {
    return check(r_.read_nullable_bytes(), field);
  }

  // ARRAY counts bounded by the bytes left at `min_element_bytes` each.
  Result<std::optional<size_t>> nullable_array(std::string_view field,
                                               size_t min_element_bytes) {
    return check(r_.read_array_length(min_element_bytes), field);
  }
  // A non-nullable ARRAY: a null count (-1) is an error naming the field.
  Result<size_t> array(std::string_view field, size_t min_element_bytes) {
    Result<std::optional<size_t>> n = nullable_array(field, min_element_bytes);
    if (!n.is_ok()) return n.status();
    if (!n->has_value()) return error(field, "ARRAY is null");
    return **n;
  }

  Result<std::vector<int32_t>> int32_array(std::string_view field) {
    Result<size_t> n = array(field, sizeof(int32_t));
    if (!n.is_ok()) return n.status();
    std::vector<int32_t> out;
    out.reserve(*n);
    for (size_t i = 0; i < *n; ++i) {
      Result<int32_t> v = int32(field);
      if (!v.is_ok()) return v.status();
      out.push_back(*v);
    }
    return out;
  }
  Result<std::vector<int64_t>> int64_array(std::string_view field) {
    Result<size_t> n = array(field, sizeof(int64_t));
    if (!n.is_ok()) return n.status();
    std::vector<int64_t> out;
    out.reserve(*n);
    for (size_t i = 0; i < *n; ++i) {
      Result<int64_t> v = int64(field);
      if (!v.is_ok()) return v.status();
      out.push_back(*v);
    }
    return out;
  }

  // Trailing bytes: "kafka: 2 trailing bytes after Produce request v3".
  Status end() const {
    if (r_.at_end()) return Status::ok();
    return r_.expect_end(std::string(message_) + " v" + std::to_string(version_));
  }

  Status error(std::string_view field, std::string_view problem) const {
    return Status(Errc::invalid_argument, "kafka: " + std::string(message_) + " v" +
                                              std::to_string(version_) + " " +
                                              std::string(field) + ": " + std::string(problem));
  }

 private:
  template <typename T>
  Result<T> check(Result<T> r, std::string_view field) const {
    if (r.is_ok()) return r;
    std::string_view problem = r.status().message();
    constexpr std::string_view kPrefix = "kafka: ";
    if (problem.substr(0, kPrefix.size()) == kPrefix) problem.remove_prefix(kPrefix.size());
    return error(field, problem);
  }

  Reader r_;
  std::string_view message_;
  int16_t version_;
};

inline void write_int32_array(Writer& w, const std::vector<int32_t>& values) {
  w.write_array_length(values.size());
  for (int32_t v : values) w.write_int32(v);
}

inline void write_int64_array(Writer& w, const std::vector<int64_t>& values) {
  w.write_array_length(values.size());
  for (int64_t v : values) w.write_int64(v);
}

}  // namespace tessera::kafka::data_codec
