#pragma once
// ShardHost: runs a node's shard replicas — each one raft group member plus
// one StateMachine — and commits their proposals with group commit.
//
// The write path, for every shard alike:
//   propose(cmd) → queued → the raft loop hands it to the shard's raft
//   (leader only) → one fsync'd RocksDB write persists the log entries and
//   hard states of every shard that has output, then the loop sends their
//   messages → once a majority has the entry durably it commits → the
//   applier applies it (one write for a batch of entries, across shards) →
//   the proposer's callback runs with the result.
// Nothing is acknowledged before its entry is durable on a majority. After a
// crash, add_shard() restores raft's log and hard state, and raft re-delivers
// the committed entries past the durable applied index.
//
// Snapshots (raft §7): when the log a follower needs is compacted, or a new
// replica joins, the leader streams its shard's applied state (a RocksDB
// snapshot, in key order) to it. The receiver writes the stream into one SST
// file, then — in log order, on the applier — clears the shard's keys and
// ingests the file. A durable "installing" marker makes that restartable:
// after a crash mid-install, opening the shard finishes it.
//
// Compaction: once a shard applied compact_entries past its last snapshot,
// the applier deletes the applied log prefix (kept longer while a healthy
// follower still needs it) in the same unlogged write as its state, so the
// log and the state machine stay one consistent cut after a crash.
//
// Reads: read_barrier() is raft's ReadIndex (thesis §6.4): after it returns,
// this replica's applied state includes every write acknowledged before the
// call, so a snapshot() read is linearizable.
//
// Threads: the raft loop (every Raft object, persistence, sends) and the
// applier, both owned by the host. propose(), the read functions and the
// TransportHandler callbacks may be called from any thread; callbacks run on
// the applier (or on the caller's thread for immediate refusals).

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/ids.h"
#include "base/rate_limiter.h"
#include "base/status.h"
#include "raft/raft.h"
#include "shard/state_machine.h"
#include "shard/transport.h"
#include "storage/engine.h"

namespace tessera::shard {

struct ShardHostOptions {
  NodeId self{1};
  // Reaches the other nodes; null for a node that never has peers.
  Transport* transport = nullptr;
  int64_t tick_ms = 50;
  // election_ticks × tick_ms is the base election timeout (0.5–1 s).
  raft::Config raft;
  size_t batch_bytes_max = 32ull << 20;    // one apply batch
  size_t queue_bytes_max = 256ull << 20;   // proposers block beyond this
  size_t command_bytes_max = 8ull << 20;   // larger commands are refused
  int64_t command_timeout_ms = 10000;      // propose_wait gives up after this
  bool sync = true;                        // fsync the log before acknowledging
  // Log entries past the last snapshot before the applied prefix is
  // compacted away.
  uint64_t compact_entries = 10000;
  // ... or this many bytes of entries, whichever comes first: bounds the
  // in-memory raft log, and lets most log entries be deleted while still in
  // the memtable, so they never reach an SST file.
  uint64_t compact_bytes = 64ull << 20;
  size_t snapshot_chunk_bytes = 1ull << 20;  // one chunk of a snapshot stream
  // Bytes per second all snapshot streams this node sends may use together
  // (re-replication after a node loss, new replicas); 0 = unlimited.
  uint64_t snapshot_bytes_per_s = 0;
  int64_t snapshot_install_timeout_ms = 600000;
};

// What one replica knows about its group, refreshed by the raft loop.
struct ShardStatus {
  ShardId id;
  raft::Role role = raft::Role::follower;
  NodeId leader;
  raft::Term term;
  LogIndex commit;
  LogIndex applied;
  raft::ConfState conf;
  // Leader only: every other member's progress.
  std::map<NodeId, raft::Raft::PeerProgress> progress;
};

class ShardHost final : public TransportHandler {
 public:
  using Callback = std::function<void(internal::CommandResult&&)>;
  // Makes the state machine of a shard; called for add_shard and for
  // replicas created on demand (a leader contacted this node about a shard
  // it does not hold yet).
  using MachineFactory = std::function<std::unique_ptr<StateMachine>(ShardId)>;

  ShardHost(storage::Engine& engine, ShardHostOptions opts, MachineFactory factory);
  ~ShardHost() override;  // fails queued proposals, stops both threads
  ShardHost(const ShardHost&) = delete;
  ShardHost& operator=(const ShardHost&) = delete;

  // Opens this node's replica of `id`, recovering it from storage. A shard
  // with no stored state starts with `bootstrap` as its members (empty: a
  // new member of an existing group, which learns its configuration from
  // the leader).
  Status add_shard(ShardId id, std::vector<NodeId> bootstrap);
  // Opens every replica this node has stored (after a restart).
  Status open_existing();
  bool has_shard(ShardId id) const;
  // Drops this node's replica of `id` and deletes its log and state. Done by
  // the host itself once raft says the replica was removed from its group;
  // also for the cluster agent, for a stale replica whose group moved on
  // while this node was away. A later message from the group's leader
  // creates it afresh.
  Status remove_replica(ShardId id);
  NodeId self() const { return opts_.self; }

  // Queues `cmd` for `shard`. `done` runs once the command is committed and
  // applied, or with an error result: Errc::not_leader (message names the
  // leader, see leader()) when this replica cannot propose, or
  // Errc::unavailable when leadership changed before it committed.
  void propose(ShardId shard, const internal::Command& cmd, Callback done);
  // propose() and wait up to command_timeout_ms for the result; a timeout is
  // Errc::unavailable ("outcome unknown": the command may still apply).
  internal::CommandResult propose_wait(ShardId shard, const internal::Command& cmd);

  // Proposes a membership change to `shard` (leader only) and waits until it
  // is applied here.
  Status change_replicas(ShardId shard, raft::ConfChange change, int64_t timeout_ms);
  // Asks the leader of `shard` (this node) to hand leadership to `to`.
  Status transfer_leader(ShardId shard, NodeId to);

  // Waits until this replica has applied every write committed before the
  // call. Errc::not_leader on a follower; Errc::unavailable on timeout.
  Status read_barrier(ShardId shard, int64_t timeout_ms);
  // The leader's half of a read barrier: an index that covers every write
  // acknowledged before the call (Errc::not_leader on a follower).
  Result<LogIndex> read_index(ShardId shard, int64_t timeout_ms);

  // A consistent view of the applied state of every shard.
  std::unique_ptr<storage::Snapshot> snapshot() const { return engine_.snapshot(); }
  LogIndex applied_index(ShardId shard) const;
  // Blocks until `shard`'s applied index passes `seen`, or `timeout_ms` passes.
  // Returns the applied index.
  LogIndex wait_applied(ShardId shard, LogIndex seen, int64_t timeout_ms) const;
  // Blocks until any of `seen`'s shards has applied past its index there
  // (a shard this node no longer holds counts as moved on), or timeout_ms
  // passes. A Kafka fetch long-polls several partitions this way.
  void wait_any_applied(const std::vector<std::pair<ShardId, LogIndex>>& seen,
                        int64_t timeout_ms) const;
  // The leader this replica knows of (kNoNode when none).
  NodeId leader(ShardId shard) const;
  std::optional<ShardStatus> status(ShardId shard) const;
  std::vector<ShardStatus> status_all() const;

  struct Stats {
    uint64_t batches = 0;  // fsync'd log writes
    uint64_t entries = 0;  // entries applied
    uint64_t bytes = 0;    // bytes applied
    uint64_t snapshots_sent = 0;
    uint64_t snapshots_installed = 0;
    uint64_t compactions = 0;
  };
  Stats stats() const;

  // TransportHandler.
  void on_raft(std::string batch) override;
  Status on_snapshot(const std::string& header, ChunkSource& chunks) override;

 private:
  struct Shard;
  struct Proposal;
  struct Pending;
  struct Request;
  struct ApplyBatch;
  struct Install;

  Status open_shard_locked(ShardId id, std::vector<NodeId> bootstrap);
  void run_loop();
  void run_applier();
  void handle_ready(std::vector<std::pair<Shard*, raft::Ready>>& readies);
  // Loop thread: fails the proposals whose entries `entries` replace in
  // this replica's log (into `failed`), and those pending too long.
  void fail_replaced(Shard& s, const std::vector<raft::Entry>& entries, std::vector<Callback>& failed);
  void fail_expired(std::vector<Shard*>& shards);
  void apply(ApplyBatch& b);
  void start_snapshot(Shard& s, NodeId to);
  void maybe_compact(Shard& s);
  void install(ApplyBatch& b);
  void compact(ApplyBatch& b);
  // Clears the shard's state, ingests `path` (if any) and records `index` as
  // applied; idempotent, so recovery can redo it.
  Status install_data(ShardId id, const std::string& path, LogIndex index);
  Shard* create_on_demand_locked(ShardId id);
  // Loop thread: drops replicas that are removed and idle.
  void collect_removed(std::vector<Shard*>& shards);
  void refresh_status(Shard& s);
  void enqueue(Request r);

  storage::Engine& engine_;
  const ShardHostOptions opts_;
  const MachineFactory factory_;

  mutable std::mutex mu_;
  std::condition_variable loop_cv_;             // the loop waits for input
  std::condition_variable space_cv_;            // proposers wait for room
  mutable std::condition_variable applied_cv_;  // readers wait for applies
  std::condition_variable apply_cv_;            // the applier waits for work
  std::deque<Proposal> proposals_;
  size_t proposal_bytes_ = 0;
  std::deque<Request> requests_;
  std::deque<std::pair<ShardId, std::vector<raft::Message>>> messages_;
  std::deque<std::unique_ptr<ApplyBatch>> to_apply_;
  std::deque<std::unique_ptr<Install>> installs_;                 // received snapshots
  std::deque<std::tuple<ShardId, NodeId, bool>> snapshot_reports_;  // sends finished
  std::deque<std::pair<ShardId, LogIndex>> compacted_;             // applier → loop
  int snapshot_receivers_ = 0;  // on_snapshot calls in progress
  std::condition_variable receivers_cv_;
  uint64_t next_staging_ = 1;
  bool stopping_ = false;
  bool loop_done_ = false;
  std::unordered_map<ShardId, std::unique_ptr<Shard>> shards_;
  std::vector<ShardId> to_remove_;                   // remove_replica requests
  std::vector<std::unique_ptr<Shard>> retired_;      // removed; waiters may hold them
  const ApplyBatch* applying_ = nullptr;             // the batch the applier is on
  Stats stats_;
  RateLimiter snapshot_limiter_{opts_.snapshot_bytes_per_s};
  uint64_t next_context_ = 1;
  std::thread applier_;
  std::thread loop_;
};

}  // namespace tessera::shard
