#pragma once
// ShardHost: runs a node's shards — each one log plus one StateMachine — and
// commits their proposals with group commit.
//
// The write path, for every shard alike:
//   propose(cmd) → queued → appended to the shard's log (one fsync'd RocksDB
//   write covers a whole batch, across shards) → applied by the state machine
//   (one write for the batch's state changes, with the applied index and the
//   log truncation) → the proposer's callback runs with the result.
// Nothing is acknowledged before its log entry is durable. After a crash,
// add_shard() replays the log entries past the durable applied index.
//
// This is the single-replica driver: the log is local. A raft driver replaces
// the "append" step with "replicate to a majority" without changing
// StateMachine or the callers.
//
// Threads: an appender and an applier thread owned by the host (appends and
// applies are each sequential, in log order); propose() and the read
// functions may be called from any thread; callbacks run on the applier.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/ids.h"
#include "base/status.h"
#include "shard/state_machine.h"
#include "storage/engine.h"

namespace tessera::shard {

struct ShardHostOptions {
  size_t batch_entries_max = 4096;
  size_t batch_bytes_max = 32ull << 20;
  size_t queue_bytes_max = 256ull << 20;   // proposers block beyond this
  size_t command_bytes_max = 8ull << 20;   // larger commands are refused
  bool sync = true;                        // fsync the log before acknowledging
};

class ShardHost {
 public:
  using Callback = std::function<void(internal::CommandResult&&)>;

  ShardHost(storage::Engine& engine, ShardHostOptions opts);
  ~ShardHost();  // stops after appending and applying queued proposals
  ShardHost(const ShardHost&) = delete;
  ShardHost& operator=(const ShardHost&) = delete;

  // Registers a shard and recovers it (replays unapplied log entries).
  Status add_shard(ShardId id, std::unique_ptr<StateMachine> sm);
  bool has_shard(ShardId id) const;

  // Queues `cmd` for `shard`. `done` runs on the applier thread once the
  // command is durable and applied, or with an error result if it was refused.
  void propose(ShardId shard, const internal::Command& cmd, Callback done);
  // propose() and wait for the result.
  internal::CommandResult propose_wait(ShardId shard, const internal::Command& cmd);

  // A consistent view of the applied state of every shard.
  std::unique_ptr<storage::Snapshot> snapshot() const { return engine_.snapshot(); }
  LogIndex applied_index(ShardId shard) const;
  // Blocks until `shard`'s applied index passes `seen`, or `timeout_ms` passes.
  // Returns the applied index.
  LogIndex wait_applied(ShardId shard, LogIndex seen, int64_t timeout_ms) const;

  struct Stats {
    uint64_t batches = 0;
    uint64_t entries = 0;
    uint64_t bytes = 0;
  };
  Stats stats() const;

 private:
  struct Shard;
  struct Proposal;
  struct Appended;

  // Stage 1 (appender thread): batch proposals, assign indexes, one durable
  // log write. Stage 2 (applier thread): apply in log order, callbacks. The
  // two overlap: batch N applies while batch N+1's fsync runs.
  void run_appender();
  void run_applier();
  void append_batch(std::deque<Proposal>& batch);
  void apply_batch(Appended& a);

  storage::Engine& engine_;
  const ShardHostOptions opts_;

  mutable std::mutex mu_;
  mutable std::condition_variable queue_cv_;    // writer waits for work
  std::condition_variable space_cv_;            // proposers wait for room
  mutable std::condition_variable applied_cv_;  // readers wait for applies
  std::deque<Proposal> queue_;
  size_t queue_bytes_ = 0;
  bool stopping_ = false;
  std::unordered_map<ShardId, std::unique_ptr<Shard>> shards_;
  Stats stats_;
  static constexpr size_t kAppendedBatchesMax = 2;  // appended, not yet applied
  std::deque<std::unique_ptr<Appended>> appended_;
  std::condition_variable appended_cv_;
  bool appender_done_ = false;
  std::thread applier_;
  std::thread appender_;
};

}  // namespace tessera::shard
