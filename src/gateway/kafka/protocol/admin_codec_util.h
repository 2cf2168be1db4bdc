#pragma once
// Helpers shared by the admin and SASL codecs (tessera_kafka_admin), not a
// public API. They give decode errors one shape:
//   "kafka: <Message> v<N>: <field path>: <what the Reader found>"
// e.g. "kafka: CreateTopics request v4: topics.num_partitions: truncated
// INT32 at byte 12", so an operator can tell which field of which message was
// wrong without a packet capture.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka::admin_detail {

// Reader errors start with "kafka: "; nested labels drop it so the final
// message carries it once.
inline std::string_view without_kafka_prefix(std::string_view message) {
  constexpr std::string_view kPrefix = "kafka: ";
  if (message.substr(0, kPrefix.size()) == kPrefix) message.remove_prefix(kPrefix.size());
  return message;
}

inline Status field_error(std::string_view field, const Status& cause) {
  std::string m(field);
  m += ": ";
  m += without_kafka_prefix(cause.message());
  return Status(cause.code(), std::move(m));
}

// Labels a Reader result with the field being read.
template <typename T>
Result<T> named(Result<T> r, std::string_view field) {
  if (r.is_ok()) return r;
  return field_error(field, r.status());
}

// Non-nullable ARRAY count: a null (-1) count is malformed.
inline Result<size_t> read_count(Reader& r, size_t min_element_bytes, std::string_view field) {
  TESSERA_ASSIGN_OR_RETURN(std::optional<size_t> n,
                           named(r.read_array_length(min_element_bytes), field));
  if (!n) return Status(Errc::invalid_argument, std::string(field) + ": is null");
  return *n;
}

inline Status unsupported(std::string_view message, int16_t version) {
  return Status(Errc::invalid_argument, "kafka: " + std::string(message) + " version " +
                                            std::to_string(version) + " is not supported");
}

// Runs `decode_fields(Reader&) -> Result<T>` over a whole body after checking
// the version, rejects trailing bytes, and prefixes any error with the
// message name and version. `message` is e.g. "CreateTopics request".
template <typename T, typename F>
Result<T> decode_body(std::string_view body, std::string_view message, int16_t version,
                      int16_t min_version, int16_t max_version, F&& decode_fields) {
  if (version < min_version || version > max_version) return unsupported(message, version);
  Reader r(body);
  Result<T> out = decode_fields(r);
  Status st = out.is_ok() ? r.expect_end("the last field") : out.status();
  if (st.is_ok()) return out;
  return Status(st.code(), "kafka: " + std::string(message) + " v" + std::to_string(version) +
                               ": " + std::string(without_kafka_prefix(st.message())));
}

}  // namespace tessera::kafka::admin_detail
