#pragma once
// Node: one tesserad process — the storage engine, the shard host, the
// backend, the gRPC services and the admin HTTP server, plus the periodic
// work (stream retention). With no other nodes it is a complete cluster.
//
// Threads: gRPC's request threads, the admin server's I/O threads, the shard
// host's writer thread and one housekeeping thread owned here.

#include <condition_variable>
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
};

class Node {
 public:
  static Result<std::unique_ptr<Node>> start(const NodeOptions& opts);
  ~Node();  // stops everything

  const std::string& grpc_address() const;
  const std::string& http_address() const;
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
