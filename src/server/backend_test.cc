// Backend on a node that holds no replica of a shard: reads and
// authentication refuse with a redirect to the located replica; proposals
// go to the located leader.

#include "server/backend.h"

#include <gtest/gtest.h>

#include "cluster/meta_keys.h"
#include "server/redirect.h"
#include "storage/test_engine.h"

namespace tessera::server {
namespace {

class FakeForwarder final : public Forwarder {
 public:
  std::map<uint64_t, ReplicaRef> located;  // by shard
  std::vector<std::pair<uint64_t, uint64_t>> proposed;  // (node, shard)

  Result<internal::CommandResult> propose(raft::NodeId node, ShardId shard,
                                          const internal::Command&) override {
    proposed.emplace_back(node.value, shard.value);
    internal::CommandResult r;
    r.set_message("applied on node " + std::to_string(node.value));
    return r;
  }
  Result<LogIndex> read_index(raft::NodeId, ShardId) override {
    return Status(Errc::not_leader, "not used");
  }
  std::optional<ReplicaRef> locate(ShardId shard) override {
    auto it = located.find(shard.value);
    if (it == located.end()) return std::nullopt;
    return it->second;
  }
  std::optional<internal::ShardLocation> location(ShardId) override { return std::nullopt; }
  Result<internal::PartitionReadReply> partition_read(raft::NodeId,
                                                      const internal::PartitionRead&) override {
    return Status(Errc::not_leader, "not used");
  }
  Result<internal::ChunkReadReply> chunk_read(raft::NodeId, const internal::ChunkRead&) override {
    return Status(Errc::not_leader, "not used");
  }
  Result<internal::TabletReadReply> tablet_read(raft::NodeId, const internal::TabletRead&) override {
    return Status(Errc::not_leader, "not used");
  }
};

class BackendTest : public ::testing::Test {
 protected:
  storage::TestEngine engine_{"backend"};
  shard::ShardHost host_{*engine_, shard::ShardHostOptions{},
                         [](ShardId) -> std::unique_ptr<shard::StateMachine> { return nullptr; }};
  Metrics metrics_;
  Backend backend_{*engine_, host_, metrics_};
  FakeForwarder forwarder_;

  void SetUp() override { backend_.set_forwarder(&forwarder_); }
};

TEST_F(BackendTest, ReadOfShardNotHostedRedirects) {
  forwarder_.located[7] = ReplicaRef{raft::NodeId(4), "10.0.0.4:7100", true};
  Status st = backend_.read_barrier(ShardId(7));
  EXPECT_EQ(st.code(), Errc::not_leader);
  EXPECT_EQ(redirect_address(st), "10.0.0.4:7100");
}

TEST_F(BackendTest, ReadOfShardNobodyLocatedRefusesWithoutRedirect) {
  Status st = backend_.read_barrier(ShardId(8));
  EXPECT_EQ(st.code(), Errc::not_leader);
  EXPECT_EQ(redirect_address(st), std::nullopt);
  EXPECT_NE(st.message().find("shard 8"), std::string::npos);
}

TEST_F(BackendTest, AuthenticationWithoutMetaReplicaRedirects) {
  forwarder_.located[cluster::kMetaShard] = ReplicaRef{raft::NodeId(2), "10.0.0.2:7100", false};
  auto who = backend_.authenticate("TK1", "secret");
  ASSERT_FALSE(who.is_ok());
  EXPECT_EQ(who.status().code(), Errc::not_leader);
  EXPECT_EQ(redirect_address(who.status()), "10.0.0.2:7100");
}

TEST_F(BackendTest, ProposalForShardNotHostedGoesToLocatedLeader) {
  forwarder_.located[7] = ReplicaRef{raft::NodeId(4), "10.0.0.4:7100", true};
  internal::Command cmd;
  cmd.mutable_retention();
  uint64_t before = Backend::proposals_on_this_thread();
  auto r = backend_.propose_stamped(ShardId(7), cmd);
  EXPECT_EQ(Backend::proposals_on_this_thread(), before + 1);
  EXPECT_EQ(r.errc(), 0u) << r.message();
  EXPECT_EQ(r.message(), "applied on node 4");
  ASSERT_EQ(forwarder_.proposed.size(), 1u);
  EXPECT_EQ(forwarder_.proposed[0], (std::pair<uint64_t, uint64_t>{4, 7}));
}

}  // namespace
}  // namespace tessera::server
