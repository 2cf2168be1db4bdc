#pragma once
// Placement: where every shard's replicas should be, and the health answers
// an operator gates restarts on. Pure functions over a ClusterView (no I/O,
// no clocks): the meta leader builds the view from the meta shard (nodes,
// volumes) and from the latest heartbeat of every node (shard leaders'
// membership and progress), then executes the actions plan() returns.
//
// Rules (plan):
//   - A volume shard wants min(replication, usable nodes) voters; the meta
//     shard wants 1, 3 or 5 voters (the largest of those not above the usable
//     node count) and every other usable node as a learner, so every node
//     reads users, keys and the volume table locally.
//   - Usable = state active, not removed, and heard from within the dead
//     timeout. A node merely "down" (missed heartbeats, not yet dead) still
//     counts: its replicas are replaced only after the dead timeout.
//   - Replicas go on distinct nodes, spread across `zone` labels first, then
//     on the node holding the fewest replicas.
//   - A shard never drops below its wanted voter count because of a move: a
//     replacement is added as a learner, promoted once caught up, and only
//     then is the replica on the dead, draining or most loaded node removed.
//   - A leader on a node being drained or removed first transfers leadership.
//   - Rebalance: when replica counts per usable node differ by more than one,
//     a replica moves from the most to the least loaded node (add, promote,
//     remove as above).
//   - Leadership: with replicas balanced, when the numbers of shards the up
//     nodes lead differ by more than one, one leadership per round moves from
//     the node leading most to the least leading caught-up voter (the meta
//     shard's leader stays where it is); then, within each group of sibling
//     shards (ShardView.group), from a node leading two more of it to one
//     that leads fewer shards in all.
//   - At most one action per shard per round (the next round sees its effect).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tessera::cluster {

struct NodeView {
  uint64_t id = 0;
  std::string address;
  std::map<std::string, std::string> labels;  // "zone" is used for spreading
  enum class State { active, draining, removed } state = State::active;
  bool up = true;    // heartbeat within the down timeout
  bool dead = false; // no heartbeat for the dead timeout: replicas are replaced
};

struct ShardView {
  uint64_t shard = 0;
  bool meta = false;          // the meta shard (see the rules above)
  std::string kind;           // "meta", "volume", "partition", "tablet": for health answers
  // Siblings whose leaders should spread over the nodes: one stream's
  // partitions, one volume's data shards, one table's tablets, the volumes.
  std::string group;
  uint32_t replication = 3;   // wanted voters for a volume shard
  uint64_t leader = 0;        // 0: no leader reported
  uint64_t term = 0;
  uint64_t commit = 0;        // the leader's commit index
  std::vector<uint64_t> voters;
  std::vector<uint64_t> learners;
  std::map<uint64_t, uint64_t> match;  // member → highest replicated index (from the leader)
};

struct ClusterView {
  std::vector<NodeView> nodes;
  std::vector<ShardView> shards;
};

struct Action {
  enum class Kind { add_learner, promote, remove, transfer_leader } kind = Kind::add_learner;
  uint64_t shard = 0;
  uint64_t node = 0;    // the replica added, promoted or removed; the new leader for transfer
  uint64_t leader = 0;  // the node to send the action to (the shard's leader)
  std::string reason;   // for logs: "re-replicate: node 3 dead", "rebalance onto node 4"
};

// A learner counts as caught up when it is at most this many entries behind
// the leader's commit index.
inline constexpr uint64_t kCaughtUpLagMax = 64;

std::vector<Action> plan(const ClusterView& view);

// Health (`/v1/health`, `tessera cluster status`).
struct NodeHealth {
  uint64_t id = 0;
  std::string address;
  std::string state;   // "up", "down", "draining", "removed"
  uint32_t shards = 0;   // replicas held (voters and learners)
  uint32_t leaders = 0;  // shards it leads
  uint64_t lag = 0;      // largest (leader commit − match) over its replicas
};
struct Health {
  std::vector<NodeHealth> nodes;
  // Shards with fewer voters on up, usable nodes than wanted, or with
  // learners still catching up.
  uint32_t under_replicated_shards = 0;
  // Shards without a leader or whose up voters are not a quorum.
  uint32_t unavailable_shards = 0;
  // Replica moves plan() still wants (rebalance and drain), 0 when balanced.
  uint32_t rebalance_pending = 0;
};
Health health(const ClusterView& view);

// GET /v1/nodes/ID/ok-to-stop: true only when stopping `node` leaves every
// shard it holds a quorum of up voters and no shard is under-replicated.
struct OkToStop {
  bool ok = false;
  std::vector<std::string> reasons;  // why not, one line each
};
OkToStop ok_to_stop(const ClusterView& view, uint64_t node);

// GET /v1/nodes/ID/caught-up: true when every shard `node` is a member of
// has a leader and the node's match is within kCaughtUpLagMax of its commit.
OkToStop caught_up(const ClusterView& view, uint64_t node);

}  // namespace tessera::cluster
