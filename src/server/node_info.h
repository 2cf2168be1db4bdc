#pragma once
// What a node says about itself in Status and /v1/status, and the cluster
// questions only the node can answer (it owns the cluster agent). Set up by
// the node before the services start; read-only afterwards, so request
// threads read it without locking.

#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"

namespace tessera::server {

struct NodeInfo {
  std::string node_id;
  std::string version;
  std::string data_dir;
  std::string grpc_addr;
  std::string http_addr;
  int64_t started_ms = 0;
  // The meta leader's health document, as served at GET /v1/health (see
  // Admin.ClusterHealth in tessera.proto). Called on request threads; may
  // block while it asks the meta leader. Unset: Admin.ClusterHealth answers
  // Errc::unavailable and Admin.RemoveNode cannot check its precondition.
  std::function<Result<std::string>()> cluster_health_json;
};

}  // namespace tessera::server
