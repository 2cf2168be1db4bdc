// Backend::grow_shard and release_shards: the start and end of a shard's
// life in the meta shard. A freshly created shard reaches its replication
// factor before it is used, so nothing acknowledged on it rests on one node
// while the placement controller (one step per heartbeat) would catch up.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "server/backend.h"

namespace tessera::server {
namespace {

constexpr int64_t kChangeTimeoutMs = 5000;
// A learner that has not caught up by then (down, partitioned) is removed
// again and the next node tried.
constexpr int64_t kCatchUpTimeoutMs = 3000;
constexpr int64_t kGrowTimeoutMs = 10000;

bool contains(const std::vector<raft::NodeId>& v, raft::NodeId n) {
  return std::find(v.begin(), v.end(), n) != v.end();
}

}  // namespace

Status Backend::grow_shard(ShardId shard, uint64_t volume_id) {
  auto vol = volume_by_id(volume_id);
  const uint32_t rf = vol && vol->replication() != 0 ? vol->replication() : cluster::kDefaultReplication;
  std::vector<raft::NodeId> others;
  {
    auto snap = snapshot();
    storage::SnapshotReader sr(*snap, ShardId(cluster::kMetaShard));
    TESSERA_ASSIGN_OR_RETURN(auto nodes, cluster::MetaReader(sr).nodes());
    for (const auto& n : nodes) {
      if (n.state() == internal::NodeRecord::ACTIVE && raft::NodeId(n.id()) != host_.self()) {
        others.emplace_back(n.id());
      }
    }
  }
  // Start at a different node for each shard, so replicas spread.
  if (!others.empty()) {
    std::rotate(others.begin(), others.begin() + static_cast<long>(shard.value % others.size()), others.end());
  }
  const size_t want = std::min<size_t>(rf, others.size() + 1);
  std::map<uint64_t, std::chrono::steady_clock::time_point> added;  // learner → when added
  auto caught_up = [&](raft::NodeId n) {
    auto st = host_.status(shard);
    if (!st) return false;
    auto it = st->progress.find(n);
    return it != st->progress.end() && it->second.match >= st->commit;
  };
  auto conf = [&] {
    auto st = host_.status(shard);
    return st ? st->conf : raft::ConfState{};
  };
  // The placement controller may act on the same shard meanwhile (it sees
  // it under-replicated): a refused change is re-read, not fatal.
  std::vector<raft::NodeId> skipped;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kGrowTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    raft::ConfState c = conf();
    if (c.voters.size() >= want) break;
    auto next = std::find_if(others.begin(), others.end(), [&](raft::NodeId n) {
      return !contains(c.voters, n) && !contains(skipped, n);
    });
    if (next == others.end()) break;
    const raft::NodeId n = *next;
    Status st;
    if (!contains(c.learners, n)) {
      st = host_.change_replicas(shard, {raft::ConfChangeType::add_learner, n}, kChangeTimeoutMs);
    } else if (caught_up(n)) {
      st = host_.change_replicas(shard, {raft::ConfChangeType::promote, n}, kChangeTimeoutMs);
    } else if (std::chrono::steady_clock::now() -
                   added.try_emplace(n.value, std::chrono::steady_clock::now()).first->second >
               std::chrono::milliseconds(kCatchUpTimeoutMs)) {
      spdlog::warn("shard {}: node {} did not catch up; placing the replica elsewhere", shard.value, n.value);
      skipped.push_back(n);
      st = host_.change_replicas(shard, {raft::ConfChangeType::remove, n}, kChangeTimeoutMs);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (!contains(c.learners, n) && st.is_ok()) added[n.value] = std::chrono::steady_clock::now();
    if (!st.is_ok()) {
      if (auto s2 = host_.status(shard); !s2 || s2->role != raft::Role::leader) {
        return Status(Errc::unavailable, "shard " + std::to_string(shard.value) + ": lost leadership while growing");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  raft::ConfState c = conf();
  if (c.voters.size() < want) {
    spdlog::warn("shard {}: {} of {} replicas; placement adds the rest", shard.value, c.voters.size(), want);
  }
  // Leaders spread over the members by shard id.
  std::vector<raft::NodeId> voters = c.voters;
  std::sort(voters.begin(), voters.end());
  if (!voters.empty()) {
    raft::NodeId to = voters[shard.value % voters.size()];
    if (to != host_.self()) (void)host_.transfer_leader(shard, to);
  }
  return Status::ok();
}

void Backend::release_shards(const std::vector<uint64_t>& shards) {
  if (shards.empty()) return;
  internal::Command cmd;
  for (uint64_t id : shards) cmd.mutable_remove_shards()->add_shards(id);
  auto r = propose(ShardId(cluster::kMetaShard), cmd, node_principal());
  if (r.errc() != 0) spdlog::warn("releasing {} shards: {}", shards.size(), r.message());
}

}  // namespace tessera::server
