// Shard locations as the meta leader computes them from heartbeats, and the
// order in which a node tries the replicas of a shard it does not hold.

#include "node/shard_locations.h"

#include <gtest/gtest.h>

#include <vector>

namespace tessera::node {
namespace {

internal::ShardReport* add_shard(internal::Heartbeat& hb, uint64_t shard, bool leader, uint64_t term) {
  auto* r = hb.add_shards();
  r->set_shard(shard);
  r->set_leader(leader);
  r->set_term(term);
  return r;
}

internal::Heartbeat heartbeat(uint64_t node) {
  internal::Heartbeat hb;
  hb.set_node(node);
  hb.set_address("n" + std::to_string(node) + ":7100");
  return hb;
}

std::vector<uint64_t> replicas(const internal::ShardLocation& loc) {
  return {loc.replicas().begin(), loc.replicas().end()};
}

TEST(ShardLocations, LeaderReportGivesMembership) {
  auto a = heartbeat(1);
  auto b = heartbeat(2);
  auto c = heartbeat(3);
  // Shard 7: node 2 leads (term 3) with voters 2,3,4 and learner 5; node 3
  // follows; node 1 still believes it leads at an older term.
  auto* lead = add_shard(b, 7, true, 3);
  for (uint64_t v : {2, 3, 4}) lead->add_voters(v);
  lead->add_learners(5);
  add_shard(c, 7, false, 3);
  add_shard(a, 7, true, 2)->add_voters(1);
  // Shard 9: no leader reported; held by nodes 1 and 3.
  add_shard(a, 9, false, 1);
  add_shard(c, 9, false, 1);

  auto reply = locate_shards({&a, &b, &c});
  ASSERT_EQ(reply.shards_size(), 2);
  EXPECT_EQ(reply.shards(0).shard(), 7u);
  EXPECT_EQ(reply.shards(0).leader(), 2u);
  EXPECT_EQ(replicas(reply.shards(0)), (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(reply.shards(1).shard(), 9u);
  EXPECT_EQ(reply.shards(1).leader(), 0u);
  EXPECT_EQ(replicas(reply.shards(1)), (std::vector<uint64_t>{1, 3}));
}

TEST(ShardLocations, NoReportsNoLocations) {
  EXPECT_EQ(locate_shards({}).shards_size(), 0);
}

TEST(ShardLocations, CandidatesLeaderFirstWithoutSelf) {
  internal::ShardLocation loc;
  loc.set_shard(7);
  loc.set_leader(3);
  for (uint64_t r : {1, 3, 4}) loc.add_replicas(r);
  EXPECT_EQ(candidates(loc, 2), (std::vector<uint64_t>{3, 1, 4}));
  EXPECT_EQ(candidates(loc, 3), (std::vector<uint64_t>{1, 4}));

  internal::ShardLocation leaderless;
  leaderless.add_replicas(5);
  EXPECT_EQ(candidates(leaderless, 5), std::vector<uint64_t>{});
  EXPECT_EQ(candidates(leaderless, 1), std::vector<uint64_t>{5});
}

}  // namespace
}  // namespace tessera::node
