// libFuzzer target: the size-prefixed framing (take_frame, begin_frame /
// finish_frame) and the request and response headers of every frame found.
//
// Input: byte 0 is a selector — bits 0-1 the header version (modulo 3; modulo
// 2 for response headers), bit 2 response headers instead of request headers,
// bits 3-5 the frame size limit (kFrameLimits) — and the rest is a byte
// stream as a connection would deliver it. Properties: take_frame either
// returns a frame that is a view of the stream right after its size, within
// the limit, with *consumed covering both; or reports (consumed 0) that the
// stream is still short of a whole frame; or refuses the size with
// invalid_argument. Re-framing a payload reproduces the stream's bytes. A
// header that parses re-writes to bytes no longer than it was, which parse to
// an equal header.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/kafka/protocol/fuzz/fuzz_check.h"
#include "gateway/kafka/protocol/wire.h"

namespace {

namespace k = tessera::kafka;

constexpr int32_t kFrameLimits[] = {0,   1,    8,       64,
                                    256, 4096, 1 << 20, std::numeric_limits<int32_t>::max()};

bool same(const k::RequestHeader& a, const k::RequestHeader& b) {
  return a.api_key == b.api_key && a.api_version == b.api_version &&
         a.correlation_id == b.correlation_id && a.client_id == b.client_id &&
         a.tagged_fields == b.tagged_fields;
}

void check_request_header(std::string_view payload, int header_version) {
  k::Reader r(payload);
  tessera::Result<k::RequestHeader> h = k::parse_request_header(r, header_version);
  if (!h.is_ok()) {
    FUZZ_CHECK(h.status().code() == tessera::Errc::invalid_argument);
    return;
  }
  FUZZ_CHECK(r.position() + r.remaining() == payload.size());
  std::string out;
  k::Writer w(&out);
  k::write_request_header(w, *h, header_version);
  FUZZ_CHECK(out.size() <= r.position());
  k::Reader again(out);
  tessera::Result<k::RequestHeader> h2 = k::parse_request_header(again, header_version);
  FUZZ_CHECK(h2.is_ok());
  FUZZ_CHECK(again.at_end());
  FUZZ_CHECK(same(*h, *h2));
}

void check_response_header(std::string_view payload, int header_version) {
  k::Reader r(payload);
  tessera::Result<int32_t> id = k::parse_response_header(r, header_version);
  if (!id.is_ok()) {
    FUZZ_CHECK(id.status().code() == tessera::Errc::invalid_argument);
    return;
  }
  std::string out;
  k::Writer w(&out);
  k::write_response_header(w, *id, header_version);
  FUZZ_CHECK(out.size() <= r.position());
  k::Reader again(out);
  tessera::Result<int32_t> id2 = k::parse_response_header(again, header_version);
  FUZZ_CHECK(id2.is_ok() && *id2 == *id && again.at_end());
}

uint32_t declared_size(std::string_view b) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const k::fuzz::Input in = k::fuzz::split(data, size);
  const bool response = (in.selector & 0x04) != 0;
  const int header_version = (in.selector & 0x03) % (response ? 2 : 3);
  const int32_t limit = kFrameLimits[(in.selector >> 3) & 0x07];
  std::string_view stream = in.body;
  while (true) {
    size_t consumed = 12345;
    tessera::Result<std::optional<std::string_view>> frame =
        k::take_frame(stream, limit, &consumed);
    FUZZ_CHECK(consumed == 0 || (frame.is_ok() && frame->has_value()));
    if (!frame.is_ok()) {
      FUZZ_CHECK(frame.status().code() == tessera::Errc::invalid_argument);
      FUZZ_CHECK(stream.size() >= 4);
      const auto declared = static_cast<int32_t>(declared_size(stream));
      FUZZ_CHECK(declared < 0 || declared > limit);
      break;
    }
    if (!frame->has_value()) {
      FUZZ_CHECK(stream.size() < 4 || stream.size() - 4 < declared_size(stream));
      break;
    }
    const std::string_view payload = **frame;
    FUZZ_CHECK(payload.data() == stream.data() + 4);
    FUZZ_CHECK(consumed == 4 + payload.size() && consumed <= stream.size());
    FUZZ_CHECK(payload.size() <= static_cast<size_t>(limit));
    std::string reframed = "x";
    const size_t at = k::begin_frame(&reframed);
    reframed.append(payload);
    k::finish_frame(&reframed, at);
    FUZZ_CHECK(std::string_view(reframed).substr(1) == stream.substr(0, consumed));
    if (response) {
      check_response_header(payload, header_version);
    } else {
      check_request_header(payload, header_version);
    }
    stream.remove_prefix(consumed);
  }
  return 0;
}
