// GroupCoordinator: rebalances of a running group, session and sync
// timeouts, leaving, static membership (KIP-345) and OffsetCommit checks.

#include <gtest/gtest.h>

#include "gateway/kafka/server/group_coordinator.h"
#include "gateway/kafka/server/group_coordinator_test_util.h"

namespace tessera::kafka::test {
namespace {

TEST_F(CoordinatorTest, NewMemberRebalancesAStableGroup) {
  auto ids = stable_group({"a", "b"});
  auto c = join(request("", "c"));
  EXPECT_FALSE(c->has_value());
  EXPECT_EQ(state(), "PreparingRebalance");
  EXPECT_EQ(heartbeat(1, ids[0]), GroupError::rebalance_in_progress);
  EXPECT_EQ(heartbeat(1, ids[1]), GroupError::rebalance_in_progress);
  auto b = join(request(ids[1], "b"));
  EXPECT_FALSE(b->has_value());
  auto a = join(request(ids[0], "a"));
  for (const auto& s : {a, b, c}) {
    ASSERT_TRUE(s->has_value()) << "the phase ends when the last member rejoins";
    EXPECT_EQ((*s)->error, GroupError::none);
    EXPECT_EQ((*s)->generation_id, 2);
    EXPECT_EQ((*s)->leader_id, ids[0]) << "the leader keeps its role";
  }
  EXPECT_EQ((*a)->members.size(), 3u);
  EXPECT_EQ(state(), "CompletingRebalance");
  EXPECT_EQ(heartbeat(2, ids[1]), GroupError::none);
  EXPECT_EQ(heartbeat(1, ids[1]), GroupError::illegal_generation);
}

TEST_F(CoordinatorTest, MemberThatDoesNotRejoinIsDroppedAtTheRebalanceTimeout) {
  auto ids = stable_group({"a", "b"});
  auto c = join(request("", "c"));
  auto a = join(request(ids[0], "a"));
  // b stays alive (heartbeats) but never rejoins.
  for (int i = 0; i < kRebalanceMs / 5000 - 1; ++i) {
    advance(5000);
    EXPECT_EQ(heartbeat(1, ids[1]), GroupError::rebalance_in_progress);
  }
  EXPECT_FALSE(a->has_value());
  advance(5000);
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*a)->generation_id, 2);
  EXPECT_EQ((*a)->members.size(), 2u);
  EXPECT_EQ(heartbeat(1, ids[1]), GroupError::unknown_member_id);
  EXPECT_EQ(heartbeat(2, ids[1]), GroupError::unknown_member_id);
}

TEST_F(CoordinatorTest, SessionExpiryDropsASilentMemberAndRebalances) {
  auto ids = stable_group({"a", "b"});
  advance(kSessionMs - 1);
  EXPECT_EQ(heartbeat(1, ids[0]), GroupError::none);
  EXPECT_EQ(state(), "Stable");
  advance(1);  // b has been silent for a whole session
  EXPECT_EQ(state(), "PreparingRebalance");
  EXPECT_EQ(heartbeat(1, ids[1]), GroupError::unknown_member_id);
  EXPECT_EQ(heartbeat(1, ids[0]), GroupError::rebalance_in_progress);
  auto a = join(request(ids[0], "a"));
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->generation_id, 2);
  EXPECT_EQ((*a)->members.size(), 1u);
}

TEST_F(CoordinatorTest, LeaveRebalancesAndTheLastLeaveEmptiesTheGroup) {
  auto ids = stable_group({"a", "b", "c"});
  EXPECT_EQ(gc_.leave("g", {{ids[1], std::nullopt}}, now_),
            std::vector<GroupError>{GroupError::none});
  EXPECT_EQ(heartbeat(1, ids[0]), GroupError::rebalance_in_progress);
  EXPECT_EQ(gc_.leave("g", {{ids[1], std::nullopt}, {"x", std::nullopt}}, now_),
            (std::vector<GroupError>{GroupError::unknown_member_id, GroupError::unknown_member_id}));
  auto a = join(request(ids[0], "a"));
  auto c = join(request(ids[2], "c"));
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->generation_id, 2);
  EXPECT_EQ((*a)->members.size(), 2u);
  EXPECT_EQ(gc_.leave("g", {{ids[0], std::nullopt}, {ids[2], std::nullopt}}, now_),
            (std::vector<GroupError>{GroupError::none, GroupError::none}));
  EXPECT_EQ(state(), "Empty");
  EXPECT_EQ(generation(), 3);
  EXPECT_EQ(leader(), "");
}

TEST_F(CoordinatorTest, LeaderThatDoesNotRejoinIsReplacedByTheEarliestRejoined) {
  auto ids = stable_group({"a", "b", "c"});
  auto d = join(request("", "d"));
  auto c = join(request(ids[2], "c"));
  auto b = join(request(ids[1], "b"));
  advance(kSessionMs);  // the leader never heartbeats or rejoins
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->generation_id, 2);
  EXPECT_EQ((*b)->leader_id, ids[1]);
  EXPECT_EQ((*b)->members.size(), 3u);
  EXPECT_TRUE((*c)->members.empty());
  EXPECT_TRUE((*d)->members.empty());
}

TEST_F(CoordinatorTest, SilentLeaderRestartsTheRebalanceForWaitingFollowers) {
  auto a = join(request("", "a"));
  auto b = join(request("", "b"));
  settle({a, b});
  auto sb = sync(1, (*b)->member_id);
  EXPECT_FALSE(sb->has_value());
  advance(kSessionMs);  // the leader neither syncs nor heartbeats
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->error, GroupError::rebalance_in_progress);
  EXPECT_EQ(state(), "PreparingRebalance");
  auto b2 = join(request((*b)->member_id, "b"));
  ASSERT_TRUE(b2->has_value());
  EXPECT_EQ((*b2)->generation_id, 2);
  EXPECT_EQ((*b2)->leader_id, (*b)->member_id);
}

TEST_F(CoordinatorTest, LeaderThatHeartbeatsButNeverSyncsIsDroppedAtTheRebalanceTimeout) {
  auto a = join(request("", "a"));
  auto b = join(request("", "b"));
  settle({a, b});
  auto sb = sync(1, (*b)->member_id);
  for (int i = 0; i < kRebalanceMs / 5000 - 1; ++i) {
    advance(5000);
    EXPECT_EQ(heartbeat(1, (*a)->member_id), GroupError::none);
  }
  EXPECT_FALSE(sb->has_value());
  advance(5000);
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->error, GroupError::rebalance_in_progress);
  EXPECT_EQ(heartbeat(1, (*a)->member_id), GroupError::unknown_member_id);
}

TEST_F(CoordinatorTest, StableFollowerRejoiningUnchangedGetsTheCurrentGeneration) {
  auto ids = stable_group({"a", "b"});
  auto b = join(request(ids[1], "b"));
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->generation_id, 1);
  EXPECT_EQ((*b)->leader_id, ids[0]);
  EXPECT_EQ(state(), "Stable");
  auto a = join(request(ids[0], "a"));  // the leader rejoining asks for a rebalance
  EXPECT_FALSE(a->has_value());
  EXPECT_EQ(state(), "PreparingRebalance");
}

TEST_F(CoordinatorTest, StaticMemberRejoinsWithoutRebalanceAndFencesItsOldId) {
  auto a = join(static_request("", "i-a"));
  auto b = join(request("", "b"));
  settle({a, b});
  const std::string old_id = (*a)->member_id, bid = (*b)->member_id;
  EXPECT_EQ(old_id.rfind("i-a-", 0), 0u) << old_id;
  sync(1, bid);
  sync(1, old_id, {{old_id, "pa"}, {bid, "pb"}}, "i-a");
  ASSERT_EQ(state(), "Stable");

  auto a2 = join(static_request("", "i-a"));  // the instance restarted
  ASSERT_TRUE(a2->has_value()) << "answered at once: no rebalance";
  const std::string new_id = (*a2)->member_id;
  EXPECT_EQ((*a2)->error, GroupError::none);
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ((*a2)->generation_id, 1);
  EXPECT_EQ((*a2)->leader_id, old_id) << "the pre-swap leader id, so no assignment is computed";
  EXPECT_TRUE((*a2)->members.empty());
  EXPECT_EQ(state(), "Stable");
  EXPECT_EQ(leader(), new_id);

  EXPECT_EQ(heartbeat(1, old_id, "i-a"), GroupError::fenced_instance_id);
  EXPECT_EQ(heartbeat(1, old_id), GroupError::unknown_member_id);
  EXPECT_EQ(heartbeat(1, new_id, "i-a"), GroupError::none);
  EXPECT_EQ(heartbeat(1, bid), GroupError::none);
  auto s = sync(1, new_id, {}, "i-a");
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->assignment, "pa") << "the instance keeps its assignment";
  EXPECT_EQ((*join(static_request(old_id, "i-a")))->error, GroupError::fenced_instance_id);
  EXPECT_EQ((*sync(1, old_id, {}, "i-a"))->error, GroupError::fenced_instance_id);
  EXPECT_EQ(gc_.check_commit("g", 1, old_id, "i-a", now_), GroupError::fenced_instance_id);
  EXPECT_EQ(gc_.leave("g", {{old_id, "i-a"}}, now_),
            std::vector<GroupError>{GroupError::fenced_instance_id});
  EXPECT_EQ(gc_.leave("g", {{"", "i-unknown"}}, now_),
            std::vector<GroupError>{GroupError::unknown_member_id});
  EXPECT_EQ(gc_.leave("g", {{"", "i-a"}}, now_), std::vector<GroupError>{GroupError::none});
  EXPECT_EQ(state(), "PreparingRebalance");
}

TEST_F(CoordinatorTest, StaticMemberRejoinThatChangesTheProtocolRebalances) {
  auto a = join(static_request("", "i-a"));
  JoinRequest rb = request("", "b", protocols({"range", "roundrobin"}));
  auto b = join(rb);
  settle({a, b});
  sync(1, (*b)->member_id);
  sync(1, (*a)->member_id, {}, "i-a");
  JoinRequest ra = static_request("", "i-a");
  ra.protocols = protocols({"roundrobin", "range"});
  auto a2 = join(ra);  // votes tie 1:1; the first member now prefers roundrobin
  EXPECT_FALSE(a2->has_value());
  EXPECT_EQ(state(), "PreparingRebalance");
  auto b2 = join(request((*b)->member_id, "b", protocols({"range", "roundrobin"})));
  ASSERT_TRUE(a2->has_value());
  EXPECT_EQ((*a2)->generation_id, 2);
  EXPECT_EQ((*a2)->protocol_name, "roundrobin");
}

TEST_F(CoordinatorTest, StaticRestartDuringARebalanceFencesTheOldJoin) {
  auto a = join(static_request("", "i-a"));
  auto b = join(request("", "b"));
  settle({a, b});
  const std::string old_id = (*a)->member_id, bid = (*b)->member_id;
  auto c = join(request("", "c"));
  auto a_rejoin = join(static_request(old_id, "i-a"));
  auto a2 = join(static_request("", "i-a"));
  ASSERT_TRUE(a_rejoin->has_value());
  EXPECT_EQ((*a_rejoin)->error, GroupError::fenced_instance_id);
  EXPECT_FALSE(a2->has_value());
  auto b2 = join(request(bid, "b"));
  ASSERT_TRUE(a2->has_value());
  EXPECT_EQ((*a2)->generation_id, 2);
  EXPECT_EQ((*a2)->leader_id, (*a2)->member_id) << "leadership moves with the instance";
  EXPECT_EQ((*a2)->members.size(), 3u);
}

TEST_F(CoordinatorTest, StaticMemberKeepsItsPlaceThroughARebalanceItMisses) {
  JoinRequest ra = static_request("", "i-a");
  ra.session_timeout_ms = 2 * kRebalanceMs;
  auto a = join(ra);
  auto b = join(request("", "b"));
  settle({a, b});
  const std::string aid = (*a)->member_id, bid = (*b)->member_id;
  sync(1, bid);
  sync(1, aid, {}, "i-a");
  auto c = join(request("", "c"));
  auto b2 = join(request(bid, "b"));
  advance(kRebalanceMs);  // a does not rejoin, but its session is long
  ASSERT_TRUE(b2->has_value());
  EXPECT_EQ((*b2)->generation_id, 2);
  EXPECT_EQ((*b2)->leader_id, bid) << "a rejoined member leads";
  EXPECT_EQ((*b2)->members.size(), 3u) << "the static member stays in the generation";
  EXPECT_EQ(heartbeat(2, aid, "i-a"), GroupError::none);
}

TEST_F(CoordinatorTest, CheckCommitFollowsKafkasRules) {
  EXPECT_EQ(gc_.check_commit("solo", -1, "", std::nullopt, now_), GroupError::none);
  EXPECT_EQ(gc_.check_commit("solo", 3, "m", std::nullopt, now_), GroupError::illegal_generation);
  auto ids = stable_group({"a", "b"});
  auto commit = [&](int32_t gen, const std::string& member) {
    return gc_.check_commit("g", gen, member, std::nullopt, now_);
  };
  EXPECT_EQ(commit(1, ids[0]), GroupError::none);
  EXPECT_EQ(commit(0, ids[0]), GroupError::illegal_generation);
  EXPECT_EQ(commit(-1, ids[0]), GroupError::illegal_generation);
  EXPECT_EQ(commit(-1, ""), GroupError::unknown_member_id) << "simple commit into an active group";
  EXPECT_EQ(commit(1, "stranger"), GroupError::unknown_member_id);

  auto c = join(request("", "c"));
  EXPECT_EQ(commit(1, ids[1]), GroupError::none) << "PreparingRebalance still takes commits";
  auto a = join(request(ids[0], "a"));
  auto b = join(request(ids[1], "b"));
  ASSERT_EQ(state(), "CompletingRebalance");
  EXPECT_EQ(commit(2, ids[0]), GroupError::rebalance_in_progress);
  EXPECT_EQ(commit(1, ids[0]), GroupError::illegal_generation);

  EXPECT_EQ(gc_.leave("g", {{ids[0], std::nullopt}, {ids[1], std::nullopt},
                            {(*c)->member_id, std::nullopt}}, now_).size(), 3u);
  ASSERT_EQ(state(), "Empty");
  EXPECT_EQ(commit(-1, ""), GroupError::none);
  EXPECT_EQ(commit(-1, "whoever"), GroupError::none);
  EXPECT_EQ(commit(2, ids[0]), GroupError::unknown_member_id);
}

class ShortNewMemberTimeoutTest : public CoordinatorTest {
 protected:
  static GroupCoordinatorOptions options() {
    GroupCoordinatorOptions o = test_options();
    o.new_member_join_timeout_ms = 1000;
    return o;
  }
  ShortNewMemberTimeoutTest() : CoordinatorTest(options()) {}
};

TEST_F(ShortNewMemberTimeoutTest, NewMemberStuckInItsFirstJoinIsDropped) {
  auto ids = stable_group({"a"});
  auto c = join(request("", "c"));
  advance(999);
  EXPECT_FALSE(c->has_value());
  EXPECT_EQ(heartbeat(1, ids[0]), GroupError::rebalance_in_progress);
  advance(1);
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->error, GroupError::unknown_member_id);
  auto a = join(request(ids[0], "a"));
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->members.size(), 1u);
}

}  // namespace
}  // namespace tessera::kafka::test
