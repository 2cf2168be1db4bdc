#pragma once
// TestNetwork: a deterministic, single-threaded harness for raft tests.
//
// Owns N Raft instances (ids 1..N), plays the driver role for each (persists
// Ready output into an in-memory "disk", applies committed entries, queues
// messages) and delivers messages in FIFO order. Partitions and random drops
// are driven by the harness's own seed, so a failing seed replays exactly.
//
// Checked on every step: at most one leader per term (§5.2 Election Safety),
// every node applies the same entry at each index (§5.4.3 State Machine
// Safety), a new leader holds every applied entry (Leader Completeness), and
// the persisted log equals the in-memory log after advance().

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "raft/raft.h"

namespace tessera::raft::test_support {

class TestNetwork {
 public:
  struct Node {
    std::unique_ptr<Raft> raft;
    HardState hard_state;
    std::vector<Entry> disk;
    std::vector<Entry> applied;
    int group = 0;
  };

  TestNetwork(size_t n, uint64_t seed, Config config = {})
      : config_(config), seed_(seed), rng_(seed ^ 0x5eed) {
    for (size_t i = 1; i <= n; ++i) voters_.push_back(NodeId(i));
    for (size_t i = 1; i <= n; ++i) {
      Node node;
      node.raft = std::make_unique<Raft>(NodeId(i), voters_, config_, seed_ * 1000 + i,
                                         RestoredState{});
      nodes_.push_back(std::move(node));
    }
  }

  // Crash and restart `id` from what it persisted. Messages already in
  // flight are still delivered.
  void restart(uint64_t id) {
    Node& n = node(id);
    RestoredState restored{.hard_state = n.hard_state, .entries = n.disk,
                           .applied = LogIndex(n.applied.size())};
    n.raft = std::make_unique<Raft>(NodeId(id), voters_, config_, seed_ * 1000 + id + ++restarts_,
                                    std::move(restored));
  }

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
      if (queue_.empty()) return;
      Message m = std::move(queue_.front());
      queue_.pop_front();
      if (node(m.from.value).group != node(m.to.value).group) continue;
      if (drop_per_million_ > 0 && next_random() % 1'000'000 < drop_per_million_) continue;
      raft(m.to.value).step(m);
      check_leaders();
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
  // Ticks until some node leads; 0 if none after `max_ticks`.
  uint64_t elect(int max_ticks = 200) {
    for (int i = 0; i < max_ticks && leader() == 0; ++i) tick_all();
    return leader();
  }

  // Payloads (non-empty data) applied by `id`, in order.
  std::vector<std::string> applied_data(uint64_t id) {
    std::vector<std::string> out;
    for (const Entry& e : node(id).applied) {
      if (!e.data.empty()) out.push_back(e.data);
    }
    return out;
  }
  const std::vector<Entry>& committed_history() const { return history_; }

 private:
  uint64_t next_random() {
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  void collect() {
    for (Node& n : nodes_) {
      if (!n.raft->has_ready()) continue;
      Ready ready = n.raft->take_ready();
      if (ready.hard_state) n.hard_state = *ready.hard_state;
      if (!ready.entries.empty()) {
        n.disk.resize(ready.entries.front().index.value - 1);
        for (Entry& e : ready.entries) n.disk.push_back(e);
      }
      for (Message& m : ready.messages) queue_.push_back(std::move(m));
      for (Entry& e : ready.committed) apply(n, std::move(e));
      n.raft->advance();
      const RaftLog& log = n.raft->log();
      ASSERT_EQ(n.disk.size(), log.last_index().value);
      for (const Entry& e : n.disk) ASSERT_EQ(e, log.at(e.index));
    }
  }

  void apply(Node& n, Entry e) {
    ASSERT_EQ(e.index.value, n.applied.size() + 1) << "node " << n.raft->id().value;
    if (e.index.value <= history_.size()) {
      ASSERT_EQ(history_[e.index.value - 1], e) << "state machine safety violated at index "
                                               << e.index.value;
    } else {
      history_.push_back(e);
    }
    n.applied.push_back(std::move(e));
  }

  void check_leaders() {
    for (const Node& n : nodes_) {
      if (n.raft->role() != Role::leader) continue;
      auto [it, inserted] = leaders_.emplace(n.raft->term().value, n.raft->id().value);
      ASSERT_EQ(it->second, n.raft->id().value) << "two leaders in term " << it->first;
      if (inserted) {
        for (const Entry& e : history_) {
          ASSERT_TRUE(n.raft->log().matches(e.index, e.term))
              << "leader " << n.raft->id().value << " lacks committed index " << e.index.value;
        }
      }
    }
  }

  std::vector<NodeId> voters_;
  Config config_;
  uint64_t seed_;
  uint64_t restarts_ = 0;
  std::vector<Node> nodes_;
  std::deque<Message> queue_;
  std::map<uint64_t, uint64_t> leaders_;  // term -> leader id
  std::vector<Entry> history_;            // the applied sequence all nodes share
  uint64_t rng_;
  uint64_t drop_per_million_ = 0;
  int next_group_ = 1;
};

}  // namespace tessera::raft::test_support
