#include "raft/raft_log.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"

namespace tessera::raft {

RaftLog::RaftLog(LogIndex snapshot_index, Term snapshot_term, std::vector<Entry> persisted)
    : snapshot_index_(snapshot_index), snapshot_term_(snapshot_term), entries_(std::move(persisted)) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    TESSERA_ASSERT_MSG(entries_[i].index.value == snapshot_index_.value + 1 + i,
                       "restored log is not contiguous after the snapshot");
    Term prev = i > 0 ? entries_[i - 1].term : snapshot_term_;
    TESSERA_ASSERT(prev <= entries_[i].term);
  }
  unstable_from_ = LogIndex(last_index().value + 1);
  handed_out_to_ = last_index();
}

Term RaftLog::term_at(LogIndex index) const {
  if (index == snapshot_index_) return snapshot_term_;
  return at(index).term;
}

const Entry& RaftLog::at(LogIndex index) const {
  TESSERA_ASSERT(has(index));
  return entries_[offset(index)];
}

bool RaftLog::matches(LogIndex index, Term term) const {
  if (index < snapshot_index_ || index > last_index()) return false;
  return term_at(index) == term;
}

bool RaftLog::is_up_to_date(Term other_last_term, LogIndex other_last_index) const {
  if (other_last_term != last_term()) return other_last_term > last_term();
  return other_last_index >= last_index();
}

LogIndex RaftLog::last_index_with_term_at_most(LogIndex index, Term term) const {
  LogIndex i = std::min(index, last_index());
  while (i > snapshot_index_ && at(i).term > term) i = LogIndex(i.value - 1);
  return std::max(i, snapshot_index_);
}

std::vector<Entry> RaftLog::slice(LogIndex from, size_t max_count, size_t max_bytes) const {
  TESSERA_ASSERT(from > snapshot_index_);
  std::vector<Entry> out;
  size_t bytes = 0;
  for (uint64_t i = from.value; i <= last_index().value && out.size() < max_count; ++i) {
    const Entry& e = at(LogIndex(i));
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

std::vector<Entry> RaftLog::range(LogIndex from, LogIndex to) const {
  std::vector<Entry> out;
  for (uint64_t i = from.value; i <= to.value; ++i) out.push_back(at(LogIndex(i)));
  return out;
}

void RaftLog::append(Entry entry) {
  TESSERA_ASSERT(entry.index.value == last_index().value + 1);
  TESSERA_ASSERT(entry.term >= last_term());
  entries_.push_back(std::move(entry));
}

LogIndex RaftLog::merge(const std::vector<Entry>& entries, LogIndex committed) {
  LogIndex first_written;
  for (const Entry& e : entries) {
    if (e.index <= snapshot_index_) continue;  // compacted, hence committed and equal
    if (has(e.index)) {
      if (term_at(e.index) == e.term) continue;
      TESSERA_ASSERT_MSG(e.index > committed, "leader conflicts with a committed entry");
      truncate_from(e.index);
    }
    if (first_written == LogIndex(0)) first_written = e.index;
    append(e);
  }
  return first_written;
}

void RaftLog::compact(LogIndex index) {
  if (index <= snapshot_index_) return;
  TESSERA_ASSERT(index <= last_index());
  TESSERA_ASSERT_MSG(index < unstable_from_, "compacting entries that are not persisted");
  snapshot_term_ = term_at(index);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(offset(index) + 1));
  snapshot_index_ = index;
  handed_out_to_ = std::max(handed_out_to_, index);
}

void RaftLog::restore(LogIndex index, Term term) {
  entries_.clear();
  snapshot_index_ = index;
  snapshot_term_ = term;
  // The snapshot itself is handed out and persisted by Raft (Ready.snapshot),
  // so nothing up to `index` is left for unstable().
  unstable_from_ = LogIndex(index.value + 1);
  handed_out_to_ = index;
}

std::vector<Entry> RaftLog::unstable() const {
  return range(unstable_from_, last_index());
}

void RaftLog::mark_persisted() {
  unstable_from_ = std::max(unstable_from_, LogIndex(handed_out_to_.value + 1));
}

void RaftLog::truncate_from(LogIndex index) {
  TESSERA_ASSERT(has(index));
  entries_.resize(offset(index));
  unstable_from_ = std::min(unstable_from_, index);
  // Entries at or after `index` in an outstanding Ready are stale: the
  // caller's copy gets overwritten by the next Ready, which starts at `index`.
  if (handed_out_to_ >= index) handed_out_to_ = LogIndex(index.value - 1);
}

}  // namespace tessera::raft
