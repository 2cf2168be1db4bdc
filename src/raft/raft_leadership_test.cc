// Leader transfer (thesis §3.10), check-quorum and leader stickiness
// (§6.2, §4.2.3), ReadIndex (§6.4) and replication flow control.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "raft/test_network.h"

namespace tessera::raft {
namespace {

using test_support::numbered;
using test_support::TestNetwork;

TEST(Transfer, CaughtUpTargetLeadsWithinAFewTicks) {
  TestNetwork net(3, 21);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(net.raft(leader).propose("a").is_ok());
  net.run_ticks(2);
  uint64_t target = leader % 3 + 1;
  Term term = net.raft(leader).term();
  net.raft(leader).transfer_leadership(NodeId(target));
  net.process();
  for (int i = 0; i < 3 && net.leader() != target; ++i) net.tick_all();
  EXPECT_EQ(net.leader(), target);
  EXPECT_EQ(net.raft(target).term(), Term(term.value + 1)) << "one election, no pre-vote round";
  EXPECT_EQ(net.raft(leader).role(), Role::follower);
  ASSERT_TRUE(net.raft(target).propose("b").is_ok());
  ASSERT_TRUE(net.wait_applied({1, 2, 3}, net.raft(target).log().last_index()));
  EXPECT_EQ(net.applied_data(leader), (std::vector<std::string>{"a", "b"}));
}

TEST(Transfer, LaggingTargetIsBroughtUpToDateFirst) {
  Config config;
  config.max_entries_per_append = 2;
  TestNetwork net(3, 22, config);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t target = leader % 3 + 1;
  net.isolate(target);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(net.raft(leader).propose(numbered("v", i)).is_ok());
  net.run_ticks(2);
  net.heal();
  net.raft(leader).transfer_leadership(NodeId(target));
  EXPECT_EQ(net.raft(leader).propose("refused").status().code(), Errc::unavailable);
  net.process();
  for (int i = 0; i < 5 && net.leader() != target; ++i) net.tick_all();
  ASSERT_EQ(net.leader(), target);
  EXPECT_EQ(net.raft(target).log().last_index(), net.raft(leader).log().last_index() );
  net.run_ticks(2);
  EXPECT_EQ(net.applied_data(target).size(), 20u);
}

TEST(Transfer, RefusesProposalsThenGivesUpAfterElectionTimeout) {
  TestNetwork net(3, 23);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t target = leader % 3 + 1;
  net.isolate(target);
  ASSERT_TRUE(net.raft(leader).propose("x").is_ok());
  net.run_ticks(1);
  net.raft(leader).transfer_leadership(NodeId(target));
  EXPECT_EQ(net.raft(leader).transferee(), NodeId(target));
  Result<LogIndex> refused = net.raft(leader).propose("y");
  EXPECT_EQ(refused.status().code(), Errc::unavailable);
  EXPECT_EQ(net.raft(leader)
                .propose_conf_change({ConfChangeType::add_learner, NodeId(9)})
                .status()
                .code(),
            Errc::unavailable);
  net.run_ticks(10);  // election_ticks
  EXPECT_EQ(net.leader(), leader);
  EXPECT_EQ(net.raft(leader).transferee(), kNoNode);
  EXPECT_TRUE(net.raft(leader).propose("z").is_ok());
}

TEST(CheckQuorum, PartitionedLeaderStepsDown) {
  for (bool check_quorum : {true, false}) {
    Config config;
    config.check_quorum = check_quorum;
    TestNetwork net(3, 24, config);
    uint64_t leader = net.elect();
    ASSERT_NE(leader, 0u);
    net.isolate(leader);
    net.run_ticks(config.election_ticks + 1);
    if (check_quorum) {
      EXPECT_EQ(net.raft(leader).role(), Role::follower);
      EXPECT_EQ(net.raft(leader).propose("x").status().code(), Errc::unavailable);
    } else {
      EXPECT_EQ(net.raft(leader).role(), Role::leader) << "contrast: it stays leader";
    }
  }
}

TEST(CheckQuorum, HealthyLeaderStays) {
  TestNetwork net(5, 25);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  // Two followers down: a quorum (3 of 5) still answers.
  net.set_group(leader % 5 + 1, 1);
  net.set_group((leader + 1) % 5 + 1, 1);
  net.run_ticks(100);
  EXPECT_EQ(net.leader(), leader);
  EXPECT_EQ(net.raft(leader).role(), Role::leader);
  std::map<NodeId, Raft::PeerProgress> progress = net.raft(leader).progress();
  EXPECT_EQ(progress.size(), 5u);
  EXPECT_FALSE(progress.at(NodeId(leader % 5 + 1)).recently_active);
  EXPECT_TRUE(progress.at(NodeId((leader + 2) % 5 + 1)).recently_active);
}

// Thesis §4.2.3: a node that comes back with a higher term cannot make
// voters with a live leader abandon it.
void check_sticky(bool pre_vote) {
  Config config;
  config.pre_vote = pre_vote;
  TestNetwork net(3, 26, config);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  Term term = net.raft(leader).term();
  uint64_t rejoining = leader % 3 + 1;
  uint64_t other = 6 - leader - rejoining;
  net.isolate(rejoining);
  net.run_ticks(100);
  if (pre_vote) {
    EXPECT_EQ(net.raft(rejoining).term(), term) << "pre-vote: no term bump while partitioned";
  } else {
    EXPECT_GT(net.raft(rejoining).term(), term) << "it campaigned while partitioned";
  }
  // Reconnected; only the rejoining node's clock runs, so the others still
  // hear from a live leader and ignore its (pre-)vote requests.
  net.heal();
  for (int i = 0; i < 100; ++i) net.tick_one(rejoining);
  EXPECT_EQ(net.raft(leader).role(), Role::leader);
  EXPECT_EQ(net.raft(leader).term(), term);
  EXPECT_EQ(net.raft(other).term(), term);
  EXPECT_EQ(net.raft(other).leader(), NodeId(leader));
  EXPECT_NE(net.raft(rejoining).role(), Role::leader);
}

TEST(Stickiness, RejoiningNodeCannotDisruptWithPreVote) { check_sticky(true); }
TEST(Stickiness, RejoiningNodeCannotDisruptWithoutPreVote) { check_sticky(false); }

TEST(Stickiness, WithoutCheckQuorumVotesDepose) {
  Config config;
  config.pre_vote = false;
  config.check_quorum = false;
  TestNetwork net(3, 26, config);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  Term term = net.raft(leader).term();
  uint64_t rejoining = leader % 3 + 1;
  net.isolate(rejoining);
  net.run_ticks(100);
  net.heal();
  for (int i = 0; i < 100; ++i) net.tick_one(rejoining);
  EXPECT_GT(net.raft(leader).term(), term) << "contrast: the vote request bumps the term";
}

bool has_read(const std::vector<ReadState>& states, uint64_t context, bool want_index) {
  return std::any_of(states.begin(), states.end(), [&](const ReadState& rs) {
    return rs.context == context && (rs.index != LogIndex(0)) == want_index;
  });
}

TEST(ReadIndex, AnsweredAfterQuorumConfirms) {
  TestNetwork net(3, 27);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  Result<LogIndex> a = net.raft(leader).propose("a");
  ASSERT_TRUE(a.is_ok());
  net.run_ticks(2);

  // Followers unreachable: no confirmation, no answer.
  for (uint64_t id = 1; id <= 3; ++id) {
    if (id != leader) net.set_group(id, 1);
  }
  net.raft(leader).read_index(7);
  net.process();
  EXPECT_TRUE(net.node(leader).read_states.empty());
  // One follower back: leader + one = quorum.
  net.set_group(leader % 3 + 1, 0);
  net.run_ticks(1);
  ASSERT_EQ(net.node(leader).read_states.size(), 1u);
  EXPECT_EQ(net.node(leader).read_states[0].context, 7u);
  EXPECT_EQ(net.node(leader).read_states[0].index, net.raft(leader).commit_index());
  EXPECT_GE(net.node(leader).read_states[0].index, *a);

  // A follower answers "not leader" at once.
  uint64_t follower = leader % 3 + 1;
  net.raft(follower).read_index(9);
  net.process();
  ASSERT_EQ(net.node(follower).read_states.size(), 1u);
  EXPECT_EQ(net.node(follower).read_states[0], (ReadState{9, LogIndex(0)}));
}

TEST(ReadIndex, PartitionedLeaderNeverAnswersWithAnIndex) {
  TestNetwork net(3, 28);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  net.run_ticks(2);
  net.isolate(leader);
  net.raft(leader).read_index(8);
  uint64_t new_leader = 0;
  ASSERT_TRUE(net.tick_until([&] {
    new_leader = net.leader();
    return new_leader != 0 && new_leader != leader;
  }));
  ASSERT_TRUE(net.raft(new_leader).propose("newer").is_ok());
  net.run_ticks(15);
  EXPECT_FALSE(has_read(net.node(leader).read_states, 8, true)) << "a stale read";
  EXPECT_EQ(net.raft(leader).role(), Role::follower) << "check-quorum stepped it down";
  EXPECT_TRUE(has_read(net.node(leader).read_states, 8, false)) << "told to retry elsewhere";
}

TEST(ReadIndex, WaitsForCommitInTermAndQuorum) {
  Config config;
  config.pre_vote = false;
  Raft r(NodeId(1), config, 3,
         RestoredState{.conf = {.voters = {NodeId(1), NodeId(2), NodeId(3)}}});
  for (int i = 0; i < 100 && r.role() != Role::candidate; ++i) r.tick();
  r.step(Message{.type = MessageType::vote_reply, .from = NodeId(2), .to = NodeId(1), .term = r.term()});
  ASSERT_EQ(r.role(), Role::leader);
  auto drain = [&r] {
    Ready ready = r.take_ready();
    r.advance();
    return ready;
  };
  (void)drain();
  r.read_index(42);
  EXPECT_TRUE(drain().read_states.empty()) << "no entry of its term committed yet";
  // The no-op commits; a heartbeat round with a context goes out.
  r.step(Message{.type = MessageType::append_reply, .from = NodeId(2), .to = NodeId(1),
                 .term = r.term(), .index = LogIndex(1)});
  Ready ready = drain();
  EXPECT_TRUE(ready.read_states.empty());
  uint64_t round = 0;
  for (const Message& m : ready.messages) {
    if (m.type == MessageType::append) round = std::max(round, m.context);
  }
  ASSERT_GT(round, 0u);
  // A reply to an older round does not confirm; the current round does.
  r.step(Message{.type = MessageType::append_reply, .from = NodeId(3), .to = NodeId(1),
                 .term = r.term(), .index = LogIndex(1), .context = round - 1});
  EXPECT_TRUE(drain().read_states.empty());
  r.step(Message{.type = MessageType::append_reply, .from = NodeId(3), .to = NodeId(1),
                 .term = r.term(), .index = LogIndex(1), .context = round});
  std::vector<ReadState> states = drain().read_states;
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0], (ReadState{42, LogIndex(1)}));
}

TEST(ReadIndex, SingleNodeAnswersAtOnce) {
  TestNetwork net(1, 29);
  ASSERT_EQ(net.elect(), 1u);
  net.raft(1).read_index(5);
  net.process();
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0], (ReadState{5, LogIndex(1)}));
}

TEST(FlowControl, InflightLimitRespectedAndHeartbeatsFlow) {
  Config config;
  config.max_inflight_appends = 2;
  config.max_entries_per_append = 1;
  TestNetwork net(3, 30, config);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(net.raft(leader).propose("warm").is_ok());
  net.run_ticks(2);  // the followers are now in the pipelining state
  uint64_t slow = leader % 3 + 1;
  net.isolate(slow);  // it receives nothing and answers nothing
  net.record(true);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.raft(leader).propose(numbered("v", i)).is_ok());
  net.run_ticks(3);
  size_t with_entries = 0;
  size_t heartbeats = 0;
  for (const Message& m : net.sent()) {
    if (m.type != MessageType::append || m.to != NodeId(slow)) continue;
    (m.entries.empty() ? heartbeats : with_entries)++;
  }
  EXPECT_EQ(with_entries, 2u) << "max_inflight_appends";
  EXPECT_GE(heartbeats, 3u) << "heartbeats still flow at the limit";
  net.heal();
  ASSERT_TRUE(net.wait_applied({1, 2, 3}, net.raft(leader).log().last_index()));
  EXPECT_EQ(net.applied_data(slow).size(), 11u);
}

TEST(FlowControl, BytesPerAppend) {
  Config config;
  config.max_bytes_per_append = 100;
  TestNetwork net(3, 31, config);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  net.record(true);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(net.raft(leader).propose(std::string(40, 'a')).is_ok());
  ASSERT_TRUE(net.raft(leader).propose(std::string(500, 'b')).is_ok());
  uint64_t follower = leader % 3 + 1;
  net.isolate(follower);
  net.run_ticks(2);
  net.heal();
  ASSERT_TRUE(net.wait_applied({1, 2, 3}, net.raft(leader).log().last_index()));
  bool big_sent = false;
  for (const Message& m : net.sent()) {
    if (m.type != MessageType::append || m.entries.empty()) continue;
    size_t bytes = 0;
    for (const Entry& e : m.entries) bytes += e.data.size();
    if (m.entries.size() > 1) {
      EXPECT_LE(bytes, 100u);
    }
    if (bytes == 500) big_sent = true;
  }
  EXPECT_TRUE(big_sent) << "an oversized entry still goes, alone";
  EXPECT_EQ(net.applied_data(follower).size(), 7u);
}

// A follower with a long conflicting suffix is repaired in a few round
// trips thanks to the term hint, not one index per round trip.
TEST(FlowControl, FastBackOffOverConflictingTerm) {
  Config config;
  config.pre_vote = false;
  std::vector<Entry> current{{Term(1), LogIndex(1), EntryType::normal, "a"}};
  for (uint64_t i = 2; i <= 60; ++i) current.push_back({Term(5), LogIndex(i), EntryType::normal, "b"});
  Raft leader(NodeId(1), config, 5,
              RestoredState{.hard_state = {.term = Term(5)},
                            .conf = {.voters = {NodeId(1), NodeId(2), NodeId(3)}},
                            .entries = current});
  std::vector<Entry> stale{{Term(1), LogIndex(1), EntryType::normal, "a"}};
  for (uint64_t i = 2; i <= 50; ++i) stale.push_back({Term(3), LogIndex(i), EntryType::normal, "x"});
  Raft follower(NodeId(2), config, 6,
                RestoredState{.hard_state = {.term = Term(5)},
                              .conf = {.voters = {NodeId(1), NodeId(2), NodeId(3)}},
                              .entries = stale, .applied = LogIndex(0)});
  for (int i = 0; i < 100 && leader.role() != Role::candidate; ++i) leader.tick();
  (void)leader.take_ready();
  leader.advance();
  leader.step(Message{.type = MessageType::vote_reply, .from = NodeId(3), .to = NodeId(1),
                      .term = leader.term()});
  ASSERT_EQ(leader.role(), Role::leader);
  int round_trips = 0;
  for (; round_trips < 10 && follower.log().last_index() != leader.log().last_index(); ++round_trips) {
    Ready lr = leader.take_ready();
    leader.advance();
    for (const Message& m : lr.messages) {
      if (m.to == NodeId(2)) follower.step(m);
    }
    Ready fr = follower.take_ready();
    follower.advance();
    for (const Message& m : fr.messages) leader.step(m);
  }
  EXPECT_EQ(follower.log().last_index(), leader.log().last_index());
  EXPECT_EQ(follower.log().at(LogIndex(2)).data, "b");
  EXPECT_LE(round_trips, 4);
}

}  // namespace
}  // namespace tessera::raft
