#include "sim/options.h"

namespace tessera::sim {

const char* workload_name(WorkloadKind w) {
  switch (w) {
    case WorkloadKind::registers: return "register";
    case WorkloadKind::bank: return "bank";
    case WorkloadKind::stream: return "stream";
    case WorkloadKind::all: return "all";
  }
  return "?";
}

const char* bug_name(InjectedBug b) {
  switch (b) {
    case InjectedBug::none: return "none";
    case InjectedBug::send_before_fsync: return "send-before-fsync";
    case InjectedBug::ack_before_commit: return "ack-before-commit";
    case InjectedBug::double_apply: return "double-apply";
  }
  return "?";
}

bool parse_workload(const std::string& s, WorkloadKind* out) {
  for (WorkloadKind w : {WorkloadKind::registers, WorkloadKind::bank, WorkloadKind::stream,
                         WorkloadKind::all}) {
    if (s == workload_name(w)) {
      *out = w;
      return true;
    }
  }
  return false;
}

bool parse_bug(const std::string& s, InjectedBug* out) {
  for (InjectedBug b : {InjectedBug::none, InjectedBug::send_before_fsync,
                        InjectedBug::ack_before_commit, InjectedBug::double_apply}) {
    if (s == bug_name(b)) {
      *out = b;
      return true;
    }
  }
  return false;
}

std::string replay_command(const std::string& argv0, const SimOptions& o) {
  std::string cmd = argv0 + " --seed " + std::to_string(o.seed) + " --nodes " +
                    std::to_string(o.nodes) + " --steps " + std::to_string(o.steps) +
                    " --workload " + workload_name(o.workload);
  if (o.min_voters != 1) cmd += " --min-voters " + std::to_string(o.min_voters);
  if (o.bug != InjectedBug::none) cmd += std::string(" --inject-bug ") + bug_name(o.bug);
  return cmd;
}

}  // namespace tessera::sim
