#pragma once
// A one-node cluster in process for server tests: a test engine, a shard
// host (the meta machine for the meta shard, volume machines for every
// other shard: volume, partition, tablet and file data shards), and the
// Backend over them. The caller bootstraps and starts it.

#include <memory>
#include <string>

#include "cluster/meta_keys.h"
#include "cluster/meta_machine.h"
#include "namespace/volume_machine.h"
#include "server/backend.h"
#include "storage/test_engine.h"

namespace tessera::server {

struct TestNode {
  explicit TestNode(const std::string& name) : engine(name) {}

  static shard::ShardHostOptions options() {
    shard::ShardHostOptions o;
    o.self = raft::NodeId(1);
    o.sync = false;
    o.tick_ms = 10;
    return o;
  }

  storage::TestEngine engine;
  shard::ShardHost host{*engine, options(), [](ShardId id) -> std::unique_ptr<shard::StateMachine> {
                          if (id == ShardId(cluster::kMetaShard)) return std::make_unique<cluster::MetaMachine>();
                          return std::make_unique<ns::VolumeMachine>();
                        }};
  Metrics metrics;
  Backend backend{*engine, host, metrics};
};

}  // namespace tessera::server
