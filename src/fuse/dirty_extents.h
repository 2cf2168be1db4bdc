#pragma once
// DirtyExtents: bytes written through one open file and not yet sent to
// the cluster, as disjoint, non-adjacent ranges keyed by offset. A later
// write wins where ranges overlap; touching ranges merge, so sequential
// writes build one range.
//
// Not thread-safe: OpenFile holds it under its own mutex.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::fuse {

class DirtyExtents {
 public:
  void add(uint64_t offset, std::string_view data);

  // Bytes held.
  uint64_t bytes() const { return bytes_; }
  bool empty() const { return ranges_.empty(); }
  // One past the last byte held; 0 when empty.
  uint64_t end() const;
  // Whether any held byte lies in [offset, offset + length).
  bool overlaps(uint64_t offset, uint64_t length) const;

  // Removes and returns every range, by ascending offset.
  std::vector<std::pair<uint64_t, std::string>> take();

 private:
  std::map<uint64_t, std::string> ranges_;
  uint64_t bytes_ = 0;
};

}  // namespace tessera::fuse
