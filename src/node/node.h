#pragma once
// Node: one tesserad process — the storage engine, the shard host, the
// backend, the gRPC services and the admin HTTP server, plus the periodic
// work (stream retention). With no other nodes it is a complete cluster.
//
// Threads: gRPC's request threads, the admin server's I/O threads, the shard
// host's writer thread and one housekeeping thread owned here.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"

namespace tessera::node {

struct NodeOptions {
  std::string data_dir;
  std::string grpc_addr = "127.0.0.1:7070";
  std::string http_addr = "127.0.0.1:7071";
  bool sync = true;                      // fsync before acknowledging
  int64_t retention_interval_ms = 5000;  // how often stream retention runs
  size_t block_cache_bytes = 64ull << 20;
  // Cluster membership: empty to start (or restart) on its own; else the
  // gRPC address of any member of the cluster to join (first start only).
  std::string join;
  std::map<std::string, std::string> labels;  // zone=a,rack=r1
  int64_t heartbeat_ms = 1000;
  // A node silent this long has its replicas re-created on other nodes.
  int64_t node_dead_after_ms = 60000;
  // MiB/s all snapshot streams this node sends may use together (re-
  // replication, new replicas), so recovery leaves room for foreground
  // writes; 0 = unlimited.
  uint64_t recovery_rate_mib = 0;
  // A table's tablet splits in two once it holds more than this.
  uint64_t tablet_split_mib = 128;
  // File data shards of each new volume (0: file data in the volume shard).
  uint32_t file_data_shards = 4;
  int64_t raft_tick_ms = 50;
  // The Kafka gateway (gateway/kafka/server/broker.h); empty kafka_addr
  // turns it off.
  std::string kafka_addr = "127.0.0.1:9092";
  std::string kafka_advertised_addr;          // "" = the bound address
  std::string kafka_default_stream = "/kafka";
  bool kafka_auto_create = true;
  uint32_t kafka_default_partitions = 1;
  bool kafka_allow_anonymous = true;
  int32_t kafka_initial_rebalance_delay_ms = 3000;
};

// "zone=a,rack=r1" → {zone: a, rack: r1}; an empty string is no labels.
Result<std::map<std::string, std::string>> parse_labels(const std::string& text);

class Node {
 public:
  static Result<std::unique_ptr<Node>> start(const NodeOptions& opts);
  ~Node();  // stops everything

  const std::string& grpc_address() const;
  const std::string& http_address() const;
  // The Kafka listener's bound address ("" when off).
  std::string kafka_address() const;
  uint64_t node_id() const;
  // Path of the admin credentials file written at first start.
  std::string admin_credentials_path() const;

  // Stops serving; safe from any thread but a request handler.
  void stop();

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::node
