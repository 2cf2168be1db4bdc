#include "cluster/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

namespace tessera::cluster {
namespace {

using Kind = Action::Kind;

constexpr uint64_t kMetaShard = 1;
constexpr uint64_t kCommit = 1000;

NodeView node(uint64_t id, std::string zone = "") {
  NodeView n;
  n.id = id;
  n.address = "10.0.0." + std::to_string(id) + ":7000";
  if (!zone.empty()) n.labels["zone"] = zone;
  return n;
}

std::vector<NodeView> nodes(uint64_t count) {
  std::vector<NodeView> out;
  for (uint64_t id = 1; id <= count; ++id) out.push_back(node(id));
  return out;
}

ShardView shard(uint64_t id, std::vector<uint64_t> voters, uint32_t replication = 3, uint64_t leader = 0) {
  ShardView s;
  s.shard = id;
  s.replication = replication;
  s.leader = leader != 0 ? leader : voters.front();
  s.term = 1;
  s.commit = kCommit;
  s.voters = std::move(voters);
  for (uint64_t v : s.voters) s.match[v] = kCommit;
  return s;
}

ShardView meta(std::vector<uint64_t> voters, std::vector<uint64_t> learners = {}, uint64_t leader = 0) {
  ShardView s = shard(kMetaShard, std::move(voters), 0, leader);
  s.meta = true;
  s.learners = std::move(learners);
  for (uint64_t l : s.learners) s.match[l] = kCommit;
  return s;
}

ShardView& find_shard(ClusterView& view, uint64_t id) {
  for (ShardView& s : view.shards) {
    if (s.shard == id) return s;
  }
  ADD_FAILURE() << "no shard " << id;
  return view.shards.front();
}

NodeView& find_node(ClusterView& view, uint64_t id) {
  for (NodeView& n : view.nodes) {
    if (n.id == id) return n;
  }
  ADD_FAILURE() << "no node " << id;
  return view.nodes.front();
}

bool has(const std::vector<uint64_t>& ids, uint64_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

std::vector<uint64_t> sorted(std::vector<uint64_t> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The test's own statement of the wanted voter count (placement.h rules).
bool usable(const ClusterView& view, uint64_t id) {
  for (const NodeView& n : view.nodes) {
    if (n.id == id) return n.state == NodeView::State::active && !n.dead;
  }
  return false;
}
uint32_t wanted(const ClusterView& view, const ShardView& s) {
  uint32_t u = 0;
  for (const NodeView& n : view.nodes) u += usable(view, n.id) ? 1 : 0;
  if (s.meta) return u >= 5 ? 5 : u >= 3 ? 3 : 1;
  return std::max<uint32_t>(1, std::min(s.replication, u));
}
uint32_t usable_voters(const ClusterView& view, const ShardView& s) {
  return static_cast<uint32_t>(
      std::count_if(s.voters.begin(), s.voters.end(), [&](uint64_t v) { return usable(view, v); }));
}

// Replicas (voters and learners) per node; volume shards only if asked.
std::map<uint64_t, uint32_t> replicas(const ClusterView& view, bool volumes_only) {
  std::map<uint64_t, uint32_t> count;
  for (const NodeView& n : view.nodes) count[n.id] = 0;
  for (const ShardView& s : view.shards) {
    if (volumes_only && s.meta) continue;
    for (uint64_t v : s.voters) ++count[v];
    for (uint64_t l : s.learners) ++count[l];
  }
  return count;
}

uint32_t spread(const ClusterView& view, bool volumes_only) {
  uint32_t lo = UINT32_MAX, hi = 0;
  for (const auto& [id, n] : replicas(view, volumes_only)) {
    if (!usable(view, id)) continue;
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  return hi - lo;
}

// Executes one action as the shard leader would, checking the invariants a
// user relies on: actions go to the leader, the leader is never removed, and
// no removal leaves fewer voters on usable nodes than wanted.
void apply(ClusterView& view, const Action& a) {
  ShardView& s = find_shard(view, a.shard);
  ASSERT_NE(s.leader, 0u) << a.reason;
  ASSERT_EQ(a.leader, s.leader) << a.reason;
  switch (a.kind) {
    case Kind::add_learner:
      ASSERT_FALSE(has(s.voters, a.node) || has(s.learners, a.node)) << a.reason;
      ASSERT_TRUE(usable(view, a.node)) << a.reason;
      s.learners.push_back(a.node);
      s.match[a.node] = s.commit;
      break;
    case Kind::promote:
      ASSERT_TRUE(has(s.learners, a.node)) << a.reason;
      std::erase(s.learners, a.node);
      s.voters.push_back(a.node);
      break;
    case Kind::remove: {
      ASSERT_NE(a.node, s.leader) << a.reason;
      ASSERT_TRUE(has(s.voters, a.node) || has(s.learners, a.node)) << a.reason;
      const uint32_t before = usable_voters(view, s);
      std::erase(s.voters, a.node);
      std::erase(s.learners, a.node);
      s.match.erase(a.node);
      EXPECT_GE(usable_voters(view, s), std::min(wanted(view, s), before))
          << "shard " << s.shard << " lost a voter it needed: " << a.reason;
      EXPECT_FALSE(s.voters.empty()) << a.reason;
      break;
    }
    case Kind::transfer_leader:
      ASSERT_TRUE(has(s.voters, a.node)) << a.reason;
      ASSERT_NE(a.node, s.leader) << a.reason;
      s.leader = a.node;
      ++s.term;
      break;
  }
}

// Runs plan() and applies its actions until it returns none; returns the
// actions of every round. `after_round` sees the view after each round.
std::vector<std::vector<Action>> simulate(ClusterView& view, int rounds_max,
                                          const std::function<void(const ClusterView&)>& after_round = {}) {
  std::vector<std::vector<Action>> rounds;
  for (int r = 0; r < rounds_max; ++r) {
    std::vector<Action> actions = plan(view);
    if (actions.empty()) return rounds;
    std::set<uint64_t> shards;
    for (const Action& a : actions) {
      EXPECT_TRUE(shards.insert(a.shard).second) << "two actions for shard " << a.shard << " in one round";
      apply(view, a);
    }
    if (after_round) after_round(view);
    rounds.push_back(std::move(actions));
  }
  ADD_FAILURE() << "plan() still has actions after " << rounds_max << " rounds";
  return rounds;
}

ClusterView three_nodes_three_volumes() {
  ClusterView view;
  view.nodes = nodes(3);
  view.shards = {meta({1, 2, 3}), shard(10, {1, 2, 3}, 3, 1), shard(11, {1, 2, 3}, 3, 2),
                 shard(12, {1, 2, 3}, 3, 3)};
  return view;
}

TEST(Placement, HealthyClusterNeedsNothing) {
  const ClusterView view = three_nodes_three_volumes();
  EXPECT_TRUE(plan(view).empty());
  const Health h = health(view);
  EXPECT_EQ(h.under_replicated_shards, 0u);
  EXPECT_EQ(h.unavailable_shards, 0u);
  EXPECT_EQ(h.rebalance_pending, 0u);
  ASSERT_EQ(h.nodes.size(), 3u);
  for (const NodeHealth& n : h.nodes) {
    EXPECT_EQ(n.state, "up");
    EXPECT_EQ(n.shards, 4u);
    EXPECT_EQ(n.lag, 0u);
  }
  EXPECT_EQ(h.nodes[0].leaders, 2u);  // meta and shard 10
  EXPECT_EQ(h.nodes[1].leaders, 1u);
  for (uint64_t id : {1, 2, 3}) {
    const OkToStop r = ok_to_stop(view, id);
    EXPECT_TRUE(r.ok) << id << ": " << (r.reasons.empty() ? "" : r.reasons.front());
    EXPECT_TRUE(r.reasons.empty());
  }
}

TEST(Placement, DownNodeIsNotReplacedYetButBlocksStops) {
  ClusterView view = three_nodes_three_volumes();
  find_node(view, 3).up = false;
  EXPECT_TRUE(plan(view).empty());

  const Health h = health(view);
  EXPECT_EQ(h.under_replicated_shards, 4u);
  EXPECT_EQ(h.unavailable_shards, 0u);
  EXPECT_EQ(h.nodes[2].state, "down");

  for (uint64_t id : {1, 2}) {
    const OkToStop r = ok_to_stop(view, id);
    EXPECT_FALSE(r.ok);
    ASSERT_FALSE(r.reasons.empty());
    EXPECT_NE(r.reasons.front().find("stopping node " + std::to_string(id) + " leaves 1 of 3 voters up (quorum 2)"),
              std::string::npos)
        << r.reasons.front();
  }
  const OkToStop down = ok_to_stop(view, 3);
  EXPECT_FALSE(down.ok);
  ASSERT_EQ(down.reasons.size(), 1u);
  EXPECT_EQ(down.reasons.front(), "4 shards are under-replicated");

  // With a spare node the volume replicas on the down node still stay put
  // (the meta shard only adds the spare as a learner).
  view.nodes.push_back(node(4));
  for (const Action& a : plan(view)) {
    EXPECT_EQ(a.shard, kMetaShard) << a.reason;
    EXPECT_EQ(a.kind, Kind::add_learner) << a.reason;
  }
}

TEST(Placement, DeadVoterIsReplacedByAddPromoteRemove) {
  ClusterView view;
  view.nodes = nodes(4);
  view.shards = {shard(10, {1, 2, 3})};
  find_node(view, 3).up = false;
  find_node(view, 3).dead = true;

  std::vector<Action> actions = plan(view);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::add_learner);
  EXPECT_EQ(actions[0].node, 4u);
  EXPECT_EQ(actions[0].leader, 1u);
  EXPECT_NE(actions[0].reason.find("node 3"), std::string::npos) << actions[0].reason;
  apply(view, actions[0]);

  // A learner still catching up is neither promoted nor a reason to remove node 3.
  ShardView& s = find_shard(view, 10);
  s.match[4] = kCommit - kCaughtUpLagMax - 1;
  EXPECT_TRUE(plan(view).empty());
  EXPECT_EQ(health(view).under_replicated_shards, 1u);

  s.match[4] = kCommit - kCaughtUpLagMax;
  actions = plan(view);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::promote);
  EXPECT_EQ(actions[0].node, 4u);
  apply(view, actions[0]);

  actions = plan(view);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::remove);
  EXPECT_EQ(actions[0].node, 3u);
  apply(view, actions[0]);

  EXPECT_TRUE(plan(view).empty());
  EXPECT_EQ(sorted(find_shard(view, 10).voters), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(health(view).under_replicated_shards, 0u);
}

TEST(Placement, ADeadNodeStillReportedAsLeaderIsNeverRemoved) {
  ClusterView view;
  view.nodes = nodes(4);
  view.shards = {shard(10, {1, 2, 3}, 3, 3)};
  find_node(view, 3).up = false;
  find_node(view, 3).dead = true;
  simulate(view, 10);  // apply() fails on removing the leader
  const ShardView& s = find_shard(view, 10);
  EXPECT_EQ(sorted(s.voters), (std::vector<uint64_t>{1, 2, 3, 4}));  // waits for a new leader
  find_shard(view, 10).leader = 1;
  simulate(view, 10);
  EXPECT_EQ(sorted(s.voters), (std::vector<uint64_t>{1, 2, 4}));
}

TEST(Placement, ReplicationIsCappedByUsableNodes) {
  ClusterView view;
  view.nodes = nodes(3);
  view.shards = {shard(10, {2}, 5)};
  simulate(view, 20);
  EXPECT_EQ(sorted(find_shard(view, 10).voters), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(find_shard(view, 10).learners.empty());
  EXPECT_EQ(health(view).under_replicated_shards, 0u);
}

TEST(Placement, NewReplicasSpreadAcrossZonesThenLeastLoaded) {
  ClusterView view;
  view.nodes = {node(1, "a"), node(2, "a"), node(3, "b")};
  view.shards = {shard(10, {1}, 2)};
  const std::vector<Action> first = plan(view);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, Kind::add_learner);
  EXPECT_EQ(first[0].node, 3u);  // node 2 has the lower id but shares zone a
  simulate(view, 10);
  EXPECT_EQ(sorted(find_shard(view, 10).voters), (std::vector<uint64_t>{1, 3}));

  // Both candidates in an unused zone: the one holding fewer replicas wins.
  ClusterView loaded;
  loaded.nodes = {node(1, "a"), node(2, "b"), node(3, "b")};
  loaded.shards = {shard(10, {1}, 2), shard(11, {2}, 1)};
  const std::vector<Action> actions = plan(loaded);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].shard, 10u);
  EXPECT_EQ(actions[0].node, 3u);
}

TEST(Placement, DrainTransfersLeadershipThenEmptiesTheNode) {
  ClusterView view;
  view.nodes = nodes(4);
  view.shards = {meta({1, 2, 3}, {4}), shard(10, {1, 2, 3}, 3, 1), shard(11, {1, 3, 4}, 3, 1),
                 shard(12, {2, 3, 4}, 3, 2), shard(13, {1, 2, 4}, 3, 4)};
  find_node(view, 1).state = NodeView::State::draining;
  EXPECT_FALSE(ok_to_stop(view, 1).ok);  // its replicas are not replaced yet
  EXPECT_GT(health(view).rebalance_pending, 0u);

  const std::vector<Action> first = plan(view);
  for (const Action& a : first) {
    if (a.shard == kMetaShard || a.shard == 10 || a.shard == 11) {
      EXPECT_EQ(a.kind, Kind::transfer_leader) << a.shard << ": " << a.reason;
      EXPECT_NE(a.node, 1u);
    }
  }
  EXPECT_EQ(std::count_if(first.begin(), first.end(), [](const Action& a) { return a.kind == Kind::transfer_leader; }),
            3);

  simulate(view, 50);
  EXPECT_EQ(replicas(view, false)[1], 0u);
  for (const ShardView& s : view.shards) {
    EXPECT_EQ(s.voters.size(), 3u) << s.shard;
    EXPECT_NE(s.leader, 1u) << s.shard;
  }
  const Health h = health(view);
  EXPECT_EQ(h.nodes[0].state, "draining");
  EXPECT_EQ(h.nodes[0].shards, 0u);
  EXPECT_EQ(h.rebalance_pending, 0u);
  EXPECT_EQ(h.under_replicated_shards, 0u);
  EXPECT_TRUE(ok_to_stop(view, 1).ok);
}

TEST(Placement, RebalanceOntoAJoiningNode) {
  ClusterView view;
  view.nodes = nodes(3);
  view.shards.push_back(meta({1, 2, 3}));
  for (uint64_t i = 0; i < 6; ++i) view.shards.push_back(shard(10 + i, {1, 2, 3}, 3, i % 3 + 1));
  ASSERT_TRUE(plan(view).empty());

  view.nodes.push_back(node(4));

  // A move whose learner is still catching up holds back the next one.
  ClusterView slow = view;
  for (const Action& a : plan(slow)) apply(slow, a);  // the meta shard adds node 4
  std::vector<Action> move = plan(slow);
  ASSERT_EQ(move.size(), 1u);
  EXPECT_EQ(move[0].kind, Kind::add_learner);
  EXPECT_EQ(move[0].node, 4u);
  EXPECT_EQ(move[0].reason.rfind("rebalance:", 0), 0u) << move[0].reason;
  apply(slow, move[0]);
  find_shard(slow, move[0].shard).match[4] = 0;
  EXPECT_TRUE(plan(slow).empty());

  uint32_t pending_seen = 0;
  const auto rounds = simulate(view, 100, [&](const ClusterView& v) {
    const auto moving = std::count_if(v.shards.begin(), v.shards.end(),
                                      [](const ShardView& s) { return !s.meta && !s.learners.empty(); });
    EXPECT_LE(moving, 1) << "more than one replica move at a time";
    pending_seen = std::max(pending_seen, health(v).rebalance_pending);
  });
  EXPECT_GT(pending_seen, 0u);
  EXPECT_GE(rounds.size(), 3u);
  EXPECT_LE(spread(view, true), 1u);
  EXPECT_LE(spread(view, false), 1u);
  EXPECT_GT(replicas(view, true)[4], 0u);
  for (const ShardView& s : view.shards) {
    if (s.meta) continue;
    EXPECT_EQ(s.voters.size(), 3u) << s.shard;
    EXPECT_TRUE(s.learners.empty()) << s.shard;
  }
  EXPECT_EQ(sorted(find_shard(view, kMetaShard).learners), (std::vector<uint64_t>{4}));
  EXPECT_EQ(health(view).rebalance_pending, 0u);
}

TEST(Placement, MetaShardVotersAndLearnersByClusterSize) {
  struct Case {
    uint64_t nodes;
    size_t voters;
    size_t learners;
  };
  for (const Case c : {Case{1, 1, 0}, Case{2, 1, 1}, Case{3, 3, 0}, Case{4, 3, 1}, Case{5, 5, 0}, Case{6, 5, 1},
                       Case{7, 5, 2}}) {
    ClusterView view;
    view.nodes = nodes(c.nodes);
    view.shards = {meta({1})};
    simulate(view, 40);
    const ShardView& m = find_shard(view, kMetaShard);
    EXPECT_EQ(m.voters.size(), c.voters) << c.nodes << " nodes";
    EXPECT_EQ(m.learners.size(), c.learners) << c.nodes << " nodes";
    EXPECT_EQ(m.voters.size() + m.learners.size(), c.nodes);
  }
}

TEST(Placement, MetaShardReplacesADeadVoterWithALearner) {
  ClusterView view;
  view.nodes = nodes(6);
  view.shards = {meta({1, 2, 3, 4, 5}, {6})};
  ASSERT_TRUE(plan(view).empty());
  find_node(view, 5).up = false;
  find_node(view, 5).dead = true;
  simulate(view, 20);
  const ShardView& m = find_shard(view, kMetaShard);
  EXPECT_EQ(sorted(m.voters), (std::vector<uint64_t>{1, 2, 3, 4, 6}));
  EXPECT_TRUE(m.learners.empty());

  // One more dead node: 4 usable nodes want 3 voters and 1 learner.
  find_node(view, 6).up = false;
  find_node(view, 6).dead = true;
  simulate(view, 20);
  EXPECT_EQ(m.voters.size(), 3u);
  EXPECT_EQ(m.learners.size(), 1u);
  EXPECT_FALSE(has(m.voters, 5) || has(m.learners, 5) || has(m.voters, 6) || has(m.learners, 6));
}

TEST(Placement, MetaShardPromotesALearnerForADownVoter) {
  ClusterView view;
  view.nodes = nodes(4);
  view.shards = {meta({1, 2, 3}, {4})};
  find_node(view, 3).up = false;
  const std::vector<Action> first = plan(view);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, Kind::promote);
  EXPECT_EQ(first[0].node, 4u);
  simulate(view, 20);
  const ShardView& m = find_shard(view, kMetaShard);
  EXPECT_EQ(sorted(m.voters), (std::vector<uint64_t>{1, 2, 4}));  // the down voter went, not an up one
  EXPECT_TRUE(m.learners.empty());  // node 3 returns as a learner once it is up again
  find_node(view, 3).up = true;
  simulate(view, 20);
  EXPECT_EQ(sorted(m.voters), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(m.learners, (std::vector<uint64_t>{3}));
}

TEST(Placement, LeaderlessShardIsUnavailableAndLeftAlone) {
  ClusterView view = three_nodes_three_volumes();
  view.nodes.push_back(node(4));
  find_node(view, 3).up = false;
  find_node(view, 3).dead = true;
  find_shard(view, 12).leader = 0;
  for (const Action& a : plan(view)) EXPECT_NE(a.shard, 12u);
  EXPECT_EQ(health(view).unavailable_shards, 1u);
  const OkToStop r = ok_to_stop(view, 4);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(std::find(r.reasons.begin(), r.reasons.end(), "1 shard is unavailable"), r.reasons.end());
}

TEST(Placement, HealthReportsLagPerNode) {
  ClusterView view;
  view.nodes = nodes(4);
  ShardView s = shard(10, {1, 2, 3});
  s.match = {{1, kCommit}, {2, kCommit - 30}};  // node 3 not reported
  s.learners = {4};
  s.match[4] = kCommit - 200;
  view.shards = {s};
  const Health h = health(view);
  EXPECT_EQ(h.nodes[0].lag, 0u);
  EXPECT_EQ(h.nodes[1].lag, 30u);
  EXPECT_EQ(h.nodes[2].lag, kCommit);
  EXPECT_EQ(h.nodes[3].lag, 200u);
  EXPECT_EQ(h.nodes[3].shards, 1u);
  EXPECT_EQ(h.under_replicated_shards, 1u);  // learner 4 still catching up
  EXPECT_EQ(h.unavailable_shards, 0u);

  // A caught-up member on a dead node still makes its shard under-replicated.
  ClusterView dead_learner;
  dead_learner.nodes = nodes(4);
  dead_learner.shards = {meta({1, 2, 3}, {4})};
  EXPECT_EQ(health(dead_learner).under_replicated_shards, 0u);
  find_node(dead_learner, 4).up = false;
  find_node(dead_learner, 4).dead = true;
  EXPECT_EQ(health(dead_learner).under_replicated_shards, 1u);
  EXPECT_EQ(health(dead_learner).unavailable_shards, 0u);
}

TEST(Placement, CaughtUpFollowsTheLeadersMatch) {
  ClusterView view;
  view.nodes = nodes(3);
  view.shards = {meta({1, 2, 3}), shard(10, {1, 2, 3})};
  find_shard(view, 10).match[3] = kCommit - kCaughtUpLagMax - 10;
  OkToStop r = caught_up(view, 3);
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_EQ(r.reasons.front().rfind("shard 10:", 0), 0u) << r.reasons.front();
  EXPECT_TRUE(caught_up(view, 2).ok);
  EXPECT_TRUE(caught_up(view, 1).ok);  // the leader

  find_shard(view, 10).match[3] = kCommit - kCaughtUpLagMax;
  r = caught_up(view, 3);
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.reasons.empty());

  find_shard(view, 10).leader = 0;
  EXPECT_FALSE(caught_up(view, 3).ok);
  EXPECT_FALSE(caught_up(view, 9).ok);
}

TEST(Placement, UnknownNodeIsNotOkToStop) {
  const OkToStop r = ok_to_stop(three_nodes_three_volumes(), 9);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reasons, (std::vector<std::string>{"node 9 is not a member of the cluster"}));
}

TEST(Placement, PlanDoesNotDependOnInputOrder) {
  ClusterView view;
  view.nodes = {node(1, "a"), node(2, "b"), node(3, "c"), node(4, "a"), node(5, "b")};
  view.shards = {meta({1, 2, 3}), shard(10, {1, 2, 3}, 3, 2), shard(11, {3, 1, 2}, 3, 3), shard(12, {2, 1, 3}, 3, 1)};
  find_node(view, 2).dead = true;
  find_node(view, 2).up = false;
  ClusterView reversed = view;
  std::reverse(reversed.nodes.begin(), reversed.nodes.end());
  std::reverse(reversed.shards.begin(), reversed.shards.end());
  for (ShardView& s : reversed.shards) std::reverse(s.voters.begin(), s.voters.end());

  const std::vector<Action> a = plan(view);
  const std::vector<Action> b = plan(reversed);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].shard, b[i].shard);
    EXPECT_EQ(a[i].node, b[i].node);
    EXPECT_EQ(a[i].reason, b[i].reason);
  }
}

TEST(Placement, LeadershipSpreadsOverTheNodes) {
  // Six shards all led by node 1 (its peers were restarted): leaderships
  // move one per round until each node leads two; the meta shard's leader
  // stays put.
  ClusterView view;
  view.nodes = nodes(3);
  view.shards = {meta({1, 2, 3}, {}, 1)};
  for (uint64_t id = 10; id < 16; ++id) view.shards.push_back(shard(id, {1, 2, 3}, 3, 1));
  const auto rounds = simulate(view, 10);
  ASSERT_EQ(rounds.size(), 4u);
  for (const auto& round : rounds) {
    ASSERT_EQ(round.size(), 1u);
    EXPECT_EQ(round[0].kind, Kind::transfer_leader);
    EXPECT_EQ(round[0].reason.rfind("balance leaders:", 0), 0u) << round[0].reason;
  }
  std::map<uint64_t, int> led;
  for (const ShardView& s : view.shards) {
    if (!s.meta) ++led[s.leader];
  }
  EXPECT_EQ(led, (std::map<uint64_t, int>{{1, 2}, {2, 2}, {3, 2}}));
  EXPECT_EQ(find_shard(view, kMetaShard).leader, 1u);
  EXPECT_EQ(health(view).rebalance_pending, 0u);  // not a replica move
}

TEST(Placement, LeadershipSpreadsWithinEachGroupToo) {
  // Totals are balanced (4, 4, 3 besides the meta shard), but node 2 leads
  // all four partitions of one stream and node 3 none: partitions move to
  // node 3 while the totals stay within one, and no leadership flaps back.
  ClusterView view;
  view.nodes = nodes(3);
  view.shards = {meta({1, 2, 3}, {}, 1)};
  auto add = [&](uint64_t id, const char* group, uint64_t leader) {
    view.shards.push_back(shard(id, {1, 2, 3}, 3, leader));
    view.shards.back().group = group;
  };
  add(2, "volumes", 3);
  add(3, "volume 1 data", 3), add(4, "volume 1 data", 3), add(5, "volume 1 data", 1), add(6, "volume 1 data", 1);
  for (uint64_t id = 7; id < 11; ++id) add(id, "volume 1 stream 9", 2);
  add(11, "volume 1 stream 8", 1), add(12, "volume 1 stream 8", 1);
  const auto rounds = simulate(view, 10);
  ASSERT_FALSE(rounds.empty());
  EXPECT_LT(rounds.size(), 10u);  // settles
  std::map<uint64_t, int> led, partitions;
  for (const ShardView& s : view.shards) {
    if (s.meta) continue;
    ++led[s.leader];
    if (s.group == "volume 1 stream 9") ++partitions[s.leader];
  }
  for (const auto& [node, n] : led) EXPECT_TRUE(n == 3 || n == 4) << "node " << node << " leads " << n;
  for (uint64_t n : {1, 2, 3}) EXPECT_GE(partitions[n], 1) << "node " << n;
  for (const auto& [node, n] : partitions) EXPECT_LE(n, 2) << "node " << node;
}

TEST(Placement, LeadershipGoesOnlyToCaughtUpUpVoters) {
  ClusterView view;
  view.nodes = nodes(3);
  view.shards = {meta({1, 2, 3}, {}, 1), shard(10, {1, 2, 3}, 3, 1), shard(11, {1, 2, 3}, 3, 1),
                 shard(12, {1, 2, 3}, 3, 1)};
  // Node 2 is down, node 3 lags on shard 10: only shards 11 or 12 can go,
  // and only to node 3.
  find_node(view, 2).up = false;
  find_shard(view, 10).match[3] = kCommit - kCaughtUpLagMax - 1;
  const std::vector<Action> a = plan(view);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::transfer_leader);
  EXPECT_EQ(a[0].node, 3u);
  EXPECT_EQ(a[0].shard, 11u);
  // Counts within one of each other: nothing to do.
  find_shard(view, 11).leader = 3;
  EXPECT_TRUE(plan(view).empty());
}

}  // namespace
}  // namespace tessera::cluster
