#include "raft/raft.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raft/test_network.h"

namespace tessera::raft {
namespace {

using test_support::TestNetwork;

// prefix + n, built by appending (GCC 12 -O3 warns falsely on operator+ here).
std::string numbered(std::string prefix, uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

TEST(Raft, SingleNodeCommitsImmediately) {
  TestNetwork net(1, 1);
  ASSERT_EQ(net.elect(), 1u);
  Result<LogIndex> index = net.raft(1).propose("a");
  ASSERT_TRUE(index.is_ok());
  EXPECT_EQ(net.raft(1).commit_index(), *index);
  net.process();
  EXPECT_EQ(net.applied_data(1), std::vector<std::string>{"a"});
}

TEST(Raft, ProposeOnFollowerIsUnavailable) {
  TestNetwork net(3, 2);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t follower = leader % 3 + 1;
  Result<LogIndex> r = net.raft(follower).propose("x");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::unavailable);
}

TEST(Raft, ThreeNodesElectExactlyOneLeader) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    TestNetwork net(3, seed);
    uint64_t leader = net.elect();
    ASSERT_NE(leader, 0u) << "seed " << seed;
    net.run_ticks(30);
    EXPECT_EQ(net.leader_count(), 1u);
    EXPECT_EQ(net.leader(), leader) << "a healthy cluster keeps its leader";
    for (uint64_t id = 1; id <= 3; ++id) {
      EXPECT_EQ(net.raft(id).leader().value, leader);
      EXPECT_EQ(net.raft(id).term(), net.raft(leader).term());
    }
  }
}

TEST(Raft, ProposalsCommitOnAllNodes) {
  TestNetwork net(3, 3);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) {
    want.push_back(numbered("v", i));
    ASSERT_TRUE(net.raft(leader).propose(want.back()).is_ok());
  }
  net.process();
  net.run_ticks(2);  // heartbeats carry the final commit index to followers
  for (uint64_t id = 1; id <= 3; ++id) EXPECT_EQ(net.applied_data(id), want) << "node " << id;
}

TEST(Raft, IsolatedLeaderIsReplacedAndItsUncommittedEntriesOverwritten) {
  TestNetwork net(3, 4);
  uint64_t old_leader = net.elect();
  ASSERT_NE(old_leader, 0u);
  ASSERT_TRUE(net.raft(old_leader).propose("committed").is_ok());
  net.process();
  net.run_ticks(2);

  net.isolate(old_leader);
  ASSERT_TRUE(net.raft(old_leader).propose("lost1").is_ok());
  ASSERT_TRUE(net.raft(old_leader).propose("lost2").is_ok());
  net.process();
  uint64_t new_leader = 0;
  for (int i = 0; i < 200 && new_leader == 0; ++i) {
    net.tick_all();
    for (uint64_t id = 1; id <= 3; ++id) {
      if (id != old_leader && net.raft(id).role() == Role::leader) new_leader = id;
    }
  }
  ASSERT_NE(new_leader, 0u);
  EXPECT_GT(net.raft(new_leader).term(), net.raft(old_leader).term());
  ASSERT_TRUE(net.raft(new_leader).propose("after").is_ok());
  net.process();

  net.heal();
  net.run_ticks(20);
  EXPECT_EQ(net.raft(old_leader).role(), Role::follower);
  EXPECT_EQ(net.leader(), new_leader);
  std::vector<std::string> want{"committed", "after"};
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(net.applied_data(id), want) << "node " << id;
    EXPECT_EQ(net.raft(id).log().last_index(), net.raft(new_leader).log().last_index());
    for (uint64_t i = 1; i <= net.raft(id).log().last_index().value; ++i) {
      EXPECT_NE(net.raft(id).log().at(LogIndex(i)).data, "lost1");
      EXPECT_NE(net.raft(id).log().at(LogIndex(i)).data, "lost2");
    }
  }
}

// §5.4.1: voters refuse a candidate whose log is behind theirs.
void check_stale_log_cannot_win(bool pre_vote) {
  Config config;
  config.pre_vote = pre_vote;
  // Leader stickiness would ignore the votes before the log is compared.
  config.check_quorum = false;
  TestNetwork net(3, 5, config);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t stale = leader % 3 + 1;
  net.isolate(stale);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.raft(leader).propose("e").is_ok());
  net.process();
  net.run_ticks(2);
  ASSERT_LT(net.raft(stale).log().last_index(), net.raft(leader).log().last_index());

  // Reconnect, but only the stale node's clock runs: it alone campaigns.
  net.heal();
  Term before = net.raft(leader).term();
  for (int i = 0; i < 100; ++i) {
    net.tick_one(stale);
    ASSERT_NE(net.raft(stale).role(), Role::leader);
  }
  uint64_t other = 6 - leader - stale;
  if (pre_vote) {
    EXPECT_EQ(net.raft(leader).term(), before) << "a refused pre-vote changes no term";
    EXPECT_EQ(net.raft(other).term(), before);
  } else {
    EXPECT_GT(net.raft(other).term(), before) << "real votes bump the term";
  }
}

TEST(Raft, StaleLogCannotWinElection) { check_stale_log_cannot_win(false); }
TEST(Raft, StaleLogCannotWinPreVote) { check_stale_log_cannot_win(true); }

TEST(Raft, PreVoteKeepsPartitionedNodeFromBumpingTerm) {
  for (bool pre_vote : {true, false}) {
    Config config;
    config.pre_vote = pre_vote;
    TestNetwork net(3, 6, config);
    uint64_t leader = net.elect();
    ASSERT_NE(leader, 0u);
    Term term = net.raft(leader).term();
    uint64_t partitioned = leader % 3 + 1;
    net.isolate(partitioned);
    net.run_ticks(100);
    net.heal();
    net.run_ticks(50);
    if (pre_vote) {
      EXPECT_EQ(net.raft(partitioned).term(), term);
      EXPECT_EQ(net.leader(), leader) << "rejoining node does not disrupt the leader";
      EXPECT_EQ(net.raft(leader).term(), term);
    } else {
      EXPECT_GT(net.raft(net.leader()).term(), term) << "without pre-vote the term is bumped";
    }
  }
}

// Drives one node by hand; returns the messages of its next Ready.
std::vector<Message> drain(Raft& r) {
  if (!r.has_ready()) return {};
  Ready ready = r.take_ready();
  r.advance();
  return std::move(ready.messages);
}

Message reply(MessageType type, uint64_t from, Term term, LogIndex index = LogIndex(0)) {
  return Message{.type = type, .from = NodeId(from), .to = NodeId(1), .term = term, .index = index};
}

// §5.4.2 (Figure 8): an entry from an earlier term is not committed by
// counting replicas, only together with an entry of the leader's own term.
TEST(Raft, CommitsOnlyCurrentTermEntriesByCounting) {
  Config config;
  config.pre_vote = false;
  RestoredState restored{
      .hard_state = {.term = Term(3), .vote = kNoNode, .commit = LogIndex(1)},
      .conf = {.voters = {NodeId(1), NodeId(2), NodeId(3), NodeId(4), NodeId(5)}},
      .entries = {{Term(1), LogIndex(1), EntryType::normal, "a"},
                  {Term(2), LogIndex(2), EntryType::normal, "b"}},
      .applied = LogIndex(1)};
  Raft r(NodeId(1), config, 7, restored);
  for (int i = 0; i < 100 && r.role() != Role::candidate; ++i) r.tick();
  ASSERT_EQ(r.role(), Role::candidate);
  ASSERT_EQ(r.term(), Term(4));
  (void)drain(r);
  r.step(reply(MessageType::vote_reply, 2, Term(4)));
  r.step(reply(MessageType::vote_reply, 3, Term(4)));
  ASSERT_EQ(r.role(), Role::leader);
  ASSERT_EQ(r.log().last_index(), LogIndex(3));  // the no-op of term 4
  (void)drain(r);

  // Index 2 (term 2) is now on S1, S2, S3 — a majority — yet not committed.
  r.step(reply(MessageType::append_reply, 2, Term(4), LogIndex(2)));
  r.step(reply(MessageType::append_reply, 3, Term(4), LogIndex(2)));
  EXPECT_EQ(r.commit_index(), LogIndex(1));

  // Once the term-4 no-op is on a majority, both commit.
  r.step(reply(MessageType::append_reply, 2, Term(4), LogIndex(3)));
  EXPECT_EQ(r.commit_index(), LogIndex(1));
  r.step(reply(MessageType::append_reply, 3, Term(4), LogIndex(3)));
  EXPECT_EQ(r.commit_index(), LogIndex(3));
}

TEST(Raft, RestartedNodeCatchesUp) {
  TestNetwork net(3, 8);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t follower = leader % 3 + 1;
  ASSERT_TRUE(net.raft(leader).propose("x").is_ok());
  net.process();
  net.run_ticks(2);
  net.restart(follower);
  EXPECT_EQ(net.raft(follower).term(), net.raft(leader).term());
  EXPECT_EQ(net.raft(follower).log().last_index(), net.raft(leader).log().last_index());
  ASSERT_TRUE(net.raft(leader).propose("y").is_ok());
  net.process();
  net.run_ticks(2);
  EXPECT_EQ(net.applied_data(follower), (std::vector<std::string>{"x", "y"}));
}

// Random drops, partitions and restarts; the harness checks election safety, leader
// completeness and state machine safety on every delivered message.
TEST(Raft, RandomizedSafety) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE(numbered("seed ", seed));
    TestNetwork net(5, seed);
    net.set_drop_rate(0.15);
    uint64_t rng = seed;
    auto rand = [&rng](uint64_t n) {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      return (rng >> 33) % n;
    };
    int proposed = 0;
    for (int t = 0; t < 600; ++t) {
      if (t % 40 == 0) {
        net.heal();
        for (uint64_t id = 1; id <= net.size(); ++id) {
          if (rand(4) == 0) net.set_group(id, 1);
        }
      }
      if (rand(50) == 0) net.restart(1 + rand(net.size()));
      if (uint64_t leader = net.leader(); leader != 0 && rand(3) == 0) {
        (void)net.raft(leader).propose(numbered("p", proposed++));
      }
      net.tick_all();
      ASSERT_FALSE(HasFatalFailure());
    }
    // Liveness after healing: a leader of the newest term emerges and a new
    // proposal reaches every node (re-proposed if leadership moves).
    net.heal();
    net.set_drop_rate(0);
    auto all_have_final = [&net]() {
      for (uint64_t id = 1; id <= net.size(); ++id) {
        std::vector<std::string> data = net.applied_data(id);
        if (data.empty() || data.back() != "final") return false;
        if (net.node(id).applied.size() != net.committed_history().size()) return false;
      }
      return true;
    };
    Term proposed_in;
    for (int i = 0; i < 500 && !all_have_final(); ++i) {
      uint64_t leader = net.leader();
      if (leader != 0 && net.raft(leader).term() != proposed_in) {
        proposed_in = net.raft(leader).term();
        ASSERT_TRUE(net.raft(leader).propose("final").is_ok());
      }
      net.tick_all();
    }
    ASSERT_TRUE(all_have_final()) << "every node applies the whole history";
    EXPECT_GT(net.committed_history().size(), 50u) << "the run made progress";
  }
}

}  // namespace
}  // namespace tessera::raft
