// GroupCoordinator: joining, syncing, validation, protocol selection,
// limits and diagnostics. Rebalances, static members and commit checks are in
// group_coordinator_rebalance_test.cc.

#include "gateway/kafka/server/group_coordinator.h"

#include <gtest/gtest.h>

#include <thread>

#include "gateway/kafka/server/group_coordinator_test_util.h"

namespace tessera::kafka::test {
namespace {

TEST_F(CoordinatorTest, SingleMemberJoinSyncHeartbeatBecomesStable) {
  auto j = join(request(""));
  EXPECT_FALSE(j->has_value()) << "an Empty group waits the initial delay";
  EXPECT_EQ(state(), "PreparingRebalance");
  advance(kDelayMs);
  ASSERT_TRUE(j->has_value());
  const JoinResult& r = **j;
  EXPECT_EQ(r.error, GroupError::none);
  EXPECT_EQ(r.generation_id, 1);
  EXPECT_EQ(r.protocol_type, "consumer");
  EXPECT_EQ(r.protocol_name, "range");
  EXPECT_EQ(r.leader_id, r.member_id);
  EXPECT_EQ(r.member_id.rfind("client-", 0), 0u) << r.member_id;
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].metadata, "meta-range");
  EXPECT_EQ(state(), "CompletingRebalance");
  EXPECT_EQ(heartbeat(1, r.member_id), GroupError::none);

  auto s = sync(1, r.member_id, {{r.member_id, "mine"}});
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->error, GroupError::none);
  EXPECT_EQ((*s)->assignment, "mine");
  EXPECT_EQ((*s)->protocol_name, "range");
  EXPECT_EQ(state(), "Stable");
  EXPECT_EQ(heartbeat(1, r.member_id), GroupError::none);

  // A Stable group answers a repeated sync at once with the stored assignment.
  auto again = sync(1, r.member_id);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->assignment, "mine");
  auto d = gc_.describe("g");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->protocol_name, "range");
  ASSERT_EQ(d->members.size(), 1u);
  EXPECT_EQ(d->members[0].assignment, "mine");
  EXPECT_EQ(d->members[0].client_host, "/10.0.0.1");
}

TEST_F(CoordinatorTest, MemberIdRequiredHandsOutAnIdThenJoins) {
  JoinRequest first = request("");
  first.require_known_member_id = true;
  auto j = join(first);
  ASSERT_TRUE(j->has_value()) << "MEMBER_ID_REQUIRED is answered at once";
  EXPECT_EQ((*j)->error, GroupError::member_id_required);
  const std::string id = (*j)->member_id;
  EXPECT_EQ(id, "client-00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(state(), "Empty") << "a handed-out id does not start a rebalance";

  auto bogus = join(request("client-not-handed-out"));
  ASSERT_TRUE(bogus->has_value());
  EXPECT_EQ((*bogus)->error, GroupError::unknown_member_id);

  JoinRequest second = request(id);
  second.require_known_member_id = true;
  auto j2 = join(second);
  advance(kDelayMs);
  ASSERT_TRUE(j2->has_value());
  EXPECT_EQ((*j2)->error, GroupError::none);
  EXPECT_EQ((*j2)->member_id, id);
  EXPECT_EQ((*j2)->leader_id, id);
}

TEST_F(CoordinatorTest, HandedOutIdExpiresAfterTheSessionTimeout) {
  JoinRequest first = request("");
  first.require_known_member_id = true;
  auto j = join(first);
  const std::string id = (*j)->member_id;
  EXPECT_EQ(gc_.next_deadline_ms(), now_ + kSessionMs);
  advance(kSessionMs);
  EXPECT_EQ(state(), "Dead") << "a group that only held an unused id is forgotten";
  auto late = join(request(id));
  ASSERT_TRUE(late->has_value());
  EXPECT_EQ((*late)->error, GroupError::unknown_member_id);
}

TEST_F(CoordinatorTest, InjectedRandomSourceFormsMemberIds) {
  GroupCoordinatorOptions o = test_options();
  uint64_t next = 0x0123456789abcdefULL;
  o.random = [&next] { return next++; };
  GroupCoordinator gc(std::move(o));
  JoinRequest r = request("");
  r.require_known_member_id = true;
  std::string id;
  gc.join(r, [&](JoinResult jr) { id = jr.member_id; }, now_);
  EXPECT_EQ(id, "client-01234567-89ab-cdef-0123-456789abcdf0");
}

TEST_F(CoordinatorTest, ThreeMembersJoinOneGenerationWithinTheInitialDelay) {
  auto a = join(request("", "a"));
  advance(kDelayMs / 2);
  auto b = join(request("", "b"));
  advance(kDelayMs / 2 - 10);
  auto c = join(request("", "c"));
  advance(10);  // the first delay ends; members kept arriving, so it extends
  EXPECT_FALSE(a->has_value());
  EXPECT_EQ(state(), "PreparingRebalance");
  advance(kDelayMs);
  for (const auto& s : {a, b, c}) {
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ((*s)->error, GroupError::none);
    EXPECT_EQ((*s)->generation_id, 1);
    EXPECT_EQ((*s)->leader_id, (*a)->member_id);
  }
  EXPECT_EQ((*a)->members.size(), 3u) << "the leader gets every member";
  EXPECT_TRUE((*b)->members.empty());
  EXPECT_TRUE((*c)->members.empty());
  EXPECT_EQ((*a)->members[1].member_id, (*b)->member_id) << "members are listed in join order";
}

TEST_F(CoordinatorTest, InitialDelayExtensionsAreBoundedByTheRebalanceTimeout) {
  std::vector<Slot<JoinResult>> slots;
  JoinRequest r = request("", "a");
  r.rebalance_timeout_ms = 3 * kDelayMs;
  slots.push_back(join(r));
  // A member arrives in every window; the phase still ends by the
  // rebalance timeout (one delay, then the remaining two).
  for (int i = 0; i < 3; ++i) {
    advance(kDelayMs - 1);
    JoinRequest next = request("", "m" + std::to_string(i));
    next.rebalance_timeout_ms = 3 * kDelayMs;
    slots.push_back(join(next));
    advance(1);
  }
  for (const auto& s : slots) ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*slots[0])->members.size(), 4u);
}

TEST_F(CoordinatorTest, ValidationErrors) {
  JoinRequest no_group = request("");
  no_group.group_id = "";
  auto j = join(no_group);
  EXPECT_EQ((*j)->error, GroupError::invalid_group_id);

  JoinRequest too_short = request("");
  too_short.session_timeout_ms = 5999;
  EXPECT_EQ((*join(too_short))->error, GroupError::invalid_session_timeout);
  JoinRequest too_long = request("");
  too_long.session_timeout_ms = 300001;
  EXPECT_EQ((*join(too_long))->error, GroupError::invalid_session_timeout);

  auto unknown = join(request("someone"));
  EXPECT_EQ((*unknown)->error, GroupError::unknown_member_id) << "member id for a missing group";
  EXPECT_EQ(state(), "Dead");

  EXPECT_EQ(heartbeat(1, "someone"), GroupError::unknown_member_id);
  EXPECT_EQ((*sync(1, "someone"))->error, GroupError::unknown_member_id);
  EXPECT_EQ(gc_.leave("g", {{"someone", std::nullopt}}, now_),
            std::vector<GroupError>{GroupError::unknown_member_id});
}

TEST_F(CoordinatorTest, IllegalGenerationAndUnknownMember) {
  auto ids = stable_group({"a", "b"});
  EXPECT_EQ(heartbeat(0, ids[0]), GroupError::illegal_generation);
  EXPECT_EQ(heartbeat(2, ids[1]), GroupError::illegal_generation);
  EXPECT_EQ(heartbeat(1, "stranger"), GroupError::unknown_member_id);
  EXPECT_EQ((*sync(7, ids[1]))->error, GroupError::illegal_generation);
  EXPECT_EQ((*sync(1, "stranger"))->error, GroupError::unknown_member_id);

  SyncRequest wrong_protocol;
  wrong_protocol.group_id = "g";
  wrong_protocol.generation_id = 1;
  wrong_protocol.member_id = ids[1];
  wrong_protocol.protocol_name = "roundrobin";
  GroupError seen = GroupError::none;
  gc_.sync(wrong_protocol, [&](SyncResult r) { seen = r.error; }, now_);
  EXPECT_EQ(seen, GroupError::inconsistent_group_protocol);
}

TEST_F(CoordinatorTest, InconsistentProtocolTypeOrProtocols) {
  JoinRequest untyped = request("");
  untyped.protocol_type = "";
  EXPECT_EQ((*join(untyped))->error, GroupError::inconsistent_group_protocol);
  JoinRequest no_protocols = request("", "client", {});
  EXPECT_EQ((*join(no_protocols))->error, GroupError::inconsistent_group_protocol);

  stable_group({"a"});
  JoinRequest connect = request("", "b");
  connect.protocol_type = "connect";
  auto j = join(connect);
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, GroupError::inconsistent_group_protocol);
  auto disjoint = join(request("", "c", protocols({"sticky"})));
  ASSERT_TRUE(disjoint->has_value());
  EXPECT_EQ((*disjoint)->error, GroupError::inconsistent_group_protocol);
  EXPECT_EQ(state(), "Stable") << "a refused member changes nothing";
}

TEST_F(CoordinatorTest, ProtocolWithTheMostVotesAmongCommonOnesWins) {
  auto a = join(request("", "a", protocols({"x", "y"})));
  auto b = join(request("", "b", protocols({"y", "x"})));
  auto c = join(request("", "c", protocols({"z", "y", "x"})));
  settle({a, b, c});
  // Common: x and y. Votes: a -> x, b -> y, c -> y.
  EXPECT_EQ((*a)->protocol_name, "y");
  EXPECT_EQ((*a)->members[0].metadata, "meta-y");
  EXPECT_EQ((*c)->protocol_name, "y");
}

TEST_F(CoordinatorTest, ProtocolVoteTieGoesToTheFirstMembersPreference) {
  auto a = join(request("", "a", protocols({"x", "y"})));
  auto b = join(request("", "b", protocols({"y", "x"})));
  settle({a, b});
  EXPECT_EQ((*a)->protocol_name, "x");
}

TEST_F(CoordinatorTest, FollowersSyncWaitsForTheLeader) {
  auto a = join(request("", "a"));
  auto b = join(request("", "b"));
  auto c = join(request("", "c"));
  settle({a, b, c});
  const std::string la = (*a)->member_id, lb = (*b)->member_id, lc = (*c)->member_id;
  auto sb = sync(1, lb);
  auto sc = sync(1, lc);
  EXPECT_FALSE(sb->has_value());
  EXPECT_FALSE(sc->has_value());
  EXPECT_EQ(heartbeat(1, lb), GroupError::none) << "heartbeats while waiting are fine";
  auto sa = sync(1, la, {{la, "pa"}, {lb, "pb"}, {"not-a-member", "px"}});
  ASSERT_TRUE(sa->has_value());
  ASSERT_TRUE(sb->has_value());
  ASSERT_TRUE(sc->has_value());
  EXPECT_EQ((*sa)->assignment, "pa");
  EXPECT_EQ((*sb)->assignment, "pb");
  EXPECT_EQ((*sc)->error, GroupError::none);
  EXPECT_EQ((*sc)->assignment, "") << "a member the leader left out gets an empty assignment";
  EXPECT_EQ(state(), "Stable");
}

TEST_F(CoordinatorTest, GroupMaxSizeRefusesExtraMembers) {
  GroupCoordinatorOptions o = test_options();
  o.group_members_max = 2;
  GroupCoordinator gc(std::move(o));
  std::vector<GroupError> errors;
  for (const char* c : {"a", "b", "c"}) {
    JoinRequest r = request("", c);
    gc.join(r, [&](JoinResult jr) { errors.push_back(jr.error); }, now_);
  }
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], GroupError::group_max_size_reached);
  gc.tick(now_ + kDelayMs);
  gc.tick(now_ + 2 * kDelayMs);
  EXPECT_EQ(errors.size(), 3u);
  EXPECT_EQ(gc.describe("g")->members.size(), 2u);
}

TEST_F(CoordinatorTest, FullGroupStillTakesBackARestartingStaticMember) {
  GroupCoordinatorOptions o = test_options();
  o.group_members_max = 1;
  GroupCoordinator gc(std::move(o));
  JoinResult first, second;
  gc.join(static_request("", "i-a"), [&](JoinResult r) { first = std::move(r); }, now_);
  gc.tick(now_ + kDelayMs);
  gc.sync(SyncRequest{"g", 1, first.member_id, "i-a", {}, {}, {}}, [](SyncResult) {}, now_);
  gc.join(static_request("", "i-a"), [&](JoinResult r) { second = std::move(r); }, now_);
  EXPECT_EQ(second.error, GroupError::none);
  EXPECT_NE(second.member_id, first.member_id);
  GroupError third = GroupError::none;
  gc.join(request("", "b"), [&](JoinResult r) { third = r.error; }, now_);
  EXPECT_EQ(third, GroupError::group_max_size_reached);
}

TEST_F(CoordinatorTest, CallbacksMayReenterTheCoordinator) {
  GroupError from_callback = GroupError::unknown_member_id;
  Slot<SyncResult> nested_sync;
  gc_.join(request(""), [&](JoinResult r) {
    from_callback = gc_.heartbeat("g", r.generation_id, r.member_id, std::nullopt, now_);
    nested_sync = sync(r.generation_id, r.member_id, {{r.member_id, "x"}});
  }, now_);
  advance(kDelayMs);
  EXPECT_EQ(from_callback, GroupError::none);
  ASSERT_TRUE(nested_sync && nested_sync->has_value());
  EXPECT_EQ((*nested_sync)->assignment, "x");
  EXPECT_EQ(state(), "Stable");
}

TEST_F(CoordinatorTest, ListDescribeAndDelete) {
  stable_group({"a"});
  auto groups = gc_.list_groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].group_id, "g");
  EXPECT_EQ(groups[0].protocol_type, "consumer");
  EXPECT_EQ(groups[0].state, "Stable");
  EXPECT_FALSE(gc_.describe("other").has_value());
  EXPECT_EQ(gc_.delete_group("g"), GroupError::non_empty_group);
  EXPECT_EQ(gc_.delete_group("other"), GroupError::group_id_not_found);
  const std::string id = gc_.describe("g")->members[0].member_id;
  EXPECT_EQ(gc_.leave("g", {{id, std::nullopt}}, now_), std::vector<GroupError>{GroupError::none});
  EXPECT_EQ(state(), "Empty");
  EXPECT_EQ(gc_.list_groups()[0].state, "Empty");
  EXPECT_EQ(gc_.delete_group("g"), GroupError::none);
  EXPECT_TRUE(gc_.list_groups().empty());
}

TEST_F(CoordinatorTest, UnloadAnswersPendingCallbacksWithNotCoordinator) {
  auto j = join(request(""));
  gc_.unload_all();
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, GroupError::not_coordinator);
  EXPECT_TRUE(gc_.list_groups().empty());
  EXPECT_FALSE(gc_.next_deadline_ms().has_value());
}

TEST_F(CoordinatorTest, NextDeadlineFollowsTheTimers) {
  EXPECT_FALSE(gc_.next_deadline_ms().has_value());
  auto j = join(request(""));
  EXPECT_EQ(gc_.next_deadline_ms(), now_ + kDelayMs);
  advance(kDelayMs);
  // Completing: the sync deadline (rebalance timeout) and the session.
  EXPECT_EQ(gc_.next_deadline_ms(), now_ + kSessionMs);
  sync(1, (*j)->member_id);
  EXPECT_EQ(gc_.next_deadline_ms(), now_ + kSessionMs);
}

TEST(GroupCoordinatorThreads, IndependentGroupsFromManyThreads) {
  GroupCoordinatorOptions o;
  o.initial_rebalance_delay_ms = 0;  // a lone member's join completes at once
  GroupCoordinator gc(std::move(o));
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&gc, &failures, t] {
      const std::string group = "g" + std::to_string(t);
      for (int round = 0; round < kRounds; ++round) {
        JoinRequest r;
        r.group_id = group;
        r.client_id = "c";
        r.session_timeout_ms = kSessionMs;
        r.protocol_type = "consumer";
        r.protocols = protocols({"range"});
        JoinResult joined;
        gc.join(r, [&](JoinResult jr) { joined = std::move(jr); }, 0);
        SyncRequest s{group, joined.generation_id, joined.member_id, {}, {}, {}, {}};
        GroupError synced = GroupError::unknown_member_id;
        gc.sync(s, [&](SyncResult sr) { synced = sr.error; }, 0);
        if (joined.error != GroupError::none || synced != GroupError::none ||
            gc.heartbeat(group, joined.generation_id, joined.member_id, std::nullopt, 0) !=
                GroupError::none ||
            gc.leave(group, {{joined.member_id, std::nullopt}}, 0)[0] != GroupError::none) {
          ++failures[t];
        }
        gc.tick(0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
  EXPECT_EQ(gc.list_groups().size(), size_t{kThreads});
}

TEST(GroupCoordinatorNames, ErrorAndStateNames) {
  EXPECT_EQ(group_error_name(GroupError::member_id_required), "MEMBER_ID_REQUIRED");
  EXPECT_EQ(static_cast<int16_t>(GroupError::fenced_instance_id), 82);
  EXPECT_EQ(static_cast<int16_t>(GroupError::rebalance_in_progress), 27);
  EXPECT_EQ(group_state_name(GroupState::completing_rebalance), "CompletingRebalance");
}

}  // namespace
}  // namespace tessera::kafka::test
