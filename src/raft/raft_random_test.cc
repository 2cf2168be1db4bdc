// Randomized runs with membership changes, compaction and snapshots, leader
// transfers, ReadIndex, restarts, partitions and drops. TestNetwork checks
// election safety, leader completeness and state machine safety on every
// delivered message; this test adds ReadIndex linearizability and, after
// healing, liveness of the final membership.

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "raft/test_network.h"

namespace tessera::raft {
namespace {

using test_support::numbered;
using test_support::TestNetwork;

constexpr size_t kNodesMax = 8;

struct Counters {
  int conf_changes = 0;
  int snapshots_installed = 0;
  int transfers = 0;
  int reads_answered = 0;
};

void run_seed(uint64_t seed, Counters& counters) {
  TestNetwork net(3, seed);
  net.set_drop_rate(0.1);
  uint64_t rng = seed;
  auto rand = [&rng](uint64_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rng >> 33) % n;
  };
  auto pick = [&rand](const std::vector<NodeId>& ids) { return ids[rand(ids.size())]; };

  // ReadIndex: context -> highest commit index on any node when requested;
  // an answer must be at least that (thesis §6.4, linearizability).
  std::map<uint64_t, LogIndex> read_floor;
  uint64_t next_context = 1;
  auto check_reads = [&] {
    for (uint64_t id = 1; id <= net.size(); ++id) {
      for (const ReadState& rs : net.node(id).read_states) {
        auto it = read_floor.find(rs.context);
        ASSERT_NE(it, read_floor.end());
        if (rs.index != LogIndex(0)) {
          ASSERT_GE(rs.index, it->second) << "stale ReadIndex answer by node " << id;
          ++counters.reads_answered;
        }
        read_floor.erase(it);
      }
      net.node(id).read_states.clear();
    }
  };
  auto max_commit = [&net] {
    LogIndex max;
    for (uint64_t id = 1; id <= net.size(); ++id) max = std::max(max, net.raft(id).commit_index());
    return max;
  };

  int proposed = 0;
  for (int t = 0; t < 800; ++t) {
    if (t % 40 == 0) {
      net.heal();
      for (uint64_t id = 1; id <= net.size(); ++id) {
        if (rand(4) == 0) net.set_group(id, 1);
      }
    }
    if (rand(60) == 0) net.restart(1 + rand(net.size()));
    if (rand(15) == 0) {
      net.compact_to_applied(1 + rand(net.size()));
      ASSERT_FALSE(::testing::Test::HasFatalFailure());
    }
    if (uint64_t leader = net.leader(); leader != 0) {
      Raft& r = net.raft(leader);
      if (rand(3) == 0) (void)r.propose(numbered("p", proposed++));
      if (rand(10) == 0) {
        read_floor[next_context] = max_commit();
        r.read_index(next_context++);
      }
      if (rand(20) == 0) {
        const ConfState& conf = r.conf();
        ConfChange cc;
        switch (rand(3)) {
          case 0:
            if (net.size() >= kNodesMax) break;
            cc = {ConfChangeType::add_learner, NodeId(net.size() + 1)};
            break;
          case 1:
            if (conf.learners.empty()) break;
            cc = {ConfChangeType::promote, pick(conf.learners)};
            break;
          default:
            // Keep at least 3 voters so partitions leave room for progress.
            if (conf.voters.size() > 3) {
              cc = {ConfChangeType::remove, pick(conf.voters)};
            } else if (!conf.learners.empty()) {
              cc = {ConfChangeType::remove, pick(conf.learners)};
            }
            break;
        }
        if (cc.node != kNoNode) {
          bool adds = cc.type == ConfChangeType::add_learner;
          Result<LogIndex> index = r.propose_conf_change(cc);
          if (index.is_ok()) {
            ++counters.conf_changes;
            if (adds) {
              EXPECT_EQ(net.add_node(), cc.node.value);
            }
          }
        }
      }
      if (rand(60) == 0 && r.conf().voters.size() > 1) {
        NodeId to = pick(r.conf().voters);
        if (to != NodeId(leader)) {
          r.transfer_leadership(to);
          ++counters.transfers;
        }
      }
    }
    net.tick_all();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    check_reads();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }

  // Liveness after healing: a leader of the newest term emerges and a new
  // proposal reaches every member of its config (re-proposed if leadership
  // moves).
  net.heal();
  net.set_drop_rate(0);
  auto all_have_final = [&net]() {
    uint64_t leader = net.leader();
    if (leader == 0) return false;
    const ConfState& conf = net.raft(leader).conf();
    std::vector<NodeId> members = conf.voters;
    members.insert(members.end(), conf.learners.begin(), conf.learners.end());
    for (NodeId id : members) {
      std::vector<std::string> data = net.applied_data(id.value);
      if (data.empty() || data.back() != "final") return false;
      if (net.node(id.value).applied.size() != net.committed_history().size()) return false;
    }
    return true;
  };
  Term proposed_in;
  for (int i = 0; i < 1000 && !all_have_final(); ++i) {
    uint64_t leader = net.leader();
    if (leader != 0 && net.raft(leader).term() != proposed_in) {
      if (net.raft(leader).propose("final").is_ok()) proposed_in = net.raft(leader).term();
    }
    net.tick_all();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  ASSERT_TRUE(all_have_final()) << "every member applies the whole history";
  EXPECT_GT(net.committed_history().size(), 50u) << "the run made progress";
  check_reads();
  counters.snapshots_installed += static_cast<int>(net.snapshot_installs());
}

TEST(RaftRandom, MembershipSnapshotsTransfers) {
  Counters counters;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE(numbered("seed ", seed));
    run_seed(seed, counters);
    if (HasFatalFailure()) return;
  }
  // The runs exercised what they claim to.
  EXPECT_GT(counters.conf_changes, 60);
  EXPECT_GT(counters.snapshots_installed, 30);
  EXPECT_GT(counters.transfers, 30);
  EXPECT_GT(counters.reads_answered, 100);
  std::cout << "conf changes " << counters.conf_changes << ", snapshots installed "
            << counters.snapshots_installed << ", transfers " << counters.transfers
            << ", reads answered " << counters.reads_answered << "\n";
}

}  // namespace
}  // namespace tessera::raft
