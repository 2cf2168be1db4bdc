#pragma once
// SimDisk: one simulated node's durable storage, with a synced part and an
// unsynced part (the model of LevelDB's fault_injection_test file system).
//
// write() appends a batch to the unsynced tail (visible in written()),
// fsync() makes every written batch durable, crash() keeps a random prefix of
// the unsynced batches (each batch is atomic, like one WAL record) and loses
// the rest. The disk survives crashes; the SimNode owning it does not.
//
// Image layout: an optional snapshot (raft meta + a copy of the state
// machine at meta.index) and the log entries after it, contiguous.

#include <optional>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "sim/prng.h"
#include "sim/state_machine.h"

namespace tessera::sim {

struct DiskImage {
  raft::HardState hard_state;
  std::optional<raft::SnapshotMeta> snapshot;
  KvStateMachine snapshot_state;
  std::vector<raft::Entry> entries;  // from snapshot_index() + 1

  raft::LogIndex snapshot_index() const { return snapshot ? snapshot->index : raft::LogIndex(0); }
  raft::LogIndex last_index() const {
    return raft::LogIndex(snapshot_index().value + entries.size());
  }
  // Term of the entry at `index`, for index in [snapshot_index, last_index].
  raft::Term term_at(raft::LogIndex index) const {
    if (index == snapshot_index()) return snapshot ? snapshot->term : raft::Term(0);
    return entries.at(index.value - snapshot_index().value - 1).term;
  }
};

struct WriteBatch {
  std::optional<raft::HardState> hard_state;
  // A snapshot: installed from a leader (replaces the whole log) or taken
  // locally for compaction (keep_suffix: drops only entries <= its index).
  std::optional<raft::SnapshotMeta> snapshot;
  KvStateMachine snapshot_state;
  bool keep_suffix = false;
  // Replaces every entry with index >= entries.front().index.
  std::vector<raft::Entry> entries;
};

class SimDisk {
 public:
  // Returns "" or why the batch cannot be applied (a contract violation by
  // the writer, reported by the caller).
  std::string write(WriteBatch batch) {
    std::string err = apply(written_, batch);
    if (err.empty()) unsynced_.push_back(std::move(batch));
    return err;
  }
  void fsync() {
    for (const WriteBatch& b : unsynced_) (void)apply(synced_, b);
    unsynced_.clear();
  }
  // Power loss: a random prefix of the unsynced batches reached the platter.
  void crash(Prng& rng) {
    size_t keep = unsynced_.empty() ? 0 : rng.below(unsynced_.size() + 1);
    for (size_t i = 0; i < keep; ++i) (void)apply(synced_, unsynced_[i]);
    unsynced_.clear();
    written_ = synced_;
  }
  bool has_unsynced() const { return !unsynced_.empty(); }
  const DiskImage& synced() const { return synced_; }
  const DiskImage& written() const { return written_; }

 private:
  static std::string apply(DiskImage& img, const WriteBatch& b) {
    if (b.hard_state) img.hard_state = *b.hard_state;
    if (b.snapshot) {
      if (b.keep_suffix) {
        if (b.snapshot->index < img.snapshot_index() || b.snapshot->index > img.last_index()) {
          return "compaction snapshot outside the persisted log";
        }
        size_t drop = b.snapshot->index.value - img.snapshot_index().value;
        img.entries.erase(img.entries.begin(), img.entries.begin() + static_cast<long>(drop));
      } else {
        img.entries.clear();
      }
      img.snapshot = b.snapshot;
      img.snapshot_state = b.snapshot_state;
    }
    if (!b.entries.empty()) {
      uint64_t first = b.entries.front().index.value;
      if (first <= img.snapshot_index().value) {
        return "Ready entries start at " + std::to_string(first) +
               ", at or below the persisted snapshot index " +
               std::to_string(img.snapshot_index().value);
      }
      if (first > img.last_index().value + 1) {
        return "Ready entries start at " + std::to_string(first) + " but the persisted log ends at " +
               std::to_string(img.last_index().value);
      }
      img.entries.resize(first - img.snapshot_index().value - 1);
      for (const raft::Entry& e : b.entries) {
        if (e.index.value != img.last_index().value + 1) return "Ready entries not contiguous";
        img.entries.push_back(e);
      }
    }
    return "";
  }

  DiskImage synced_;
  DiskImage written_;
  std::vector<WriteBatch> unsynced_;
};

}  // namespace tessera::sim
