#include "shard/shard_host.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "base/coding.h"
#include "storage/test_engine.h"
#include "tessera/internal/state.pb.h"

namespace tessera::shard {
namespace {

using namespace std::chrono_literals;

// Test state machine: CreateUserOp{name} appends `name` to key "log" and
// fails (with a write that must be rolled back) when name == "bad".
class AppendMachine : public StateMachine {
 public:
  void apply(LogIndex index, const internal::Command& cmd, storage::StateWriter& state,
             internal::CommandResult& result) override {
    auto cur = state.get("log");
    std::string v = cur->has_value() ? **cur : "";
    v += cmd.create_user().name() + ";";
    state.put("log", v);
    if (cmd.create_user().name() == "bad") {
      result.set_errc(static_cast<uint32_t>(Errc::invalid_argument));
      return;
    }
    result.set_message(std::to_string(index.value));
  }
};

ShardHost::MachineFactory append_machines() {
  return [](ShardId) { return std::make_unique<AppendMachine>(); };
}

internal::Command named(const std::string& name) {
  internal::Command c;
  c.mutable_create_user()->set_name(name);
  return c;
}

std::string read_log(ShardHost& host, ShardId id) {
  auto snap = host.snapshot();
  storage::SnapshotReader r(*snap, id);
  auto v = r.get("log");
  return v->has_value() ? **v : "";
}

// Polls `pred` for up to `timeout`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class ShardHostTest : public ::testing::Test {
 protected:
  storage::TestEngine engine_{"shard"};
};

TEST_F(ShardHostTest, AppliesInOrderAndReturnsResults) {
  ShardHost host(*engine_, {}, append_machines());
  ASSERT_TRUE(host.add_shard(ShardId(1), {NodeId(1)}).is_ok());
  // Index 1 is the leader's no-op entry.
  EXPECT_EQ(host.propose_wait(ShardId(1), named("a")).message(), "2");
  EXPECT_EQ(host.propose_wait(ShardId(1), named("b")).message(), "3");
  EXPECT_EQ(read_log(host, ShardId(1)), "a;b;");
  EXPECT_EQ(host.applied_index(ShardId(1)), LogIndex(3));
  EXPECT_TRUE(host.read_barrier(ShardId(1), 1000).is_ok());
}

TEST_F(ShardHostTest, FailedCommandLeavesNoWrites) {
  ShardHost host(*engine_, {}, append_machines());
  ASSERT_TRUE(host.add_shard(ShardId(1), {NodeId(1)}).is_ok());
  (void)host.propose_wait(ShardId(1), named("a"));
  auto r = host.propose_wait(ShardId(1), named("bad"));
  EXPECT_EQ(r.errc(), static_cast<uint32_t>(Errc::invalid_argument));
  (void)host.propose_wait(ShardId(1), named("c"));
  EXPECT_EQ(read_log(host, ShardId(1)), "a;c;");
}

TEST_F(ShardHostTest, ConcurrentProposersAcrossShardsAllApplied) {
  ShardHost host(*engine_, {}, append_machines());
  ASSERT_TRUE(host.add_shard(ShardId(1), {NodeId(1)}).is_ok());
  ASSERT_TRUE(host.add_shard(ShardId(2), {NodeId(1)}).is_ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = host.propose_wait(ShardId(1 + t % 2), named("x"));
        EXPECT_EQ(r.errc(), 0u) << r.message();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(host.applied_index(ShardId(1)), LogIndex(201));
  EXPECT_EQ(host.applied_index(ShardId(2)), LogIndex(201));
  EXPECT_LT(host.stats().batches, 400u);  // group commit merged some
}

TEST_F(ShardHostTest, RestartKeepsStateAndReappliesPastTheDurableAppliedIndex) {
  {
    ShardHost host(*engine_, {}, append_machines());
    ASSERT_TRUE(host.add_shard(ShardId(7), {NodeId(1)}).is_ok());
    (void)host.propose_wait(ShardId(7), named("a"));
    (void)host.propose_wait(ShardId(7), named("b"));
  }
  // A crash that lost the (unlogged) apply of both entries: the state and the
  // applied index are older than the log.
  {
    storage::WriteBatch b;
    std::string applied = storage::shard_prefix(ShardId(7)) + std::string("\0applied", 8);
    std::string zero;
    put_be64(zero, 1);
    b.put(storage::Cf::state, applied, zero);
    b.del(storage::Cf::state, storage::shard_prefix(ShardId(7)) + "log");
    ASSERT_TRUE(engine_->write(b, true).is_ok());
  }
  engine_.reopen();
  ShardHost host(*engine_, {}, append_machines());
  ASSERT_TRUE(host.add_shard(ShardId(7), {NodeId(1)}).is_ok());
  ASSERT_TRUE(eventually([&] { return host.applied_index(ShardId(7)) >= LogIndex(3); }));
  EXPECT_EQ(read_log(host, ShardId(7)), "a;b;");
  ASSERT_TRUE(eventually([&] { return host.status(ShardId(7))->role == raft::Role::leader; }));
  auto r = host.propose_wait(ShardId(7), named("c"));
  EXPECT_EQ(r.errc(), 0u) << r.message();
  EXPECT_EQ(read_log(host, ShardId(7)), "a;b;c;");
}

TEST_F(ShardHostTest, RefusesOversizedCommandsAndUnknownShards) {
  ShardHostOptions opts;
  opts.command_bytes_max = 100;
  ShardHost host(*engine_, opts, append_machines());
  ASSERT_TRUE(host.add_shard(ShardId(1), {NodeId(1)}).is_ok());
  EXPECT_EQ(host.propose_wait(ShardId(1), named(std::string(200, 'x'))).errc(),
            static_cast<uint32_t>(Errc::too_large));
  EXPECT_EQ(host.propose_wait(ShardId(9), named("a")).errc(),
            static_cast<uint32_t>(Errc::not_leader));
  EXPECT_EQ(read_log(host, ShardId(1)), "");
}

// ---------------------------------------------------------------------------
// Several hosts in one process, connected by an in-memory transport.

class LocalNetwork {
 public:
  class Link : public Transport {
   public:
    Link(LocalNetwork& net, NodeId self) : net_(net), self_(self) {}
    void send(NodeId to, std::string batch) override { net_.deliver(self_, to, std::move(batch)); }
    void send_snapshot(NodeId to, std::string header, std::unique_ptr<ChunkSource> source,
                       std::function<void(Status)> done) override {
      net_.snapshot(self_, to, std::move(header), std::move(source), std::move(done));
    }

   private:
    LocalNetwork& net_;
    NodeId self_;
  };

  Transport* link(NodeId id) {
    std::lock_guard lk(mu_);
    auto& l = links_[id];
    if (!l) l = std::make_unique<Link>(*this, id);
    return l.get();
  }
  void attach(NodeId id, TransportHandler* h) {
    std::lock_guard lk(mu_);
    handlers_[id] = h;
  }
  void detach(NodeId id) {
    std::lock_guard lk(mu_);
    handlers_.erase(id);
  }
  // Messages from or to `id` are dropped while it is isolated.
  void isolate(NodeId id, bool on) {
    std::lock_guard lk(mu_);
    if (on) {
      isolated_.insert(id);
    } else {
      isolated_.erase(id);
    }
  }

 private:
  void deliver(NodeId from, NodeId to, std::string batch) {
    TransportHandler* h = nullptr;
    {
      std::lock_guard lk(mu_);
      if (isolated_.count(from) || isolated_.count(to)) return;
      auto it = handlers_.find(to);
      if (it == handlers_.end()) return;
      h = it->second;
      // The handler is used outside the lock; detach() waits for this.
      ++in_flight_;
    }
    h->on_raft(std::move(batch));
    std::lock_guard lk(mu_);
    --in_flight_;
    idle_cv_.notify_all();
  }
  void snapshot(NodeId from, NodeId to, std::string header, std::unique_ptr<ChunkSource> source,
                std::function<void(Status)> done) {
    std::thread([this, from, to, header = std::move(header), source = std::move(source),
                 done = std::move(done)]() mutable {
      TransportHandler* h = nullptr;
      {
        std::lock_guard lk(mu_);
        auto it = handlers_.find(to);
        if (isolated_.count(from) || isolated_.count(to) || it == handlers_.end()) {
          done(Status(Errc::unavailable, "unreachable"));
          return;
        }
        h = it->second;
      }
      done(h->on_snapshot(header, *source));
    }).detach();
  }

  std::mutex mu_;
  std::condition_variable idle_cv_;
  int in_flight_ = 0;
  std::map<NodeId, std::unique_ptr<Link>> links_;
  std::map<NodeId, TransportHandler*> handlers_;
  std::set<NodeId> isolated_;
};

class ClusterTest : public ::testing::Test {
 protected:
  static constexpr ShardId kShard{1};

  void SetUp() override {
    for (int i = 1; i <= 3; ++i) engines_.push_back(std::make_unique<storage::TestEngine>("shard" + std::to_string(i)));
    for (int i = 1; i <= 3; ++i) start(NodeId(i), {NodeId(1), NodeId(2), NodeId(3)});
  }
  void TearDown() override {
    for (auto& [id, h] : hosts_) net_.detach(id);
    hosts_.clear();
  }

  void start(NodeId id, std::vector<NodeId> bootstrap) {
    ShardHostOptions opts;
    opts.self = id;
    opts.transport = net_.link(id);
    opts.tick_ms = 10;
    // Small, so that compaction and snapshots happen in every test.
    opts.compact_entries = 20;
    opts.snapshot_chunk_bytes = 64;
    auto host = std::make_unique<ShardHost>(**engines_.at(id.value - 1), opts, append_machines());
    ASSERT_TRUE(host->add_shard(kShard, bootstrap).is_ok());
    net_.attach(id, host.get());
    hosts_[id] = std::move(host);
  }
  void stop(NodeId id) {
    net_.detach(id);
    hosts_.erase(id);
  }

  // The leader every live host agrees on, or kNoNode.
  NodeId leader() {
    NodeId l;
    for (auto& [id, h] : hosts_) {
      auto st = h->status(kShard);
      if (st && st->role == raft::Role::leader) l = id;
    }
    return l;
  }
  NodeId wait_leader() {
    NodeId l;
    eventually([&] { return (l = leader()) != raft::kNoNode; });
    return l;
  }
  // A leader elected among the others while `old` is cut off.
  NodeId wait_leader_other_than(NodeId old) {
    NodeId l;
    eventually([&] {
      for (auto& [id, h] : hosts_) {
        auto st = h->status(kShard);
        if (id != old && st->role == raft::Role::leader) l = id;
      }
      return l != raft::kNoNode;
    });
    return l;
  }

  LocalNetwork net_;
  std::vector<std::unique_ptr<storage::TestEngine>> engines_;
  std::map<NodeId, std::unique_ptr<ShardHost>> hosts_;
};

TEST_F(ClusterTest, ReplicatesToEveryMember) {
  NodeId l = wait_leader();
  ASSERT_NE(l, raft::kNoNode);
  for (const char* name : {"a", "b", "c"}) {
    auto r = hosts_[l]->propose_wait(kShard, named(name));
    ASSERT_EQ(r.errc(), 0u) << r.message();
  }
  for (auto& [id, h] : hosts_) {
    EXPECT_TRUE(eventually([&] { return read_log(*h, kShard) == "a;b;c;"; })) << "node " << id.value;
  }
  // Followers refuse proposals and reads, naming the leader.
  NodeId follower = l == NodeId(1) ? NodeId(2) : NodeId(1);
  auto r = hosts_[follower]->propose_wait(kShard, named("x"));
  EXPECT_EQ(r.errc(), static_cast<uint32_t>(Errc::not_leader));
  EXPECT_NE(r.message().find("leader is node " + std::to_string(l.value)), std::string::npos) << r.message();
  EXPECT_EQ(hosts_[follower]->read_barrier(kShard, 1000).code(), Errc::not_leader);
  EXPECT_TRUE(hosts_[l]->read_barrier(kShard, 1000).is_ok());
}

TEST_F(ClusterTest, LeaderLossElectsANewLeaderAndKeepsAcknowledgedWrites) {
  NodeId l = wait_leader();
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("a")).errc(), 0u);
  stop(l);
  NodeId l2 = wait_leader();
  ASSERT_NE(l2, raft::kNoNode);
  ASSERT_NE(l2, l);
  auto r = hosts_[l2]->propose_wait(kShard, named("b"));
  ASSERT_EQ(r.errc(), 0u) << r.message();
  // The old leader comes back and catches up.
  start(l, {NodeId(1), NodeId(2), NodeId(3)});
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[l], kShard) == "a;b;"; }));
}

TEST_F(ClusterTest, MinorityCannotCommit) {
  NodeId l = wait_leader();
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("a")).errc(), 0u);
  net_.isolate(l, true);
  // The isolated leader cannot commit; the majority elects another leader.
  std::atomic<bool> answered{false};
  internal::CommandResult cut;
  hosts_[l]->propose(kShard, named("lost"), [&](internal::CommandResult&& r) {
    cut = std::move(r);
    answered = true;
  });
  NodeId l2 = wait_leader_other_than(l);
  ASSERT_NE(l2, raft::kNoNode);
  ASSERT_EQ(hosts_[l2]->propose_wait(kShard, named("b")).errc(), 0u);
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(!answered || cut.errc() != 0) << "a cut-off leader acknowledged a write";
  net_.isolate(l, false);
  // Healed: the old leader's uncommitted entry is replaced, its proposer told so.
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[l], kShard) == "a;b;"; }));
  EXPECT_TRUE(eventually([&] { return answered.load(); }));
  EXPECT_NE(cut.errc(), 0u);
  for (auto& [id, h] : hosts_) EXPECT_EQ(read_log(*h, kShard), "a;b;") << "node " << id.value;
}

TEST_F(ClusterTest, ProposalsBeyondTheNewLeadersLogAreAnsweredToo) {
  // A cut-off leader proposes three entries; the new leader writes fewer,
  // so nothing is ever applied at the old leader's last indexes. The
  // proposers are still answered (outcome unknown) once the healed old
  // leader's log is overwritten — not left waiting (a streamed file write
  // waits for every command it has in flight).
  NodeId l = wait_leader();
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("a")).errc(), 0u);
  net_.isolate(l, true);
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  for (const char* name : {"lost1", "lost2", "lost3"}) {
    hosts_[l]->propose(kShard, named(name), [&](internal::CommandResult&& r) {
      if (r.errc() != 0) ++failed;
      ++answered;
    });
  }
  NodeId l2 = wait_leader_other_than(l);
  ASSERT_NE(l2, raft::kNoNode);
  ASSERT_EQ(hosts_[l2]->propose_wait(kShard, named("b")).errc(), 0u);
  net_.isolate(l, false);
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[l], kShard) == "a;b;"; }));
  // Well within the 10 s command timeout: answered because replaced.
  EXPECT_TRUE(eventually([&] { return answered.load() == 3; }, 3s)) << answered.load() << " of 3 answered";
  EXPECT_EQ(failed.load(), 3);
}

TEST_F(ClusterTest, NewMemberJoinsThroughAMembershipChange) {
  NodeId l = wait_leader();
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("a")).errc(), 0u);
  // Node 4 holds no replica; the leader adds it as a learner, the leader's
  // first append creates it, and the log brings it up to date.
  engines_.push_back(std::make_unique<storage::TestEngine>("shard4"));
  ShardHostOptions opts;
  opts.self = NodeId(4);
  opts.transport = net_.link(NodeId(4));
  opts.tick_ms = 10;
  opts.compact_entries = 20;
  hosts_[NodeId(4)] = std::make_unique<ShardHost>(**engines_.back(), opts, append_machines());
  net_.attach(NodeId(4), hosts_[NodeId(4)].get());
  ASSERT_TRUE(hosts_[l]->change_replicas(kShard, {raft::ConfChangeType::add_learner, NodeId(4)}, 5000).is_ok());
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[NodeId(4)], kShard) == "a;"; }));
  ASSERT_TRUE(hosts_[l]->change_replicas(kShard, {raft::ConfChangeType::promote, NodeId(4)}, 5000).is_ok());
  auto st = hosts_[l]->status(kShard);
  EXPECT_EQ(st->conf.voters, (std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3), NodeId(4)}));
  // Remove the old leader: the other three carry on.
  ASSERT_TRUE(hosts_[l]->change_replicas(kShard, {raft::ConfChangeType::remove, l}, 5000).is_ok());
  stop(l);
  NodeId l2 = wait_leader();
  ASSERT_NE(l2, raft::kNoNode);
  ASSERT_EQ(hosts_[l2]->propose_wait(kShard, named("b")).errc(), 0u);
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[NodeId(4)], kShard) == "a;b;"; }));
}

TEST_F(ClusterTest, LaggingFollowerCatchesUpFromASnapshotAfterCompaction) {
  NodeId l = wait_leader();
  NodeId f = l == NodeId(1) ? NodeId(2) : NodeId(1);
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("a")).errc(), 0u);
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[f], kShard) == "a;"; }));
  stop(f);
  std::string want = "a;";
  for (int i = 0; i < 80; ++i) {
    std::string name = "e" + std::to_string(i);
    auto r = hosts_[l]->propose_wait(kShard, named(name));
    ASSERT_EQ(r.errc(), 0u) << r.message();
    want += name + ";";
  }
  // The leader dropped the log the stopped follower needs.
  ASSERT_TRUE(eventually([&] { return hosts_[l]->stats().compactions > 0; }));
  start(f, {NodeId(1), NodeId(2), NodeId(3)});
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[f], kShard) == want; })) << read_log(*hosts_[f], kShard);
  EXPECT_TRUE(eventually([&] { return hosts_[f]->stats().snapshots_installed >= 1; }));
  // It goes on replicating normally after the snapshot.
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("z")).errc(), 0u);
  want += "z;";
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[f], kShard) == want; }));
  // Every replica restarts from its compacted log and snapshot intact.
  for (NodeId id : {NodeId(1), NodeId(2), NodeId(3)}) {
    stop(id);
    start(id, {NodeId(1), NodeId(2), NodeId(3)});
  }
  for (auto& [id, h] : hosts_) {
    EXPECT_TRUE(eventually([&] { return read_log(*h, kShard) == want; })) << "node " << id.value;
  }
}

TEST_F(ClusterTest, RemovedReplicaIsDeletedAndCanComeBack) {
  NodeId l = wait_leader();
  NodeId f = l == NodeId(1) ? NodeId(2) : NodeId(1);
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("a")).errc(), 0u);
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[f], kShard) == "a;"; }));
  ASSERT_TRUE(hosts_[l]->change_replicas(kShard, {raft::ConfChangeType::remove, f}, 5000).is_ok());
  // The removed node learns of it, drops the replica and deletes its data.
  EXPECT_TRUE(eventually([&] { return !hosts_[f]->has_shard(kShard); }));
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[f], kShard).empty(); }));
  ASSERT_EQ(hosts_[l]->propose_wait(kShard, named("b")).errc(), 0u);
  // Added again, it is rebuilt from the leader.
  ASSERT_TRUE(hosts_[l]->change_replicas(kShard, {raft::ConfChangeType::add_learner, f}, 5000).is_ok());
  EXPECT_TRUE(eventually([&] { return read_log(*hosts_[f], kShard) == "a;b;"; }));
}

}  // namespace
}  // namespace tessera::shard
