#include "fuse/dirty_extents.h"

#include "base/assert.h"

namespace tessera::fuse {

void DirtyExtents::add(uint64_t offset, std::string_view data) {
  if (data.empty()) return;
  uint64_t start = offset;
  uint64_t end = offset + data.size();
  // The first range that could touch [start, end): the one before start,
  // when it reaches start.
  auto it = ranges_.lower_bound(start);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size() >= start) it = prev;
  }
  // Merge every range touching [start, end) into one buffer.
  uint64_t merged_start = start;
  std::string merged;
  if (it != ranges_.end() && it->first < start) {
    merged_start = it->first;
    merged = it->second.substr(0, start - it->first);
  }
  merged.append(data);
  while (it != ranges_.end() && it->first <= end) {
    uint64_t r_end = it->first + it->second.size();
    if (r_end > end) merged.append(it->second, end - it->first, r_end - end);
    bytes_ -= it->second.size();
    it = ranges_.erase(it);
  }
  bytes_ += merged.size();
  ranges_.emplace(merged_start, std::move(merged));
  TESSERA_ASSERT(bytes_ >= data.size());
}

uint64_t DirtyExtents::end() const {
  if (ranges_.empty()) return 0;
  const auto& last = *ranges_.rbegin();
  return last.first + last.second.size();
}

bool DirtyExtents::overlaps(uint64_t offset, uint64_t length) const {
  if (length == 0 || ranges_.empty()) return false;
  auto it = ranges_.lower_bound(offset);
  if (it != ranges_.end() && it->first < offset + length) return true;
  if (it == ranges_.begin()) return false;
  auto prev = std::prev(it);
  return prev->first + prev->second.size() > offset;
}

std::vector<std::pair<uint64_t, std::string>> DirtyExtents::take() {
  std::vector<std::pair<uint64_t, std::string>> out;
  out.reserve(ranges_.size());
  for (auto& [off, data] : ranges_) out.emplace_back(off, std::move(data));
  ranges_.clear();
  bytes_ = 0;
  return out;
}

}  // namespace tessera::fuse
