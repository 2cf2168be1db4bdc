// Membership changes (thesis §4.1-§4.2), learners, and snapshots (§7).

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

std::vector<NodeId> ids(std::initializer_list<uint64_t> values) {
  std::vector<NodeId> out;
  for (uint64_t v : values) out.push_back(NodeId(v));
  return out;
}

bool has_voter(const ConfState& conf, uint64_t id) {
  return std::binary_search(conf.voters.begin(), conf.voters.end(), NodeId(id));
}

// Proposes `cc` on the current leader and ticks until `members` applied it.
LogIndex change(TestNetwork& net, ConfChange cc, const std::vector<uint64_t>& members) {
  uint64_t leader = net.leader();
  EXPECT_NE(leader, 0u);
  if (leader == 0) return LogIndex(0);
  Result<LogIndex> index = net.raft(leader).propose_conf_change(cc);
  EXPECT_TRUE(index.is_ok()) << index.status().to_string();
  if (!index.is_ok()) return LogIndex(0);
  EXPECT_TRUE(net.wait_applied(members, *index));
  return *index;
}

TEST(ConfChange, ApplyAndCodec) {
  ConfState conf{.voters = ids({1, 2}), .learners = ids({5})};
  Result<ConfState> r = apply_conf_change(conf, {ConfChangeType::add_learner, NodeId(3)});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, (ConfState{.voters = ids({1, 2}), .learners = ids({3, 5})}));
  r = apply_conf_change(*r, {ConfChangeType::promote, NodeId(3)});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, (ConfState{.voters = ids({1, 2, 3}), .learners = ids({5})}));
  r = apply_conf_change(*r, {ConfChangeType::remove, NodeId(1)});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, (ConfState{.voters = ids({2, 3}), .learners = ids({5})}));
  r = apply_conf_change(*r, {ConfChangeType::remove, NodeId(5)});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, (ConfState{.voters = ids({2, 3}), .learners = {}}));

  ConfState one{.voters = ids({1}), .learners = ids({2})};
  for (ConfChange bad : {ConfChange{ConfChangeType::add_learner, NodeId(1)},
                         ConfChange{ConfChangeType::add_learner, NodeId(2)},
                         ConfChange{ConfChangeType::promote, NodeId(1)},
                         ConfChange{ConfChangeType::promote, NodeId(3)},
                         ConfChange{ConfChangeType::remove, NodeId(3)},
                         ConfChange{ConfChangeType::remove, NodeId(1)},
                         ConfChange{ConfChangeType::add_learner, kNoNode}}) {
    Result<ConfState> bad_result = apply_conf_change(one, bad);
    ASSERT_FALSE(bad_result.is_ok()) << static_cast<int>(bad.type) << " " << bad.node.value;
    EXPECT_EQ(bad_result.status().code(), Errc::invalid_argument);
  }

  for (ConfChange cc : {ConfChange{ConfChangeType::add_learner, NodeId(300)},
                        ConfChange{ConfChangeType::promote, NodeId(1)},
                        ConfChange{ConfChangeType::remove, NodeId(~0ULL)}}) {
    std::string bytes = encode_conf_change(cc);
    Result<ConfChange> back = decode_conf_change(bytes);
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(*back, cc);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_EQ(decode_conf_change(bytes.substr(0, n)).status().code(), Errc::corruption);
    }
    EXPECT_EQ(decode_conf_change(bytes + "x").status().code(), Errc::corruption);
  }
  EXPECT_EQ(decode_conf_change(std::string("\x07\x01", 2)).status().code(), Errc::corruption);
}

// 3 -> 4 -> 5 voters through learners, with proposals committing all along;
// learners never count toward the quorum.
TEST(Membership, AddLearnerThenPromoteWhileProposing) {
  TestNetwork net(3, 11);
  ASSERT_NE(net.elect(), 0u);
  int proposed = 0;
  auto propose_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (uint64_t l = net.leader(); l != 0) (void)net.raft(l).propose(numbered("p", proposed++));
      net.tick_all();
    }
  };
  propose_some(5);
  std::vector<uint64_t> members{1, 2, 3};
  for (int round = 0; round < 2; ++round) {
    uint64_t id = net.add_node();
    EXPECT_TRUE(net.raft(id).conf().voters.empty());
    members.push_back(id);
    change(net, {ConfChangeType::add_learner, NodeId(id)}, members);
    propose_some(5);
    uint64_t leader = net.leader();
    ASSERT_NE(leader, 0u);
    EXPECT_FALSE(has_voter(net.raft(leader).conf(), id));
    EXPECT_EQ(net.raft(id).conf(), net.raft(leader).conf()) << "the learner learned the config";
    // A learner never campaigns, however long it hears nothing.
    net.isolate(id);
    net.run_ticks(60);
    EXPECT_EQ(net.raft(id).role(), Role::follower);
    net.heal();
    change(net, {ConfChangeType::promote, NodeId(id)}, members);
    propose_some(5);
    for (uint64_t m : members) {
      EXPECT_TRUE(has_voter(net.raft(m).conf(), id)) << "node " << m;
    }
  }
  uint64_t leader = net.leader();
  ASSERT_NE(leader, 0u);
  EXPECT_EQ(net.raft(leader).conf().voters, ids({1, 2, 3, 4, 5}));
  ASSERT_TRUE(net.raft(leader).propose("last").is_ok());
  ASSERT_TRUE(net.wait_applied(members, net.raft(leader).log().last_index()));
  for (uint64_t m : members) EXPECT_EQ(net.applied_data(m), net.applied_data(leader)) << m;
  EXPECT_EQ(net.applied_data(leader).back(), "last");

  // With 5 voters, two down still commits; three down does not.
  std::vector<uint64_t> others;
  for (uint64_t m : members) {
    if (m != leader) others.push_back(m);
  }
  net.set_group(others[0], 1);
  net.set_group(others[1], 1);
  Result<LogIndex> ok = net.raft(leader).propose("with3");
  ASSERT_TRUE(ok.is_ok());
  net.run_ticks(2);
  EXPECT_GE(net.raft(leader).commit_index(), *ok);
  net.set_group(others[2], 1);
  Result<LogIndex> stuck = net.raft(leader).propose("with2");
  ASSERT_TRUE(stuck.is_ok());
  net.run_ticks(2);
  EXPECT_LT(net.raft(leader).commit_index(), *stuck);
}

// A learner does not count toward the quorum.
TEST(Membership, LearnerIsNotPartOfQuorum) {
  TestNetwork net(3, 12);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t learner = net.add_node();
  change(net, {ConfChangeType::add_learner, NodeId(learner)}, {1, 2, 3, learner});
  for (uint64_t id = 1; id <= 3; ++id) {
    if (id != leader) net.set_group(id, 1);
  }
  Result<LogIndex> index = net.raft(leader).propose("x");
  ASSERT_TRUE(index.is_ok());
  net.run_ticks(3);
  EXPECT_EQ(net.node(learner).raft->log().last_index(), *index) << "the learner has it";
  EXPECT_LT(net.raft(leader).commit_index(), *index) << "but leader + learner is no quorum";
}

TEST(Membership, RemoveFollowerThenLeader) {
  TestNetwork net(5, 13);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t removed = leader % 5 + 1;
  std::vector<uint64_t> members;
  for (uint64_t id = 1; id <= 5; ++id) {
    if (id != removed) members.push_back(id);
  }
  change(net, {ConfChangeType::remove, NodeId(removed)}, members);
  for (uint64_t id : members) EXPECT_FALSE(has_voter(net.raft(id).conf(), removed));
  // The leader keeps replicating to the removed node until the removal
  // commits, so it learns of its removal and never campaigns again.
  EXPECT_FALSE(has_voter(net.raft(removed).conf(), removed));
  EXPECT_FALSE(net.raft(leader).progress().contains(NodeId(removed)));
  Term term = net.raft(leader).term();
  for (int i = 0; i < 100; ++i) {
    net.tick_all();
    ASSERT_EQ(net.raft(removed).role(), Role::follower);
  }
  EXPECT_EQ(net.leader(), leader);
  EXPECT_EQ(net.raft(leader).term(), term);
  EXPECT_EQ(net.raft(removed).term(), term);
  // It learned that its removal committed (the driver may now drop it).
  EXPECT_TRUE(net.raft(removed).removed());
  for (uint64_t id : members) EXPECT_FALSE(net.raft(id).removed());

  // Now the leader removes itself: it keeps leading until the removal
  // commits, then steps down; the others elect a new leader.
  Result<LogIndex> index = net.raft(leader).propose_conf_change({ConfChangeType::remove, NodeId(leader)});
  ASSERT_TRUE(index.is_ok());
  EXPECT_EQ(net.raft(leader).role(), Role::leader);
  EXPECT_FALSE(has_voter(net.raft(leader).conf(), leader));
  std::vector<uint64_t> rest;
  for (uint64_t id : members) {
    if (id != leader) rest.push_back(id);
  }
  ASSERT_TRUE(net.wait_applied(rest, *index));
  EXPECT_NE(net.raft(leader).role(), Role::leader);
  uint64_t new_leader = 0;
  ASSERT_TRUE(net.tick_until([&] {
    new_leader = net.leader();
    return new_leader != 0 && new_leader != leader;
  }));
  ASSERT_TRUE(std::find(rest.begin(), rest.end(), new_leader) != rest.end());
  Result<LogIndex> after = net.raft(new_leader).propose("after");
  ASSERT_TRUE(after.is_ok());
  ASSERT_TRUE(net.wait_applied(rest, *after));
  net.run_ticks(50);
  EXPECT_EQ(net.leader(), new_leader);
  EXPECT_EQ(net.raft(new_leader).conf().voters.size(), 3u);
  EXPECT_NE(net.raft(leader).role(), Role::leader);
  EXPECT_LT(net.node(leader).applied.size(), after->value) << "the removed leader is cut off";
}

// A conf change appended in a minority partition takes effect there, and is
// reverted when the new leader's log truncates it (thesis §4.1).
TEST(Membership, TruncatedConfChangeIsReverted) {
  TestNetwork net(5, 14);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  uint64_t follower = leader % 5 + 1;
  ConfState before = net.raft(leader).conf();
  net.set_group(leader, 1);
  net.set_group(follower, 1);
  Result<LogIndex> index = net.raft(leader).propose_conf_change({ConfChangeType::add_learner, NodeId(9)});
  ASSERT_TRUE(index.is_ok());
  net.process();
  for (uint64_t id : {leader, follower}) {
    EXPECT_NE(net.raft(id).conf(), before) << "in effect once appended, node " << id;
    EXPECT_EQ(net.raft(id).conf().learners, ids({9}));
  }
  EXPECT_LT(net.raft(leader).commit_index(), *index);

  uint64_t new_leader = 0;
  ASSERT_TRUE(net.tick_until([&] {
    new_leader = net.leader();
    return new_leader != 0 && new_leader != leader && new_leader != follower;
  }));
  Result<LogIndex> other = net.raft(new_leader).propose("majority");
  ASSERT_TRUE(other.is_ok());
  net.run_ticks(3);
  net.heal();
  ASSERT_TRUE(net.wait_applied({1, 2, 3, 4, 5}, *other));
  for (uint64_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(net.raft(id).conf(), before) << "reverted on node " << id;
  }
  EXPECT_EQ(net.applied_data(leader), std::vector<std::string>{"majority"});
}

TEST(Membership, OnePendingConfChangeAtATime) {
  TestNetwork net(3, 15);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  Raft& r = net.raft(leader);
  uint64_t follower = leader % 3 + 1;
  Result<LogIndex> on_follower = net.raft(follower).propose_conf_change({ConfChangeType::add_learner, NodeId(4)});
  EXPECT_EQ(on_follower.status().code(), Errc::unavailable);

  EXPECT_EQ(r.propose_conf_change({ConfChangeType::add_learner, NodeId(leader)}).status().code(),
            Errc::invalid_argument);
  EXPECT_EQ(r.propose_conf_change({ConfChangeType::promote, NodeId(4)}).status().code(),
            Errc::invalid_argument);
  EXPECT_EQ(r.propose_conf_change({ConfChangeType::remove, NodeId(7)}).status().code(),
            Errc::invalid_argument);

  Result<LogIndex> first = r.propose_conf_change({ConfChangeType::add_learner, NodeId(4)});
  ASSERT_TRUE(first.is_ok());
  Result<LogIndex> second = r.propose_conf_change({ConfChangeType::add_learner, NodeId(5)});
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), Errc::resource_exhausted);
  EXPECT_TRUE(r.propose("plain entries still go").is_ok());
  net.process();
  ASSERT_GE(r.commit_index(), *first);
  EXPECT_TRUE(r.propose_conf_change({ConfChangeType::add_learner, NodeId(5)}).is_ok());
}

// A new leader may not change membership before an entry of its own term
// committed (the single-server change bug fix, raft-dev 2015).
TEST(Membership, NoConfChangeBeforeCommitInTerm) {
  Config config;
  config.pre_vote = false;
  Raft r(NodeId(1), config, 3, RestoredState{.conf = {.voters = ids({1, 2, 3})}});
  for (int i = 0; i < 100 && r.role() != Role::candidate; ++i) r.tick();
  ASSERT_EQ(r.role(), Role::candidate);
  r.step(Message{.type = MessageType::vote_reply, .from = NodeId(2), .to = NodeId(1), .term = r.term()});
  ASSERT_EQ(r.role(), Role::leader);
  Result<LogIndex> early = r.propose_conf_change({ConfChangeType::add_learner, NodeId(4)});
  EXPECT_EQ(early.status().code(), Errc::resource_exhausted);
  r.step(Message{.type = MessageType::append_reply, .from = NodeId(2), .to = NodeId(1),
                 .term = r.term(), .index = LogIndex(1)});
  ASSERT_EQ(r.commit_index(), LogIndex(1));
  EXPECT_TRUE(r.propose_conf_change({ConfChangeType::add_learner, NodeId(4)}).is_ok());
}

// §7: a follower that needs compacted entries gets a snapshot.
TEST(Snapshot, FarBehindFollowerInstallsSnapshot) {
  TestNetwork net(3, 16);
  net.isolate(3);  // node 3 hears nothing from the start: its disk stays empty
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  ASSERT_NE(leader, 3u);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(net.raft(leader).propose(numbered("v", i)).is_ok());
  net.run_ticks(3);
  for (uint64_t id : {1, 2}) net.compact_to_applied(id);
  ASSERT_GT(net.raft(leader).log().snapshot_index().value, 30u);
  net.restart(3);
  EXPECT_EQ(net.raft(3).log().last_index(), LogIndex(0));

  net.record(true);
  net.heal();
  ASSERT_TRUE(net.wait_applied({1, 2, 3}, net.raft(leader).commit_index()));
  bool snapshot_sent = false;
  for (const Message& m : net.sent()) {
    if (m.type == MessageType::snapshot && m.to == NodeId(3)) snapshot_sent = true;
    if (m.type == MessageType::append && m.to == NodeId(3)) {
      EXPECT_TRUE(m.entries.empty() || m.entries.front().index > net.raft(leader).log().snapshot_index())
          << "compacted entries cannot be sent";
    }
  }
  EXPECT_TRUE(snapshot_sent);
  EXPECT_EQ(net.applied_data(3), net.applied_data(leader));
  EXPECT_EQ(net.raft(3).conf(), net.raft(leader).conf());
  EXPECT_GE(net.raft(3).log().snapshot_index(), net.raft(leader).log().snapshot_index());
  EXPECT_FALSE(net.raft(leader).progress().at(NodeId(3)).snapshot_pending);

  // It keeps replicating normally, and survives a restart from its disk.
  ASSERT_TRUE(net.raft(leader).propose("after").is_ok());
  ASSERT_TRUE(net.wait_applied({1, 2, 3}, net.raft(leader).commit_index()));
  net.restart(3);
  ASSERT_TRUE(net.raft(leader).propose("after restart").is_ok());
  ASSERT_TRUE(net.wait_applied({1, 2, 3}, net.raft(leader).commit_index()));
  EXPECT_EQ(net.applied_data(3), net.applied_data(leader));
}

TEST(Snapshot, StaleSnapshotIsIgnored) {
  TestNetwork net(3, 17);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.raft(leader).propose(numbered("v", i)).is_ok());
  net.run_ticks(2);
  uint64_t follower = leader % 3 + 1;
  Raft& f = net.raft(follower);
  LogIndex commit = f.commit_index();
  ASSERT_GE(commit.value, 3u);
  std::optional<SnapshotMeta> meta = f.snapshot_meta_at(LogIndex(2));
  ASSERT_TRUE(meta.has_value());
  f.step(Message{.type = MessageType::snapshot, .from = NodeId(leader), .to = NodeId(follower),
                 .term = f.term(), .snapshot = meta});
  ASSERT_TRUE(f.has_ready());
  Ready ready = f.take_ready();
  EXPECT_FALSE(ready.snapshot.has_value());
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_EQ(ready.messages[0].type, MessageType::append_reply);
  EXPECT_EQ(ready.messages[0].index, commit);
  EXPECT_FALSE(ready.messages[0].reject);
  f.advance();
  EXPECT_EQ(f.log().snapshot_index(), LogIndex(0));
}

// A brand-new, empty replica added as a learner catches up from a snapshot
// (its bootstrap config is unknown to it) and can then be promoted.
TEST(Snapshot, NewLearnerCatchesUpBySnapshot) {
  TestNetwork net(3, 18);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(net.raft(leader).propose(numbered("v", i)).is_ok());
  net.run_ticks(3);
  for (uint64_t id = 1; id <= 3; ++id) net.compact_to_applied(id);

  uint64_t fresh = net.add_node();
  net.record(true);
  change(net, {ConfChangeType::add_learner, NodeId(fresh)}, {1, 2, 3, fresh});
  EXPECT_EQ(net.applied_data(fresh), net.applied_data(leader));
  EXPECT_EQ(net.raft(fresh).conf(), net.raft(leader).conf());
  EXPECT_EQ(net.raft(fresh).conf().learners, ids({fresh}));
  EXPECT_TRUE(std::any_of(net.sent().begin(), net.sent().end(), [&](const Message& m) {
    return m.type == MessageType::snapshot && m.to == NodeId(fresh);
  }));

  change(net, {ConfChangeType::promote, NodeId(fresh)}, {1, 2, 3, fresh});
  // 4 voters: the new one is needed once two old nodes are down.
  uint64_t a = leader % 3 + 1;
  uint64_t b = a % 3 + 1;
  ASSERT_NE(b, leader);
  net.set_group(a, 1);
  Result<LogIndex> index = net.raft(leader).propose("needs the new voter");
  ASSERT_TRUE(index.is_ok());
  ASSERT_TRUE(net.wait_applied({leader, b, fresh}, *index));
  net.restart(fresh);
  ASSERT_TRUE(net.raft(leader).propose("after restart").is_ok());
  ASSERT_TRUE(net.wait_applied({leader, b, fresh}, net.raft(leader).log().last_index()));
  EXPECT_EQ(net.applied_data(fresh), net.applied_data(leader));
}

// A snapshot that is lost is retried.
TEST(Snapshot, LostSnapshotIsRetried) {
  TestNetwork net(3, 19);
  net.isolate(3);
  uint64_t leader = net.elect();
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.raft(leader).propose(numbered("v", i)).is_ok());
  net.run_ticks(2);
  net.compact_to_applied(leader);
  net.heal();
  net.set_drop_rate(0.6);
  net.run_ticks(100);
  net.set_drop_rate(0);
  leader = net.elect();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(net.raft(leader).propose("end").is_ok());
  ASSERT_TRUE(net.wait_applied({1, 2, 3}, net.raft(leader).log().last_index()));
  EXPECT_EQ(net.applied_data(3), net.applied_data(leader));
}

}  // namespace
}  // namespace tessera::raft
