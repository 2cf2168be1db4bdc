#pragma once
// SimNode: one simulated server: a raft::Raft, the sim driver that honours
// the Ready contract against a SimDisk, and a KvStateMachine.
//
// Driver loop (raft.h contract): take a Ready, write hard state, snapshot and
// entries to the disk as one batch, and after a random fsync latency (a crash
// may hit in between and lose the batch) send the messages, install an
// accepted snapshot, apply committed entries, answer read-index reads,
// advance(). Leader snapshot messages are intercepted and shipped with a copy
// of the current applied state. Between Readys the driver may compact: it
// makes a snapshot of the applied state durable, then calls compact().
//
// A crash drops the Raft, the state machine and every volatile table; the
// disk survives. Owned by Cluster; single-threaded.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "raft/raft.h"
#include "sim/history.h"
#include "sim/sim_disk.h"
#include "sim/state_machine.h"

namespace tessera::sim {

class Cluster;

class SimNode {
 public:
  enum class Status : uint8_t { up, down, stopped };

  SimNode(Cluster& cluster, raft::NodeId id);

  // (Re)starts from the disk's synced image.
  void start();
  // Power loss: volatile state gone, unsynced writes partly lost.
  void crash();
  // Permanently shut down (removed from the group).
  void stop();

  void tick();
  void deliver(const raft::Message& m);
  void deliver_snapshot(const raft::Message& m, const KvStateMachine& state);
  void snapshot_reported(raft::NodeId peer, bool ok, uint64_t incarnation);
  void client_request(const Op& op);
  // Operator actions on this node's raft (then drains its output).
  Result<raft::LogIndex> propose_conf_change(raft::ConfChange change);
  void transfer_leadership(raft::NodeId to);

  raft::NodeId id() const { return id_; }
  Status status() const { return status_; }
  bool up() const { return status_ == Status::up; }
  uint64_t incarnation() const { return incarnation_; }
  raft::Raft& raft() { return *raft_; }
  const raft::Raft& raft() const { return *raft_; }
  const KvStateMachine& state() const { return sm_; }
  const SimDisk& disk() const { return disk_; }
  bool idle() const { return up() && !ready_ && !raft_->has_ready(); }

 private:
  // Drains raft output: takes a Ready if none is outstanding.
  void pump();
  void on_synced(uint64_t incarnation);
  void send_messages(std::vector<raft::Message>& messages);
  void apply(const raft::Entry& e);
  void serve_reads();
  void maybe_compact();
  void check_log_persisted();

  Cluster& cluster_;
  const raft::NodeId id_;
  Status status_ = Status::down;
  uint64_t incarnation_ = 0;
  SimDisk disk_;
  std::unique_ptr<raft::Raft> raft_;
  KvStateMachine sm_;
  std::optional<raft::Ready> ready_;  // taken, not yet advanced
  uint64_t compact_every_ = 0;        // entries between local snapshots

  std::map<raft::LogIndex, uint64_t> pending_writes_;       // log index -> op id
  std::map<uint64_t, uint64_t> pending_reads_;              // read_index context -> op id
  std::vector<std::pair<raft::LogIndex, uint64_t>> waiting_reads_;  // read index, op id
  std::map<raft::LogIndex, KvStateMachine> incoming_;       // received snapshots by index
  std::set<raft::NodeId> streaming_;                        // peers a snapshot is going to
};

}  // namespace tessera::sim
