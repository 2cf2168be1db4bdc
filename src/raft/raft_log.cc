#include "raft/raft_log.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"

namespace tessera::raft {

RaftLog::RaftLog(std::vector<Entry> persisted) : entries_(std::move(persisted)) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    TESSERA_ASSERT_MSG(entries_[i].index.value == i + 1, "restored log is not contiguous from 1");
    if (i > 0) TESSERA_ASSERT(entries_[i - 1].term <= entries_[i].term);
  }
  unstable_from_ = LogIndex(entries_.size() + 1);
  handed_out_to_ = LogIndex(entries_.size());
}

Term RaftLog::term_at(LogIndex index) const {
  if (index.value == 0) return Term(0);
  return at(index).term;
}

const Entry& RaftLog::at(LogIndex index) const {
  TESSERA_ASSERT(index.value >= 1 && index.value <= entries_.size());
  return entries_[index.value - 1];
}

bool RaftLog::matches(LogIndex index, Term term) const {
  if (!has(index)) return false;
  return term_at(index) == term;
}

bool RaftLog::is_up_to_date(Term other_last_term, LogIndex other_last_index) const {
  if (other_last_term != last_term()) return other_last_term > last_term();
  return other_last_index >= last_index();
}

std::vector<Entry> RaftLog::slice(LogIndex from, size_t max_count) const {
  TESSERA_ASSERT(from.value >= 1);
  std::vector<Entry> out;
  for (uint64_t i = from.value; i <= entries_.size() && out.size() < max_count; ++i) {
    out.push_back(entries_[i - 1]);
  }
  return out;
}

std::vector<Entry> RaftLog::range(LogIndex from, LogIndex to) const {
  std::vector<Entry> out;
  for (uint64_t i = std::max<uint64_t>(from.value, 1); i <= to.value; ++i) out.push_back(at(LogIndex(i)));
  return out;
}

void RaftLog::append(Entry entry) {
  TESSERA_ASSERT(entry.index.value == entries_.size() + 1);
  TESSERA_ASSERT(entry.term >= last_term());
  entries_.push_back(std::move(entry));
}

void RaftLog::merge(const std::vector<Entry>& entries, LogIndex committed) {
  for (const Entry& e : entries) {
    if (has(e.index)) {
      if (term_at(e.index) == e.term) continue;
      TESSERA_ASSERT_MSG(e.index > committed, "leader conflicts with a committed entry");
      truncate_from(e.index);
    }
    append(e);
  }
}

std::vector<Entry> RaftLog::unstable() const {
  return range(unstable_from_, last_index());
}

void RaftLog::mark_persisted() {
  unstable_from_ = std::max(unstable_from_, LogIndex(handed_out_to_.value + 1));
}

void RaftLog::truncate_from(LogIndex index) {
  TESSERA_ASSERT(index.value >= 1 && index.value <= entries_.size());
  entries_.resize(index.value - 1);
  unstable_from_ = std::min(unstable_from_, index);
  // Entries at or after `index` in an outstanding Ready are stale: the
  // caller's copy gets overwritten by the next Ready, which starts at `index`.
  if (handed_out_to_ >= index) handed_out_to_ = LogIndex(index.value - 1);
}

}  // namespace tessera::raft
