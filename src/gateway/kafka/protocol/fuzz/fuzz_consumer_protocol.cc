// libFuzzer target: the consumer protocol's embedded formats (join_group.h):
// ConsumerProtocolSubscription (JoinGroup protocol metadata) and
// ConsumerProtocolAssignment (SyncGroup assignment), which carry their own
// INT16 version.
//
// Input: byte 0 bit 0 picks the assignment decoder instead of the
// subscription decoder; the rest is the embedded bytes. Properties: as
// fuzz_check.h's round trip (a decoded value, its version clamped to the
// newest known one, re-encodes to bytes no longer than the input that decode
// to an equal value and re-encode to themselves); a failure is
// invalid_argument.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/join_group.h"

namespace {

template <typename T>
void check(std::string_view bytes, tessera::Result<T> (*decode)(std::string_view),
           std::string (*encode)(const T&), int16_t max_version) {
  tessera::Result<T> first = decode(bytes);
  if (!first.is_ok()) {
    FUZZ_CHECK(first.status().code() == tessera::Errc::invalid_argument);
    return;
  }
  FUZZ_CHECK(first->version >= 0 && first->version <= max_version);
  const std::string encoded = encode(*first);
  FUZZ_CHECK(encoded.size() <= bytes.size());
  tessera::Result<T> second = decode(encoded);
  FUZZ_CHECK(second.is_ok() && *second == *first);
  FUZZ_CHECK(encode(*second) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace k = tessera::kafka;
  const k::fuzz::Input in = k::fuzz::split(data, size);
  if ((in.selector & 0x01) != 0) {
    check(in.body, k::decode_consumer_protocol_assignment, k::encode_consumer_protocol_assignment,
          k::kConsumerProtocolAssignmentMaxVersion);
  } else {
    check(in.body, k::decode_consumer_protocol_subscription,
          k::encode_consumer_protocol_subscription, k::kConsumerProtocolSubscriptionMaxVersion);
  }
  return 0;
}
