#pragma once
// Internal to the consumer-group codecs (tessera_kafka_groups): a Reader whose
// errors name the message, its version and the field being read, e.g.
//   "kafka: JoinGroup request v5 protocols.metadata: truncated BYTES at byte 41"
// and which copies strings out of the frame, since the decoded structs own
// their data. Error text is only built on failure. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka::group_internal {

// "kafka: JoinGroup request version 6 is not supported".
inline Status unsupported_version(std::string_view what, int16_t version) {
  return Status(Errc::invalid_argument, "kafka: " + std::string(what) + " version " +
                                            std::to_string(version) + " is not supported");
}

inline std::optional<std::string_view> view(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return std::string_view(*s);
}

class FieldReader {
 public:
  // `what` names the message ("JoinGroup request") and must outlive the reader.
  FieldReader(std::string_view data, std::string_view what, int16_t version)
      : r_(data), what_(what), version_(version) {}

  // For formats that carry their own version: set once it has been read.
  void set_version(int16_t version) { version_ = version; }

  Result<int8_t> int8(std::string_view field) { return named(r_.read_int8(), field); }
  Result<int16_t> int16(std::string_view field) { return named(r_.read_int16(), field); }
  Result<int32_t> int32(std::string_view field) { return named(r_.read_int32(), field); }
  Result<int64_t> int64(std::string_view field) { return named(r_.read_int64(), field); }

  Result<std::string> string(std::string_view field) {
    return copy(named(r_.read_string(), field));
  }
  Result<std::optional<std::string>> nullable_string(std::string_view field) {
    return copy(named(r_.read_nullable_string(), field));
  }
  Result<std::string> bytes(std::string_view field) { return copy(named(r_.read_bytes(), field)); }
  Result<std::optional<std::string>> nullable_bytes(std::string_view field) {
    return copy(named(r_.read_nullable_bytes(), field));
  }

  // ARRAY counts, bounded by the bytes left at `min_element_bytes` each. The
  // non-nullable form rejects a null (-1) count, as Kafka's reader does.
  Result<std::optional<size_t>> nullable_array(std::string_view field, size_t min_element_bytes) {
    return named(r_.read_array_length(min_element_bytes), field);
  }
  Result<size_t> array(std::string_view field, size_t min_element_bytes) {
    TESSERA_ASSIGN_OR_RETURN(std::optional<size_t> n, nullable_array(field, min_element_bytes));
    if (!n) return fail(field, Status(Errc::invalid_argument, "kafka: null ARRAY"));
    return *n;
  }

  // ARRAY of INT32 / of STRING (non-nullable).
  Result<std::vector<int32_t>> int32_array(std::string_view field) {
    TESSERA_ASSIGN_OR_RETURN(size_t n, array(field, 4));
    std::vector<int32_t> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      TESSERA_ASSIGN_OR_RETURN(int32_t v, int32(field));
      out.push_back(v);
    }
    return out;
  }
  Result<std::vector<std::string>> string_array(std::string_view field) {
    TESSERA_ASSIGN_OR_RETURN(size_t n, array(field, 2));
    std::vector<std::string> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      TESSERA_ASSIGN_OR_RETURN(std::string v, string(field));
      out.push_back(std::move(v));
    }
    return out;
  }

  // Fails if bytes are left: "kafka: 3 trailing bytes after JoinGroup request v5".
  Status end() const {
    if (r_.at_end()) return Status::ok();
    return r_.expect_end(std::string(what_) + " v" + std::to_string(version_));
  }

 private:
  template <typename T>
  Result<T> named(Result<T> r, std::string_view field) const {
    if (r.is_ok()) return r;
    return fail(field, r.status());
  }

  Status fail(std::string_view field, const Status& cause) const {
    constexpr std::string_view kPrefix = "kafka: ";
    std::string_view detail = cause.message();
    if (detail.substr(0, kPrefix.size()) == kPrefix) detail.remove_prefix(kPrefix.size());
    return Status(cause.code(), std::string(kPrefix) + std::string(what_) + " v" +
                                    std::to_string(version_) + " " + std::string(field) + ": " +
                                    std::string(detail));
  }

  static Result<std::string> copy(Result<std::string_view> r) {
    if (!r.is_ok()) return r.status();
    return std::string(*r);
  }
  static Result<std::optional<std::string>> copy(Result<std::optional<std::string_view>> r) {
    if (!r.is_ok()) return r.status();
    if (!*r) return std::optional<std::string>();
    return std::optional<std::string>(std::string(**r));
  }

  Reader r_;
  std::string_view what_;
  int16_t version_;
};

}  // namespace tessera::kafka::group_internal
