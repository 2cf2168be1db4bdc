#pragma once
// Internal to src/raft: unsigned LEB128 varints and a bounds-checked reader
// for codec.cc and types.cc. Not part of the module's API.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::raft::detail {

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void put_bytes(std::string& out, std::string_view bytes) {
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Reads from a byte string; every read fails (returns false and latches
// `ok() == false`) instead of reading past the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }

  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      auto byte = static_cast<uint8_t>(in_[pos_++]);
      // The tenth byte may carry only the top bit of a uint64_t.
      if (shift == 63 && byte > 1) return fail();
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return fail();
  }
  // A count of items that each take at least one byte: never larger than
  // the input left, so callers may reserve() it.
  bool count(uint64_t& n) { return varint(n) && (n <= remaining() || fail()); }
  bool bytes(std::string& out) {
    uint64_t n = 0;
    if (!count(n)) return false;
    out.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool byte(uint8_t& b) {
    if (pos_ >= in_.size()) return fail();
    b = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  template <typename Id>
  bool id(Id& out) {
    return varint(out.value);
  }

 private:
  bool fail() {
    ok_ = false;
    return false;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tessera::raft::detail
