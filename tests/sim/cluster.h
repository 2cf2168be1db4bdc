#pragma once
// Cluster: one deterministic simulation of a raft group in virtual time.
//
// Owns the event queue (virtual microseconds; ties broken by insertion
// order), the network (per-link one-way blocks, loss, duplication, delay and
// so reordering), every SimNode, the clients and the nemesis (crashes,
// partitions, clock drift, membership changes, leader transfers). All
// randomness comes from one Prng seeded by SimOptions::seed.
//
// Checked after every event: election safety (at most one leader per term,
// §5.2); on every apply, state machine safety (one entry and one state digest
// per index, §5.4.3); on every persisted Ready, log matching (an (index,
// term) pair always names the same entry with the same predecessor term, so
// by induction the same prefix, §5.3). After the fault phase everything is
// healed and the cluster must converge (liveness); then the workload
// checkers run. A violation throws SimFailure out of run().
//
// Single-threaded; one Cluster per run.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "sim/history.h"
#include "sim/options.h"
#include "sim/prng.h"
#include "sim/state_machine.h"

namespace tessera::sim {

class SimNode;
class Workload;

struct SimFailure : std::runtime_error {
  SimFailure(std::string property, const std::string& detail)
      : std::runtime_error(detail), property(std::move(property)) {}
  std::string property;
};

struct RunStats {
  uint64_t events = 0;
  uint64_t virtual_us = 0;
  uint64_t ops_ok = 0, ops_failed = 0, ops_unknown = 0;
  uint64_t crashes = 0, snapshots_sent = 0, snapshots_installed = 0, compactions = 0;
  uint64_t conf_changes = 0, transfers = 0, leaders = 0;
  size_t lin_keys = 0, lin_ops = 0, lin_inconclusive = 0;
};

class Cluster {
 public:
  explicit Cluster(const SimOptions& options);
  ~Cluster();

  // Runs the fault phase, heals, checks liveness and the workload checkers.
  RunStats run();
  // The last trace records, oldest first, one per line.
  std::string trace_tail(size_t count) const;

  // --- used by SimNode and Workload ---
  const SimOptions& options() const { return options_; }
  uint64_t now() const { return now_; }
  Prng& rng() { return rng_; }
  bool healed() const { return healed_; }
  RunStats& stats() { return stats_; }
  History& history() { return history_; }
  const std::vector<raft::Entry>& committed() const { return committed_; }
  const raft::ConfState& bootstrap_conf() const { return bootstrap_; }
  // The raft configuration of this run (randomized per seed).
  const raft::Config& raft_config() const { return raft_config_; }

  void schedule(uint64_t delay_us, std::function<void()> fn);
  void trace(const char* what, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0,
             std::string note = {});
  [[noreturn]] void fail(const std::string& property, const std::string& detail);

  SimNode* node(raft::NodeId id);
  const std::map<uint64_t, std::unique_ptr<SimNode>>& nodes() const { return nodes_; }
  // Creates and starts a node that is not yet a member (to be added).
  SimNode& add_node();
  // Power loss of one node; it restarts 20 ms to `max_down_us` later.
  void crash_node(uint64_t id, uint64_t max_down_us = 2'000'000);
  // The up node that is leader of the highest term, if any.
  SimNode* leader();

  // Network. Raft messages and snapshot transfers between nodes.
  void send(raft::Message m);
  void send_snapshot(raft::Message m, const KvStateMachine& state);
  // A node answers client op `op_id`.
  void reply(uint64_t op_id, Outcome outcome, const std::string& result, raft::NodeId hint);

  // Checks, called by SimNode.
  void on_written(raft::NodeId node, raft::Term prev_term, const std::vector<raft::Entry>& entries);
  void on_applied(raft::NodeId node, const raft::Entry& entry, uint64_t digest);
  void on_snapshot_installed(raft::NodeId node, const KvStateMachine& state);

 private:
  struct Event {
    uint64_t time;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  struct TraceRec {
    uint64_t time;
    const char* what;
    uint64_t a, b, c, d;
    std::string note;
  };

  void run_event();
  void tick_loop(uint64_t id);
  void nemesis();
  void heal();
  bool converged(std::string* why);
  std::string describe_nodes() const;
  void check_leaders();
  void final_checks();
  uint64_t message_delay();
  bool link_up(uint64_t from, uint64_t to) const;

  SimOptions options_;
  Prng rng_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;

  raft::ConfState bootstrap_;
  raft::Config raft_config_;
  std::map<uint64_t, std::unique_ptr<SimNode>> nodes_;
  std::map<uint64_t, double> tick_rate_;  // clock speed factor per node
  std::unique_ptr<Workload> workload_;

  std::set<std::pair<uint64_t, uint64_t>> blocked_;  // (from, to) one-way blocks
  double loss_ = 0, dup_ = 0, slow_ = 0;
  bool healed_ = false;

  History history_;
  std::vector<raft::Entry> committed_;  // committed_[i] is the entry at index i + 1
  std::vector<uint64_t> digests_;       // state digest after applying index i + 1
  std::map<uint64_t, uint64_t> leaders_;  // term -> leader
  struct LogKey {
    uint64_t data_hash;
    uint64_t prev_term;
  };
  std::map<std::pair<uint64_t, uint64_t>, LogKey> log_;  // (index, term) -> entry

  std::deque<TraceRec> trace_;
  RunStats stats_;
};

}  // namespace tessera::sim
