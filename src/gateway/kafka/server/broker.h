#pragma once
// Broker: the Kafka gateway of one node — the listener, one Session per
// connection, and what the request handlers share: the node's Backend
// (streams, auth, meta), the consumer group coordinator, topic naming and
// the cluster's picture as Kafka clients see it (brokers = nodes, partition
// leaders = partition shard leaders).
//
// Group coordination lives on the meta shard's leader: every node answers
// FindCoordinator with it, and the others answer group requests with
// NOT_COORDINATOR, so clients follow it when it moves (members rejoin, as on
// a Kafka coordinator failover). Committed offsets live in the partition
// shards, so they survive any node.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "gateway/kafka/server/group_coordinator.h"
#include "gateway/kafka/server/listener.h"
#include "gateway/kafka/server/naming.h"
#include "namespace/stream_ops.h"
#include "tessera/internal/state.pb.h"

namespace tessera::server {
class Backend;
}

namespace tessera::kafka {

struct KafkaOptions {
  std::string listen_addr = "127.0.0.1:9092";
  std::string advertised_addr;  // what clients are told; "" = the bound address
  std::string default_stream = "/kafka";  // holds topics with plain names
  bool auto_create_topics = true;         // auto.create.topics.enable
  uint32_t default_partitions = 1;        // num.partitions
  bool allow_anonymous = true;            // unauthenticated clients act as "anonymous"
  int32_t max_frame_bytes = 100 << 20;
  int32_t initial_rebalance_delay_ms = 3000;  // group.initial.rebalance.delay.ms
};

// The principal of a connection that did not authenticate.
internal::Principal anonymous_principal();

struct BrokerNode {
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;  // the node's "zone" label
};

struct PartitionPlacement {
  int32_t leader = -1;  // -1: no leader known
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

// A Kafka topic name resolved to a stream topic the principal may use.
struct ResolvedTopic {
  TopicName name;
  ns::StreamTopic topic;
};

class Broker {
 public:
  Broker(server::Backend& backend, KafkaOptions opts);
  ~Broker();

  // Binds the listener (so its address can be advertised before serving).
  Status bind();
  // Creates the default stream when missing and starts serving.
  Status start();
  void stop();
  std::string address() const;     // the bound address
  std::string advertised() const;  // what Metadata tells clients

  // --- for the handlers ---
  server::Backend& backend() { return backend_; }
  const KafkaOptions& options() const { return opts_; }
  GroupCoordinator& groups() { return groups_; }
  int32_t node_id() const;
  // Every node with a Kafka address, from this node's meta replica.
  std::vector<BrokerNode> brokers() const;
  std::string cluster_id() const;
  // The meta shard's leader: the controller and the group coordinator.
  int32_t coordinator_id() const;
  bool is_coordinator() const { return coordinator_id() == node_id(); }
  PartitionPlacement placement(uint64_t shard) const;

  // Resolves a Kafka topic name for `want` (ns::Access bits). A topic that
  // does not exist is created (with its stream when that is missing) when
  // `create` and auto-creation are on and the principal may.
  Result<ResolvedTopic> resolve(const internal::Principal& who, std::string_view name, int want,
                                bool create);
  // Creates topic `name` with `partitions` (0 = the default) as `who`.
  Status create_topic(const internal::Principal& who, std::string_view name, int32_t partitions);
  // The topics of the default stream that `who` may read, by Kafka name.
  Result<std::vector<std::string>> list_topics(const internal::Principal& who);

  int64_t now_ms() const;
  bool stopping() const { return stopping_.load(); }

 private:
  void run_ticker();
  Status ensure_stream(const internal::Principal& who, const std::string& path, uint32_t mode);

  server::Backend& backend_;
  KafkaOptions opts_;
  GroupCoordinator groups_;
  std::unique_ptr<Listener> listener_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> was_coordinator_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
};

}  // namespace tessera::kafka
