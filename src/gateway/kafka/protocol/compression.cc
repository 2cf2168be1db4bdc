#include "gateway/kafka/protocol/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

namespace tessera::kafka {
namespace {

// snappy-java's stream header: magic, then INT32 version and INT32
// compatible version (both 1), all big-endian.
constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeaderBytes = 16;
// snappy-java's default block size: input is compressed 32 KiB at a time.
constexpr size_t kXerialBlockInputBytes = 32 * 1024;
// Output grows from this size, doubling, up to the cap.
constexpr size_t kOutputStepBytes = 64 * 1024;
// zstd frames may declare windows up to max(cap, 8 MiB), never above 128 MiB.
constexpr int kZstdMinWindowLog = 23;
constexpr int kZstdMaxWindowLog = 27;

Status malformed(Compression c, std::string_view detail) {
  return Status(Errc::invalid_argument, "kafka: " + std::string(compression_name(c)) +
                                            " batch is malformed: " + std::string(detail));
}
Status truncated(Compression c) {
  return Status(Errc::invalid_argument,
                "kafka: " + std::string(compression_name(c)) + " batch is truncated");
}
Status past_cap(Compression c, size_t cap) {
  return Status(Errc::too_large, "kafka: " + std::string(compression_name(c)) +
                                     " batch decompresses past " + std::to_string(cap) +
                                     " bytes");
}
Status library_failure(Compression c, std::string_view what) {
  return Status(Errc::internal,
                "kafka: " + std::string(compression_name(c)) + " " + std::string(what));
}

void put_be32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}
uint32_t get_be32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// A decompression target that never holds more than cap + 1 bytes: a decoder
// that fills the extra byte has proved the output is past the cap.
class CappedOutput {
 public:
  explicit CappedOutput(size_t cap)
      : cap_(cap), limit_(cap == std::numeric_limits<size_t>::max() ? cap : cap + 1) {}

  // Makes room when the buffer is full; a no-op at the limit.
  void make_room() {
    if (used_ < buf_.size() || buf_.size() >= limit_) return;
    buf_.resize(std::min(limit_, std::max(kOutputStepBytes, buf_.size() * 2)));
  }
  char* free_begin() { return buf_.data() + used_; }
  size_t free_bytes() const { return buf_.size() - used_; }
  void commit(size_t n) { used_ += n; }
  bool exceeded() const { return used_ > cap_; }
  std::string take() {
    buf_.resize(used_);
    return std::move(buf_);
  }

 private:
  size_t cap_;
  size_t limit_;
  size_t used_ = 0;
  std::string buf_;
};

Result<std::string> gzip_compress(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return library_failure(Compression::gzip, "deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return library_failure(Compression::gzip, "deflate failed");
  return out;
}

Result<std::string> gzip_decompress(std::string_view in, size_t cap) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return library_failure(Compression::gzip, "inflateInit2 failed");
  }
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  CappedOutput out(cap);
  while (true) {
    out.make_room();
    uInt room = static_cast<uInt>(std::min<size_t>(out.free_bytes(), UINT32_MAX));
    zs.next_out = reinterpret_cast<Bytef*>(out.free_begin());
    zs.avail_out = room;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.commit(room - zs.avail_out);
    if (out.exceeded()) return past_cap(Compression::gzip, cap);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows (RFC 1952 §2.2).
      if (inflateReset(&zs) != Z_OK) return library_failure(Compression::gzip, "reset failed");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // wants more room
    if (rc == Z_BUF_ERROR) return truncated(Compression::gzip);
    return malformed(Compression::gzip, zs.msg != nullptr ? zs.msg : "inflate failed");
  }
  return out.take();
}

Result<std::string> xerial_snappy_compress(std::string_view in) {
  std::string out(kXerialMagic, sizeof(kXerialMagic));
  out.resize(kXerialHeaderBytes);
  put_be32(out.data() + 8, 1);   // version
  put_be32(out.data() + 12, 1);  // compatible version
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlockInputBytes) {
    size_t n = std::min(kXerialBlockInputBytes, in.size() - pos);
    size_t at = out.size();
    out.resize(at + 4 + snappy::MaxCompressedLength(n));
    size_t written = 0;
    snappy::RawCompress(in.data() + pos, n, out.data() + at + 4, &written);
    put_be32(out.data() + at, static_cast<uint32_t>(written));
    out.resize(at + 4 + written);
  }
  return out;
}

// Appends one raw snappy block to `out` unless it is malformed or would take
// the output past `cap`.
Status snappy_block(std::string_view block, size_t cap, std::string* out) {
  size_t n = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &n) ||
      !snappy::IsValidCompressedBuffer(block.data(), block.size())) {
    return malformed(Compression::snappy, "invalid snappy block");
  }
  if (n > cap - out->size()) return past_cap(Compression::snappy, cap);
  size_t at = out->size();
  out->resize(at + n);
  if (!snappy::RawUncompress(block.data(), block.size(), out->data() + at)) {
    return malformed(Compression::snappy, "invalid snappy block");
  }
  return Status::ok();
}

Result<std::string> snappy_decompress(std::string_view in, size_t cap) {
  std::string out;
  bool xerial = in.size() >= sizeof(kXerialMagic) &&
                std::memcmp(in.data(), kXerialMagic, sizeof(kXerialMagic)) == 0;
  if (!xerial) {
    TESSERA_TRY(snappy_block(in, cap, &out));
    return out;
  }
  // The version fields are not checked: every snappy-java release writes 1
  // and librdkafka ignores them too.
  if (in.size() < kXerialHeaderBytes) return truncated(Compression::snappy);
  size_t pos = kXerialHeaderBytes;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return truncated(Compression::snappy);
    uint32_t len = get_be32(in.data() + pos);
    pos += 4;
    if (len > in.size() - pos) return truncated(Compression::snappy);
    TESSERA_TRY(snappy_block(in.substr(pos, len), cap, &out));
    pos += len;
  }
  return out;
}

Result<std::string> lz4_compress(std::string_view in) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::string out(LZ4F_compressFrameBound(in.size(), &prefs), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return library_failure(Compression::lz4, LZ4F_getErrorName(n));
  out.resize(n);
  return out;
}

Result<std::string> lz4_decompress(std::string_view in, size_t cap) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return library_failure(Compression::lz4, "cannot create a decompression context");
  }
  struct Free {
    LZ4F_dctx* ctx;
    ~Free() { LZ4F_freeDecompressionContext(ctx); }
  } free_ctx{ctx};
  CappedOutput out(cap);
  size_t consumed = 0;
  size_t hint = 1;  // 0 once a frame is complete
  while (true) {
    out.make_room();
    size_t dst = out.free_bytes();
    size_t src = in.size() - consumed;
    hint = LZ4F_decompress(ctx, out.free_begin(), &dst, in.data() + consumed, &src, nullptr);
    if (LZ4F_isError(hint)) return malformed(Compression::lz4, LZ4F_getErrorName(hint));
    consumed += src;
    out.commit(dst);
    if (out.exceeded()) return past_cap(Compression::lz4, cap);
    // With input used up and room left over, the decoder has flushed all.
    if (consumed == in.size() && out.free_bytes() > 0) break;
  }
  if (hint != 0) return truncated(Compression::lz4);
  return out.take();
}

Result<std::string> zstd_compress(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) return library_failure(Compression::zstd, ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

int zstd_window_log_max(size_t cap) {
  int log = kZstdMinWindowLog;
  while (log < kZstdMaxWindowLog && (size_t{1} << log) < cap) ++log;
  return log;
}

Result<std::string> zstd_decompress(std::string_view in, size_t cap) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return library_failure(Compression::zstd, "cannot create a context");
  struct Free {
    ZSTD_DCtx* ctx;
    ~Free() { ZSTD_freeDCtx(ctx); }
  } free_ctx{ctx};
  size_t rc = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, zstd_window_log_max(cap));
  if (ZSTD_isError(rc)) return library_failure(Compression::zstd, ZSTD_getErrorName(rc));
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  CappedOutput out(cap);
  size_t hint = 1;  // 0 once a frame is complete
  while (true) {
    out.make_room();
    ZSTD_outBuffer dst{out.free_begin(), out.free_bytes(), 0};
    hint = ZSTD_decompressStream(ctx, &dst, &src);
    if (ZSTD_isError(hint)) return malformed(Compression::zstd, ZSTD_getErrorName(hint));
    out.commit(dst.pos);
    if (out.exceeded()) return past_cap(Compression::zstd, cap);
    if (src.pos == src.size && dst.pos < dst.size) break;
  }
  if (hint != 0) return truncated(Compression::zstd);
  return out.take();
}

bool known(Compression c) {
  return static_cast<int8_t>(c) >= 0 && static_cast<int8_t>(c) <= 4;
}

Status unknown_codec(Compression c) {
  return Status(Errc::invalid_argument, "kafka: unknown compression codec " +
                                            std::to_string(static_cast<int>(c)));
}

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::snappy: return "snappy";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

Result<std::string> compress(Compression c, std::string_view data) {
  if (!known(c)) return unknown_codec(c);
  if (data.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Status(Errc::invalid_argument, "kafka: cannot compress " +
                                              std::to_string(data.size()) +
                                              " bytes: above INT32_MAX");
  }
  switch (c) {
    case Compression::none: return std::string(data);
    case Compression::gzip: return gzip_compress(data);
    case Compression::snappy: return xerial_snappy_compress(data);
    case Compression::lz4: return lz4_compress(data);
    case Compression::zstd: return zstd_compress(data);
  }
  return unknown_codec(c);
}

Result<std::string> decompress(Compression c, std::string_view data, size_t max_output_bytes) {
  if (!known(c)) return unknown_codec(c);
  if (data.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return malformed(c, "input above INT32_MAX bytes");
  }
  switch (c) {
    case Compression::none:
      if (data.size() > max_output_bytes) return past_cap(c, max_output_bytes);
      return std::string(data);
    case Compression::gzip: return gzip_decompress(data, max_output_bytes);
    case Compression::snappy: return snappy_decompress(data, max_output_bytes);
    case Compression::lz4: return lz4_decompress(data, max_output_bytes);
    case Compression::zstd: return zstd_decompress(data, max_output_bytes);
  }
  return unknown_codec(c);
}

}  // namespace tessera::kafka
