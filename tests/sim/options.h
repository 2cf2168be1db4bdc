#pragma once
// Options of one simulation run; `replay_command` prints the exact command
// line that reruns it.

#include <cstdint>
#include <string>

namespace tessera::sim {

enum class WorkloadKind : uint8_t { registers, bank, stream, all };

// Deliberate bugs in the SIM DRIVER (never in raft), used to show that the
// checkers can fail.
enum class InjectedBug : uint8_t {
  none,
  send_before_fsync,  // a Ready's messages leave before its writes are durable
  ack_before_commit,  // clients are answered when the proposal is appended
  double_apply,       // restart keeps the old state machine and replays the log on it
};

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;
  uint64_t steps = 100'000;  // events in the fault phase
  WorkloadKind workload = WorkloadKind::all;
  InjectedBug bug = InjectedBug::none;
  // The operator never removes voters below this (1: any removal raft allows).
  int min_voters = 1;
  bool verbose = false;
};

const char* workload_name(WorkloadKind w);
const char* bug_name(InjectedBug b);
bool parse_workload(const std::string& s, WorkloadKind* out);
bool parse_bug(const std::string& s, InjectedBug* out);
std::string replay_command(const std::string& argv0, const SimOptions& o);

}  // namespace tessera::sim
