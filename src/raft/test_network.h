#pragma once
// TestNetwork: a deterministic, single-threaded harness for raft tests.
//
// Owns Raft instances with ids 1..N (the first `founders` bootstrap the
// group's config; later ones join empty through add_node), plays the driver
// role for each (persists Ready output into an in-memory "disk" of snapshot
// meta + entries, applies committed entries, compacts on request, streams
// snapshots, queues messages) and delivers messages in FIFO order.
// Partitions and random drops are driven by the harness's own seed, so a
// failing seed replays exactly.
//
// Checked on every step: at most one leader per term (§5.2 Election Safety),
// every node applies the same entry at each index (§5.4.3 State Machine
// Safety), a new leader holds every applied entry it has not compacted
// (Leader Completeness), and the persisted log equals the in-memory log
// after advance().

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "raft/raft.h"

namespace tessera::raft::test_support {

// prefix + n, built by appending (GCC 12 -O3 warns falsely on operator+ here).
inline std::string numbered(std::string prefix, uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

class TestNetwork {
 public:
  struct Node {
    std::unique_ptr<Raft> raft;
    bool founder = false;
    HardState hard_state;
    std::optional<SnapshotMeta> disk_snapshot;
    std::vector<Entry> disk;
    // The state machine: every entry applied, in order (a snapshot install
    // copies the sender's prefix).
    std::vector<Entry> applied;
    std::vector<ReadState> read_states;
    // Snapshot data received but not yet accepted in a Ready, by index.
    std::map<uint64_t, std::vector<Entry>> incoming_snapshots;
    int group = 0;
  };

  TestNetwork(size_t n, uint64_t seed, Config config = {})
      : config_(config), seed_(seed), rng_(seed ^ 0x5eed) {
    for (size_t i = 1; i <= n; ++i) bootstrap_.voters.push_back(NodeId(i));
    for (size_t i = 1; i <= n; ++i) {
      Node node;
      node.founder = true;
      node.raft = std::make_unique<Raft>(NodeId(i), config_, seed_ * 1000 + i,
                                         RestoredState{.conf = bootstrap_});
      nodes_.push_back(std::move(node));
    }
  }

  // A brand-new, empty replica (not a member until a conf change adds it).
  uint64_t add_node() {
    uint64_t id = nodes_.size() + 1;
    Node node;
    node.raft = std::make_unique<Raft>(NodeId(id), config_, seed_ * 1000 + id, RestoredState{});
    nodes_.push_back(std::move(node));
    return id;
  }

  // Crash and restart `id` from what it persisted. Messages already in
  // flight are still delivered.
  void restart(uint64_t id) {
    Node& n = node(id);
    RestoredState restored{.hard_state = n.hard_state, .snapshot = n.disk_snapshot,
                           .conf = n.founder ? bootstrap_ : ConfState{}, .entries = n.disk,
                           .applied = LogIndex(n.applied.size())};
    n.incoming_snapshots.clear();
    n.raft = std::make_unique<Raft>(NodeId(id), config_, seed_ * 1000 + id + ++restarts_ * 7919,
                                    std::move(restored));
  }

  // The driver of `id` compacts its log (memory and disk) up to `index`.
  void compact(uint64_t id, LogIndex index) {
    Node& n = node(id);
    std::optional<SnapshotMeta> meta = n.raft->snapshot_meta_at(index);
    ASSERT_TRUE(meta.has_value());
    n.raft->compact(index);
    n.disk_snapshot = meta;
    std::erase_if(n.disk, [&](const Entry& e) { return e.index <= index; });
  }
  void compact_to_applied(uint64_t id) { compact(id, raft(id).applied_index()); }

  Node& node(uint64_t id) { return nodes_.at(id - 1); }
  Raft& raft(uint64_t id) { return *node(id).raft; }
  size_t size() const { return nodes_.size(); }

  // Only nodes in the same group can talk to each other.
  void set_group(uint64_t id, int group) { node(id).group = group; }
  void isolate(uint64_t id) { set_group(id, next_group_++); }
  void heal() {
    for (Node& n : nodes_) n.group = 0;
  }
  // Probability in [0, 1] that any message is lost.
  void set_drop_rate(double rate) { drop_per_million_ = static_cast<uint64_t>(rate * 1e6); }

  void tick_one(uint64_t id) {
    raft(id).tick();
    process();
  }
  void tick_all() {
    for (Node& n : nodes_) n.raft->tick();
    process();
  }
  void run_ticks(int ticks) {
    for (int i = 0; i < ticks; ++i) tick_all();
  }

  // Drains every Ready and delivers messages until the network is quiet.
  void process() {
    for (int steps = 0; steps < 1'000'000; ++steps) {
      collect();
      if (::testing::Test::HasFatalFailure()) return;
      if (queue_.empty()) return;
      Message m = std::move(queue_.front());
      queue_.pop_front();
      if (recording_) sent_.push_back(m);
      if (m.to.value == 0 || m.to.value > nodes_.size()) continue;
      bool lost = node(m.from.value).group != node(m.to.value).group ||
                  (drop_per_million_ > 0 && next_random() % 1'000'000 < drop_per_million_);
      if (m.type == MessageType::snapshot) {
        deliver_snapshot(m, lost);
      } else if (!lost) {
        raft(m.to.value).step(m);
      }
      check_leaders();
      if (::testing::Test::HasFatalFailure()) return;
    }
    FAIL() << "network did not quiesce";
  }

  // The single leader of the highest term among nodes, or 0 if none.
  uint64_t leader() const {
    uint64_t best = 0;
    Term best_term;
    for (const Node& n : nodes_) {
      if (n.raft->role() == Role::leader && (best == 0 || n.raft->term() > best_term)) {
        best = n.raft->id().value;
        best_term = n.raft->term();
      }
    }
    return best;
  }
  size_t leader_count() const {
    size_t count = 0;
    for (const Node& n : nodes_) count += n.raft->role() == Role::leader ? 1 : 0;
    return count;
  }
  // Ticks until `done()` holds; false if it never did within `max_ticks`.
  template <typename Pred>
  bool tick_until(Pred done, int max_ticks = 300) {
    for (int i = 0; i < max_ticks && !done(); ++i) tick_all();
    return done();
  }
  // Ticks until the leader committed `index` and every node in `ids` applied
  // it; false on timeout.
  bool wait_applied(const std::vector<uint64_t>& ids, LogIndex index, int max_ticks = 300) {
    return tick_until([&] {
      for (uint64_t id : ids) {
        if (node(id).applied.size() < index.value) return false;
      }
      return true;
    }, max_ticks);
  }
  // Ticks until some node leads; 0 if none after `max_ticks`.
  uint64_t elect(int max_ticks = 200) {
    for (int i = 0; i < max_ticks && leader() == 0; ++i) tick_all();
    return leader();
  }

  // Payloads (non-empty normal entries) applied by `id`, in order.
  std::vector<std::string> applied_data(uint64_t id) {
    std::vector<std::string> out;
    for (const Entry& e : node(id).applied) {
      if (e.type == EntryType::normal && !e.data.empty()) out.push_back(e.data);
    }
    return out;
  }
  const std::vector<Entry>& committed_history() const { return history_; }
  // Snapshots accepted by followers (Ready.snapshot) so far.
  uint64_t snapshot_installs() const { return snapshot_installs_; }
  // While recording, every message taken off the queue (delivered or not).
  void record(bool on) {
    recording_ = on;
    sent_.clear();
  }
  const std::vector<Message>& sent() const { return sent_; }

 private:
  uint64_t next_random() {
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Plays both drivers of a snapshot transfer (raft.h contract, step 2): the
  // sender streams its current applied state and the receiver steps a
  // snapshot message for that state.
  void deliver_snapshot(const Message& m, bool lost) {
    Node& from = node(m.from.value);
    if (lost) {
      from.raft->report_snapshot(m.to, false);
      return;
    }
    std::optional<SnapshotMeta> meta = from.raft->snapshot_meta_at(LogIndex(from.applied.size()));
    ASSERT_TRUE(meta.has_value());
    Node& to = node(m.to.value);
    to.incoming_snapshots[meta->index.value] = from.applied;
    Message delivered = m;
    delivered.snapshot = meta;
    to.raft->step(delivered);
    from.raft->report_snapshot(m.to, true);
  }

  void collect() {
    for (Node& n : nodes_) {
      if (!n.raft->has_ready()) continue;
      Ready ready = n.raft->take_ready();
      if (ready.snapshot) {
        auto it = n.incoming_snapshots.find(ready.snapshot->index.value);
        ASSERT_NE(it, n.incoming_snapshots.end()) << "snapshot accepted without data";
        ASSERT_GE(it->second.size(), n.applied.size()) << "snapshot moves the state back";
        for (const Entry& e : it->second) check_history(e);
        n.applied = std::move(it->second);
        n.incoming_snapshots.clear();
        n.disk_snapshot = ready.snapshot;
        n.disk.clear();
        ++snapshot_installs_;
      }
      if (!ready.entries.empty()) {
        uint64_t base = n.disk_snapshot ? n.disk_snapshot->index.value : 0;
        ASSERT_GT(ready.entries.front().index.value, base);
        n.disk.resize(std::min<uint64_t>(n.disk.size(), ready.entries.front().index.value - base - 1));
        for (Entry& e : ready.entries) n.disk.push_back(e);
      }
      if (ready.hard_state) n.hard_state = *ready.hard_state;
      for (Message& m : ready.messages) queue_.push_back(std::move(m));
      for (Entry& e : ready.committed) apply(n, std::move(e));
      for (const ReadState& rs : ready.read_states) n.read_states.push_back(rs);
      n.raft->advance();
      const RaftLog& log = n.raft->log();
      uint64_t base = n.disk_snapshot ? n.disk_snapshot->index.value : 0;
      ASSERT_EQ(base + n.disk.size(), log.last_index().value);
      for (const Entry& e : n.disk) {
        if (e.index > log.snapshot_index()) {
          ASSERT_EQ(e, log.at(e.index));
        }
      }
    }
  }

  void check_history(const Entry& e) {
    if (e.index.value <= history_.size()) {
      ASSERT_EQ(history_[e.index.value - 1], e) << "state machine safety violated at index "
                                               << e.index.value;
    } else {
      ASSERT_EQ(e.index.value, history_.size() + 1);
      history_.push_back(e);
    }
  }

  void apply(Node& n, Entry e) {
    ASSERT_EQ(e.index.value, n.applied.size() + 1) << "node " << n.raft->id().value;
    check_history(e);
    n.applied.push_back(std::move(e));
  }

  void check_leaders() {
    for (const Node& n : nodes_) {
      if (n.raft->role() != Role::leader) continue;
      auto [it, inserted] = leaders_.emplace(n.raft->term().value, n.raft->id().value);
      ASSERT_EQ(it->second, n.raft->id().value) << "two leaders in term " << it->first;
      if (inserted) {
        const RaftLog& log = n.raft->log();
        ASSERT_GE(log.last_index().value, history_.size())
            << "leader " << n.raft->id().value << " lacks committed entries";
        for (const Entry& e : history_) {
          if (e.index < log.snapshot_index()) continue;
          ASSERT_TRUE(log.matches(e.index, e.term))
              << "leader " << n.raft->id().value << " lacks committed index " << e.index.value;
        }
      }
    }
  }

  ConfState bootstrap_;
  Config config_;
  uint64_t seed_;
  uint64_t restarts_ = 0;
  uint64_t snapshot_installs_ = 0;
  std::vector<Node> nodes_;
  std::deque<Message> queue_;
  bool recording_ = false;
  std::vector<Message> sent_;
  std::map<uint64_t, uint64_t> leaders_;  // term -> leader id
  std::vector<Entry> history_;            // the applied sequence all nodes share
  uint64_t rng_;
  uint64_t drop_per_million_ = 0;
  int next_group_ = 1;
};

}  // namespace tessera::raft::test_support
