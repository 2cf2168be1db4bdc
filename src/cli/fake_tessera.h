#pragma once
// FakeTessera: an in-process gRPC server with just enough of tessera.v1 to
// drive the CLI's commands in tests (commands_test.cc). Test-only.
//
// State is in memory behind one mutex (gRPC serves calls on its own
// threads). Deliberately small pages — List and Scan return at most
// kPageEntries per call — so that the CLI's page-token loops are exercised.
// Errors carry x-tessera-errc like the real server.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/connection.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::cli::testing {

inline constexpr size_t kPageEntries = 2;

struct FakeState {
  std::mutex mu;
  std::map<std::string, v1::Stat> objects;  // by path; "/" always exists
  std::map<std::string, std::string> files;
  std::map<std::string, std::vector<v1::AclEntry>> acls;
  std::map<std::string, v1::Row> rows;     // one table, by key
  std::map<std::string, uint32_t> topics;  // "stream:topic" -> partitions
  std::map<std::string, std::vector<std::vector<v1::Record>>> records;  // per partition
  std::map<std::string, uint64_t> commits;  // "group/partition" -> offset
  size_t produce_calls = 0;
  std::string last_key_id;  // key id seen on the last call

  // Cluster: ClusterHealth answers health_json verbatim (unavailable while
  // it is empty); ListNodes lists `nodes`; DrainNode and RemoveNode change
  // a node's state like the real server — permission_denied unless
  // caller_admin, not_found for an unknown id, and RemoveNode refuses with
  // not_empty while replicas[id] > 0.
  std::string health_json;
  std::vector<v1::Node> nodes;
  std::map<uint64_t, uint64_t> replicas;
  bool caller_admin = true;
};

class FakeTessera {
 public:
  FakeTessera();
  ~FakeTessera();

  FakeState& state() { return *state_; }
  std::string endpoint() const;
  // A connection with key id "TK-TEST".
  std::unique_ptr<client::Connection> connect() const;

 private:
  std::shared_ptr<FakeState> state_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace tessera::cli::testing
