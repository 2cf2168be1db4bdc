#pragma once
// ClusterCalls: the Admin RPCs of the cluster commands (ClusterHealth,
// ListNodes, DrainNode, RemoveNode), made over their own channel to the
// endpoint and with the credentials of an open client::Connection, with
// Connection's rules for errors (client/connection.h).
//
// It stands in for the typed calls client::Connection does not have yet;
// when Connection gains cluster_health, list_nodes, drain_node and
// remove_node, the commands call those and this file goes. gRPC headers stay
// in the .cc.
//
// Single-threaded, like the rest of the CLI.

#include <memory>

#include "base/status.h"
#include "client/connection.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::cli {

class ClusterCalls {
 public:
  // Uses conn's endpoint and credentials; conn must outlive this object.
  explicit ClusterCalls(const client::Connection& conn);
  ~ClusterCalls();
  ClusterCalls(const ClusterCalls&) = delete;
  ClusterCalls& operator=(const ClusterCalls&) = delete;

  Result<v1::ClusterHealthResponse> cluster_health(const v1::ClusterHealthRequest& req);
  Result<v1::ListNodesResponse> list_nodes(const v1::ListNodesRequest& req);
  Result<v1::NodeResponse> drain_node(const v1::NodeRequest& req);
  Result<v1::NodeResponse> remove_node(const v1::NodeRequest& req);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::cli
