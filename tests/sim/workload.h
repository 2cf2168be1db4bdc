#pragma once
// Workload: the simulated clients and the operator.
//
// Clients (at most kClientsMax) each run one op at a time: pick an op of the
// configured workload, send it to the node they believe leads (sometimes to
// a random node), and wait for a reply or a timeout (the op is then
// "unknown"). The register workload caps ops per key so the linearizability
// search stays small.
//
// The operator runs membership plans one at a time (replace a voter: add a
// learner, promote it once caught up, remove the old voter and shut it down;
// add a voter; remove a voter), one conf change in flight, each re-derived
// from the current leader's configuration.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "sim/history.h"
#include "sim/options.h"

namespace tessera::sim {

class Cluster;

class Workload {
 public:
  static constexpr int kClientsMax = 5;
  static constexpr int kRegisterKeys = 8;
  static constexpr int kRegisterOpsPerKeyMax = 80;
  static constexpr uint64_t kOpTimeoutUs = 1'000'000;

  Workload(Cluster& cluster, WorkloadKind kind, int clients);

  void start();
  void on_reply(uint64_t op_id, Outcome outcome, const std::string& result, raft::NodeId hint);

 private:
  struct Client {
    int id = 0;
    uint64_t current = 0;  // op id in flight, 0 when idle
    uint64_t leader_hint = 0;
  };
  enum class PlanKind : uint8_t { replace, add, remove };
  struct Plan {
    PlanKind kind;
    raft::NodeId old_node;  // replace/remove
    raft::NodeId new_node;  // replace/add
    uint64_t deadline_us;
  };
  struct Proposal {
    raft::ConfChange change;
    raft::Term term;
    raft::LogIndex index;
    uint64_t deadline_us;
  };

  void client_loop(int client);
  void issue(Client& c);
  bool make_op(Client& c, Op* op);
  void timeout(int client, uint64_t op_id);
  void operator_tick();
  void choose_plan();
  void advance_plan();
  void resolve_removals();

  Cluster& cluster_;
  WorkloadKind kind_;
  std::vector<Client> clients_;
  std::map<std::string, int> ops_per_key_;
  std::map<std::string, int64_t> last_value_;  // per key, last value seen by any client

  std::optional<Plan> plan_;
  std::optional<Proposal> proposal_;
  // Every removal proposed: its node is shut down once it commits (even
  // after the proposal timed out).
  std::vector<Proposal> removals_;
};

}  // namespace tessera::sim
