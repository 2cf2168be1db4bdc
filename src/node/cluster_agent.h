#pragma once
// ClusterAgent: a node's part in the cluster beyond its shard replicas.
//
//   - Answers the node-to-node calls: join, forwarded proposals and read
//     indexes, membership changes and leader transfers for shards this node
//     leads, heartbeats (on the meta leader), health questions.
//   - Keeps the peer transport's address book in step with the meta shard's
//     node table.
//   - Once a heartbeat period: reports its replicas to the meta leader and
//     caches its reply, where every shard's leader and replicas are
//     (node/shard_locations.h); on the meta leader, plans replica placement
//     (cluster/placement.h) and sends each action to the shard's leader.
//   - Forwards proposals and read-index requests for the Backend, and
//     locates the shards this node holds no replica of (redirects).
//
// Threads: one agent thread; call handlers run on gRPC threads.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <condition_variable>

#include "base/status.h"
#include "cluster/placement.h"
#include "server/backend.h"

namespace tessera::transport {
class PeerTransport;
}

namespace tessera::node {

struct ClusterAgentOptions {
  int64_t heartbeat_ms = 1000;
  // A node unheard of for this long shows as "down" in health answers.
  int64_t down_after_ms = 3000;
  // ... and for this long is dead: its replicas are re-created elsewhere.
  int64_t dead_after_ms = 60000;
};

class ClusterAgent final : public server::Forwarder {
 public:
  ClusterAgent(raft::NodeId self, std::string address, shard::ShardHost& host,
               server::Backend& backend, transport::PeerTransport& transport,
               ClusterAgentOptions opts);
  ~ClusterAgent() override;

  // Registers the call handlers (before the gRPC server starts).
  void register_methods();
  // Addresses of the members, as a join reply lists them: used until this
  // node holds the meta shard's node table.
  void seed_peers(const std::map<uint64_t, std::string>& addresses);
  // Starts the agent thread (after the Backend has started).
  void start();
  void stop();

  // Forwarder.
  Result<internal::CommandResult> propose(raft::NodeId node, ShardId shard,
                                          const internal::Command& cmd) override;
  Result<LogIndex> read_index(raft::NodeId node, ShardId shard) override;
  std::optional<server::ReplicaRef> locate(ShardId shard) override;
  std::optional<internal::ShardLocation> location(ShardId shard) override;

  // The Kafka listener's advertised address, reported with every heartbeat
  // (the meta shard records it; Kafka Metadata answers list it).
  void set_kafka_address(std::string address);
  Result<internal::ChunkReadReply> chunk_read(raft::NodeId node, const internal::ChunkRead& req) override;
  Result<internal::TabletReadReply> tablet_read(raft::NodeId node,
                                                const internal::TabletRead& req) override;
  Result<internal::PartitionReadReply> partition_read(raft::NodeId node,
                                                      const internal::PartitionRead& req) override;

  // Health answers as JSON, from the meta leader (asked over the network
  // when it is another node).
  Result<std::string> health_json();
  Result<std::string> ok_to_stop_json(uint64_t node);
  Result<std::string> caught_up_json(uint64_t node);

  // Asks the member at `address` to add a node at `my_address`; returns the
  // reply (the new node's id, the cluster id, every member's address).
  static Result<internal::JoinReply> join(const std::string& address, const std::string& my_address,
                                          const std::map<std::string, std::string>& labels,
                                          const std::string& cluster_id_hint);

 private:
  void run();
  void refresh_peers();
  void send_heartbeat();
  void control();
  // Meta leader: re-registers nodes that came back with a new address.
  void update_addresses();
  // Meta leader: tells nodes to drop replicas their group removed while
  // they were away, and replicas of shards the meta shard no longer has
  // (a removed stream's partitions, a removed volume).
  void drop_stale_replicas();
  // Meta leader: removes shard records whose creator crashed before the
  // shard was ready.
  void remove_abandoned_shards();
  cluster::ClusterView build_view();
  std::string address_of(raft::NodeId node);
  raft::NodeId meta_leader() const;
  // Runs `fn(view)` on the meta leader: here, or by calling it.
  Result<std::string> ask_meta_leader(const std::string& method, const std::string& request);
  std::string local_answer(const std::string& method, const std::string& request);
  internal::Heartbeat make_heartbeat() const;
  void record(const internal::Heartbeat& hb);
  // Meta leader: the heartbeat reply, from the fresh reports.
  internal::HeartbeatReply locations_reply();
  void cache_locations(const internal::HeartbeatReply& reply);

  const raft::NodeId self_;
  const std::string address_;
  shard::ShardHost& host_;
  server::Backend& backend_;
  transport::PeerTransport& transport_;
  const ClusterAgentOptions opts_;

  std::mutex mu_;
  mutable std::mutex kafka_mu_;
  std::string kafka_address_;  // guarded by kafka_mu_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<uint64_t, std::string> addresses_;  // from the meta shard
  LogIndex addresses_index_;
  struct Report {
    internal::Heartbeat heartbeat;
    int64_t received_ms = 0;  // steady clock
  };
  std::map<uint64_t, Report> reports_;  // meta leader: latest per node
  int64_t leader_since_ms_ = 0;         // when this node became meta leader
  std::map<uint64_t, int64_t> busy_until_ms_;  // shard → no new action before
  // Meta leader: (node, shard) → when the node was first seen reporting a
  // replica its shard's leader does not count as a member.
  std::map<std::pair<uint64_t, uint64_t>, int64_t> stale_since_ms_;
  // The meta leader's latest heartbeat reply: shard → location, and the
  // addresses it named (used when the meta table lacks a node).
  std::map<uint64_t, internal::ShardLocation> locations_;
  std::map<uint64_t, std::string> location_addresses_;
  std::thread thread_;
};

}  // namespace tessera::node
