#include "node/shard_locations.h"

#include <algorithm>
#include <map>
#include <set>

namespace tessera::node {

internal::HeartbeatReply locate_shards(const std::vector<const internal::Heartbeat*>& reports) {
  struct Found {
    const internal::ShardReport* leading = nullptr;
    uint64_t leader = 0;
    std::set<uint64_t> holders;  // nodes reporting a replica
  };
  std::map<uint64_t, Found> shards;
  for (const internal::Heartbeat* hb : reports) {
    for (const auto& s : hb->shards()) {
      Found& f = shards[s.shard()];
      f.holders.insert(hb->node());
      if (s.leader() && (f.leading == nullptr || s.term() > f.leading->term())) {
        f.leading = &s;
        f.leader = hb->node();
      }
    }
  }
  internal::HeartbeatReply reply;
  for (const auto& [id, f] : shards) {
    auto* loc = reply.add_shards();
    loc->set_shard(id);
    loc->set_leader(f.leader);
    if (f.leading != nullptr) {
      for (uint64_t v : f.leading->voters()) loc->add_replicas(v);
      for (uint64_t l : f.leading->learners()) loc->add_replicas(l);
    } else {
      for (uint64_t n : f.holders) loc->add_replicas(n);
    }
  }
  return reply;
}

std::vector<uint64_t> candidates(const internal::ShardLocation& loc, uint64_t self) {
  std::vector<uint64_t> out;
  auto add = [&](uint64_t n) {
    if (n != 0 && n != self && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  add(loc.leader());
  for (uint64_t r : loc.replicas()) add(r);
  return out;
}

}  // namespace tessera::node
