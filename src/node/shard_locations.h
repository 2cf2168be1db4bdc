#pragma once
// Shard locations: where every shard's leader and replicas are, as the meta
// leader answers each heartbeat (internal::HeartbeatReply), and the choice
// of which node to send a request to. Pure functions over heartbeat
// messages; ClusterAgent owns the reports, the cache and their locking.

#include <cstdint>
#include <vector>

#include "tessera/internal/state.pb.h"

namespace tessera::node {

// Locations from the latest heartbeat of every node (the caller passes only
// fresh ones). For each reported shard: the node that reports leading it
// with the highest term, and that leader's voters then learners as its
// replicas; a shard no node reports leading has no leader (0) and lists
// every node that reports a replica. Shards are in ascending id order.
internal::HeartbeatReply locate_shards(const std::vector<const internal::Heartbeat*>& reports);

// The nodes other than `self` to try for `loc`, best first: its leader,
// then its other replicas in order. Empty when `self` is the only one.
std::vector<uint64_t> candidates(const internal::ShardLocation& loc, uint64_t self);

}  // namespace tessera::node
