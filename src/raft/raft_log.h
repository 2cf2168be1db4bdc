#pragma once
// RaftLog: the in-memory copy of one node's log plus the bookkeeping that
// says which suffix the caller has not yet persisted.
//
// Owned by one Raft instance; not thread-safe. Holds every entry from index 1
// (no snapshots or compaction yet). Invariants: entries are contiguous from
// index 1, terms never decrease along the log, and every index below
// `unstable_from()` has been handed to the caller for persistence.

#include <cstddef>
#include <span>
#include <vector>

#include "raft/types.h"

namespace tessera::raft {

class RaftLog {
 public:
  // `persisted` is the log read back from durable storage on restart.
  explicit RaftLog(std::vector<Entry> persisted);

  LogIndex last_index() const { return LogIndex(entries_.size()); }
  Term last_term() const { return term_at(last_index()); }
  // Term of the entry at `index`; Term{0} for index 0. Asserts index exists.
  Term term_at(LogIndex index) const;
  bool has(LogIndex index) const { return index.value <= entries_.size(); }
  const Entry& at(LogIndex index) const;
  // True iff the entry at `index` exists and has `term` (log matching, §5.3).
  bool matches(LogIndex index, Term term) const;
  // True iff a log ending at (term, index) is at least as up to date as this
  // one (§5.4.1).
  bool is_up_to_date(Term last_term, LogIndex last_index) const;

  // Entries [from, from + max_count), fewer at the end of the log.
  std::vector<Entry> slice(LogIndex from, size_t max_count) const;
  // Entries [from, to] inclusive; empty when from > to.
  std::vector<Entry> range(LogIndex from, LogIndex to) const;

  // Appends one entry; its index must be last_index() + 1.
  void append(Entry entry);
  // Follower side of AppendEntries (§5.3 step 3-4): skips entries already
  // present with the same term, truncates at the first conflict and appends
  // the rest. `committed` is asserted never to be truncated.
  void merge(const std::vector<Entry>& entries, LogIndex committed);

  // Entries the caller has not yet been given for persistence.
  std::vector<Entry> unstable() const;
  LogIndex unstable_from() const { return unstable_from_; }
  // The caller took every entry up to `last` for persistence (Ready); call
  // mark_persisted once they are durable.
  void mark_handed_out(LogIndex last) { handed_out_to_ = last; }
  void mark_persisted();

 private:
  void truncate_from(LogIndex index);

  std::vector<Entry> entries_;  // entries_[i] has index i + 1
  LogIndex unstable_from_;      // first index not yet persisted
  LogIndex handed_out_to_;      // last index in the outstanding Ready
};

}  // namespace tessera::raft
