#pragma once
// What a node says about itself in Status and /v1/status.

#include <cstdint>
#include <string>

namespace tessera::server {

struct NodeInfo {
  std::string node_id;
  std::string version;
  std::string data_dir;
  std::string grpc_addr;
  std::string http_addr;
  int64_t started_ms = 0;
};

}  // namespace tessera::server
