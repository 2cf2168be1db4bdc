// raft_sim: deterministic whole-cluster simulation of the raft core.
// See tests/sim/README.md. Exit status: 0 all seeds passed (or, with
// --expect-failure, some seed failed a checker), 1 otherwise, 2 bad usage.

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sim/cluster.h"
#include "sim/options.h"

namespace {

using tessera::sim::SimOptions;

char g_replay[1024];

// A raft TESSERA_ASSERT aborts the process; say how to replay it first.
void on_abort(int) {
  const char head[] = "\nraft_sim: aborted (assertion?) during: ";
  (void)!write(2, head, sizeof head - 1);
  (void)!write(2, g_replay, std::strlen(g_replay));
  (void)!write(2, "\n", 1);
  std::signal(SIGABRT, SIG_DFL);
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s (--seed N | --seeds A..B) [--nodes 3|5] [--steps K]\n"
               "          [--workload register|bank|stream|all] [--time-budget-s S]\n"
               "          [--inject-bug send-before-fsync|ack-before-commit|double-apply]\n"
               "          [--min-voters N] [--keep-going] [--expect-failure] [-v]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tessera::sim;
  uint64_t first = 1, last = 1;
  bool nodes_given = false, workload_given = false, expect_failure = false, keep_going = false;
  std::vector<std::string> failures;
  double budget_s = 0;
  SimOptions base;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--seed") {
      first = last = std::stoull(value());
    } else if (a == "--seeds") {
      std::string v = value();
      size_t dots = v.find("..");
      if (dots == std::string::npos) return usage(argv[0]);
      first = std::stoull(v.substr(0, dots));
      last = std::stoull(v.substr(dots + 2));
    } else if (a == "--nodes") {
      base.nodes = std::stoi(value());
      nodes_given = true;
      if (base.nodes != 3 && base.nodes != 5) return usage(argv[0]);
    } else if (a == "--steps") {
      base.steps = std::stoull(value());
    } else if (a == "--workload") {
      if (!parse_workload(value(), &base.workload)) return usage(argv[0]);
      workload_given = true;
    } else if (a == "--inject-bug") {
      if (!parse_bug(value(), &base.bug)) return usage(argv[0]);
    } else if (a == "--time-budget-s") {
      budget_s = std::stod(value());
    } else if (a == "--min-voters") {
      base.min_voters = std::stoi(value());
    } else if (a == "--keep-going") {
      keep_going = true;
    } else if (a == "--expect-failure") {
      expect_failure = true;
    } else if (a == "-v") {
      base.verbose = true;
    } else {
      return usage(argv[0]);
    }
  }
  if (last < first) return usage(argv[0]);
  std::signal(SIGABRT, on_abort);

  auto start = std::chrono::steady_clock::now();
  auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  RunStats total;
  uint64_t ran = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    if (budget_s > 0 && ran > 0 && elapsed_s() > budget_s) {
      std::printf("raft_sim: time budget of %.0f s reached after %llu of %llu seeds\n", budget_s,
                  (unsigned long long)ran, (unsigned long long)(last - first + 1));
      break;
    }
    SimOptions o = base;
    o.seed = seed;
    // Mixed seed sets: node count and workload follow from the seed.
    if (!nodes_given) o.nodes = (seed % 2 == 0) ? 3 : 5;
    if (!workload_given) o.workload = static_cast<WorkloadKind>((seed / 2) % 4);
    std::string replay = replay_command(argv[0], o);
    std::snprintf(g_replay, sizeof g_replay, "%s", replay.c_str());
    Cluster cluster(o);
    try {
      RunStats s = cluster.run();
      ++ran;
      total.events += s.events;
      total.ops_ok += s.ops_ok;
      total.ops_failed += s.ops_failed;
      total.ops_unknown += s.ops_unknown;
      total.crashes += s.crashes;
      total.snapshots_sent += s.snapshots_sent;
      total.snapshots_installed += s.snapshots_installed;
      total.compactions += s.compactions;
      total.conf_changes += s.conf_changes;
      total.transfers += s.transfers;
      total.leaders += s.leaders;
      total.lin_ops += s.lin_ops;
      total.lin_inconclusive += s.lin_inconclusive;
      if (o.verbose || first == last) {
        std::printf("seed %llu ok: %llu events, %.1f s virtual, ops ok/failed/unknown %llu/%llu/%llu, "
                    "%llu crashes, %llu leaders, %llu conf changes, %llu transfers, "
                    "snapshots sent/installed %llu/%llu, %llu compactions, %zu register ops "
                    "checked (%zu keys inconclusive)\n",
                    (unsigned long long)seed, (unsigned long long)s.events, s.virtual_us / 1e6,
                    (unsigned long long)s.ops_ok, (unsigned long long)s.ops_failed,
                    (unsigned long long)s.ops_unknown, (unsigned long long)s.crashes,
                    (unsigned long long)s.leaders, (unsigned long long)s.conf_changes,
                    (unsigned long long)s.transfers, (unsigned long long)s.snapshots_sent,
                    (unsigned long long)s.snapshots_installed, (unsigned long long)s.compactions,
                    s.lin_ops, s.lin_inconclusive);
      }
    } catch (const SimFailure& f) {
      std::printf("raft_sim: seed %llu FAILED: %s\n  %s\n\ntrace tail (virtual time, event, "
                  "fields):\n%s\nreplay:\n  %s\n",
                  (unsigned long long)seed, f.property.c_str(), f.what(),
                  cluster.trace_tail(30).c_str(), replay.c_str());
      if (expect_failure) {
        std::printf("raft_sim: injected bug %s caught after %llu passing seeds\n",
                    bug_name(o.bug), (unsigned long long)ran);
        return 0;
      }
      if (!keep_going) return 1;
      failures.push_back(f.property + ": " + replay);
      std::fflush(stdout);
    }
  }
  std::printf("raft_sim: %llu seeds passed in %.1f s: %llu events, ops ok/failed/unknown "
              "%llu/%llu/%llu, %llu crashes, %llu leaders, %llu conf changes, %llu transfers, "
              "snapshots sent/installed %llu/%llu, %llu compactions, %llu register ops "
              "checked (%llu keys inconclusive)\n",
              (unsigned long long)ran, elapsed_s(), (unsigned long long)total.events,
              (unsigned long long)total.ops_ok, (unsigned long long)total.ops_failed,
              (unsigned long long)total.ops_unknown, (unsigned long long)total.crashes,
              (unsigned long long)total.leaders, (unsigned long long)total.conf_changes,
              (unsigned long long)total.transfers, (unsigned long long)total.snapshots_sent,
              (unsigned long long)total.snapshots_installed, (unsigned long long)total.compactions,
              (unsigned long long)total.lin_ops, (unsigned long long)total.lin_inconclusive);
  if (!failures.empty()) {
    std::printf("raft_sim: %zu seeds FAILED:\n", failures.size());
    for (const std::string& f : failures) std::printf("  %s\n", f.c_str());
    return 1;
  }
  if (expect_failure) {
    std::printf("raft_sim: --expect-failure: no checker caught the injected bug\n");
    return 1;
  }
  return 0;
}
