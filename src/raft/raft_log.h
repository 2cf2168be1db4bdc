#pragma once
// RaftLog: the in-memory suffix of one node's log after its latest snapshot,
// plus the bookkeeping that says which suffix the caller has not yet
// persisted.
//
// Owned by one Raft instance; not thread-safe. Entries up to
// `snapshot_index()` are compacted (§7): only their last term is kept.
// Invariants: entries are contiguous from snapshot_index() + 1, terms never
// decrease along the log, and every index below `unstable_from()` has been
// handed to the caller for persistence.

#include <cstddef>
#include <vector>

#include "raft/types.h"

namespace tessera::raft {

class RaftLog {
 public:
  // `persisted` is the log read back from durable storage on restart; it
  // starts at snapshot_index + 1.
  RaftLog(LogIndex snapshot_index, Term snapshot_term, std::vector<Entry> persisted);

  LogIndex snapshot_index() const { return snapshot_index_; }
  Term snapshot_term() const { return snapshot_term_; }
  LogIndex first_index() const { return LogIndex(snapshot_index_.value + 1); }
  LogIndex last_index() const { return LogIndex(snapshot_index_.value + entries_.size()); }
  Term last_term() const { return term_at(last_index()); }
  // Term of the entry at `index`, which must be in [snapshot_index(),
  // last_index()]; Term{0} for index 0.
  Term term_at(LogIndex index) const;
  // True iff the entry at `index` is held in memory.
  bool has(LogIndex index) const { return index > snapshot_index_ && index <= last_index(); }
  const Entry& at(LogIndex index) const;
  // True iff the entry at `index` (or the snapshot's last entry) has `term`
  // (log matching, §5.3). False for compacted indexes below the snapshot.
  bool matches(LogIndex index, Term term) const;
  // True iff a log ending at (term, index) is at least as up to date as this
  // one (§5.4.1).
  bool is_up_to_date(Term last_term, LogIndex last_index) const;
  // The largest index <= `index` whose term is <= `term`, or snapshot_index()
  // when there is none in memory. Used to skip a conflicting term at once.
  LogIndex last_index_with_term_at_most(LogIndex index, Term term) const;

  // Entries from `from` (held in memory), at most `max_count` and, past the
  // first, at most `max_bytes` of data.
  std::vector<Entry> slice(LogIndex from, size_t max_count, size_t max_bytes) const;
  // Entries [from, to] inclusive (all held in memory); empty when from > to.
  std::vector<Entry> range(LogIndex from, LogIndex to) const;

  // Appends one entry; its index must be last_index() + 1.
  void append(Entry entry);
  // Follower side of AppendEntries (§5.3 step 3-4): skips entries already
  // present with the same term, truncates at the first conflict and appends
  // the rest. `committed` is asserted never to be truncated. Returns the
  // first index written (truncated or appended), LogIndex{0} if none.
  LogIndex merge(const std::vector<Entry>& entries, LogIndex committed);
  // Drops entries up to `index` (persisted, <= last_index()); §7.
  void compact(LogIndex index);
  // Replaces the whole log by a snapshot ending at (index, term) (§7,
  // InstallSnapshot step 7: discard the entire log).
  void restore(LogIndex index, Term term);

  // Entries the caller has not yet been given for persistence.
  std::vector<Entry> unstable() const;
  LogIndex unstable_from() const { return unstable_from_; }
  // The caller took every entry up to `last` for persistence (Ready); call
  // mark_persisted once they are durable.
  void mark_handed_out(LogIndex last) { handed_out_to_ = last; }
  void mark_persisted();

 private:
  void truncate_from(LogIndex index);
  size_t offset(LogIndex index) const { return index.value - snapshot_index_.value - 1; }

  LogIndex snapshot_index_;
  Term snapshot_term_;
  std::vector<Entry> entries_;  // entries_[i] has index snapshot_index_ + 1 + i
  LogIndex unstable_from_;      // first index not yet persisted
  LogIndex handed_out_to_;      // last index in the outstanding Ready
};

}  // namespace tessera::raft
