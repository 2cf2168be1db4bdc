// tessera_failover: the writer side of the failover measurement
// (bench/cluster.sh kills leaders; see docs/BENCHMARKS.md).
//
// Creates one table (under --path, in the root volume) through any of
// --endpoints, prints "tessera_failover: writing <table>" to stdout, then runs
// --writers threads that each issue small durable Tables.Put calls back to
// back, every call with a --timeout-ms deadline, until SIGTERM or SIGINT (or
// --seconds). Writer i starts on endpoint i % n and stays on its endpoint
// while calls succeed (a follower forwards the write to the shard's leader);
// after any error it moves to the next endpoint and retries at once with a
// fresh key (a failed put's outcome is unknown, so no key is reused).
//
// Every call goes to --log as one line, times in microseconds of the
// realtime clock (the clock bash's $EPOCHREALTIME reads, so the script's
// kill times compare directly):
//   A <issued_us> <acked_us> <writer> <endpoint index>      acknowledged
//   E <issued_us> <failed_us> <writer> <endpoint index> <gRPC code>
// The log is flushed every kFlushMs, so a script can follow its tail.
//
// Exit status: 0 stopped as asked, 1 no table could be created or the log
// could not be written, 2 usage.

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/bench_common.h"
#include "client/credentials.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tb = tessera::bench;

namespace {

constexpr int kFlushMs = 100;
// A call that fails faster than this (e.g. connection refused) is followed
// by a pause this long, so a writer facing only dead nodes does not spin.
constexpr int64_t kFastFailUs = 2000;
// Channels reconnect quickly to a restarted node.
constexpr int kReconnectBackoffMinMs = 50;
constexpr int kReconnectBackoffMaxMs = 250;
// Setup (mkdir, create table) may run while the cluster is still settling.
constexpr int64_t kSetupTimeoutMs = 10'000;
constexpr int kSetupAttemptsMax = 30;
constexpr int kWritersMax = 64;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The --log file: lines from all writers, appended under one lock.
class CallLog {
 public:
  explicit CallLog(std::FILE* f) : f_(f) {}
  void line(const std::string& s) {
    std::lock_guard lk(mu_);
    if (std::fputs(s.c_str(), f_) < 0) failed_ = true;
  }
  bool flush() {
    std::lock_guard lk(mu_);
    if (std::fflush(f_) != 0) failed_ = true;
    return !failed_;
  }

 private:
  std::mutex mu_;
  std::FILE* f_;
  bool failed_ = false;
};

std::shared_ptr<grpc::Channel> writer_channel(const std::string& endpoint, int id) {
  grpc::ChannelArguments args;
  args.SetInt("tessera.failover.channel", id);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kReconnectBackoffMinMs);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kReconnectBackoffMinMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kReconnectBackoffMaxMs);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

// Creates the table's directory and the table through the first endpoint that
// answers, retrying while the cluster settles.
tessera::Status create_table(std::vector<std::unique_ptr<tb::Target>>& targets, const std::string& table) {
  tessera::Status last;
  for (int attempt = 0; attempt < kSetupAttemptsMax && !g_stop; ++attempt) {
    tb::Target& t = *targets[static_cast<size_t>(attempt) % targets.size()];
    std::string dir = table.substr(0, table.rfind('/'));
    last = dir.empty() ? tessera::Status::ok() : tb::make_dir(t, dir);
    if (last.is_ok()) {
      auto stub = tessera::v1::Tables::NewStub(t.new_channel());
      tessera::v1::CreateTableRequest req;
      req.set_path(table);
      tessera::v1::CreateTableResponse resp;
      auto ctx = t.context(kSetupTimeoutMs);
      grpc::Status s = stub->Create(ctx.get(), req, &resp);
      if (s.ok()) return tessera::Status::ok();
      last = tb::call_error("tables.create " + table + " via " + t.endpoint(), s, *ctx);
      if (last.code() == tessera::Errc::already_exists) return tessera::Status::ok();
    }
    std::fprintf(stderr, "tessera_failover: setup: %s\n", last.to_string().c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return last;
}

struct WriterStats {
  uint64_t acked = 0;
  std::map<int, uint64_t> errors;  // gRPC code -> count
};

void run_writer(int w, const std::vector<std::unique_ptr<tb::Target>>& targets, const std::string& table,
                int64_t timeout_ms, uint64_t doc_bytes, CallLog& log, WriterStats& stats) {
  const size_t n = targets.size();
  std::vector<std::unique_ptr<tessera::v1::Tables::Stub>> stubs;
  for (size_t e = 0; e < n; ++e) {
    stubs.push_back(tessera::v1::Tables::NewStub(writer_channel(targets[e]->endpoint(), w * kWritersMax + static_cast<int>(e))));
  }
  tb::PayloadGen gen(7000 + static_cast<uint64_t>(w));
  size_t e = static_cast<size_t>(w) % n;
  tessera::v1::PutRowRequest req;
  req.set_path(table);
  tessera::v1::PutRowResponse resp;
  std::string pad;
  for (uint64_t seq = 0; !g_stop; ++seq) {
    req.set_key(fmt::format("w{:02d}-{:012d}", w, seq));
    std::string head = fmt::format("{{\"w\":{},\"seq\":{},\"pad\":\"", w, seq);
    gen.fill_alnum(pad, doc_bytes > head.size() + 2 ? doc_bytes - head.size() - 2 : 0);
    req.set_document(head + pad + "\"}");
    auto ctx = targets[e]->context(timeout_ms);
    int64_t t0 = now_us();
    grpc::Status s = stubs[e]->Put(ctx.get(), req, &resp);
    int64_t t1 = now_us();
    if (s.ok()) {
      ++stats.acked;
      log.line(fmt::format("A {} {} {} {}\n", t0, t1, w, e));
      continue;
    }
    ++stats.errors[static_cast<int>(s.error_code())];
    log.line(fmt::format("E {} {} {} {} {}\n", t0, t1, w, e, static_cast<int>(s.error_code())));
    e = (e + 1) % n;
    if (t1 - t0 < kFastFailUs) std::this_thread::sleep_for(std::chrono::microseconds(kFastFailUs));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tessera_failover: continuous small table puts against a cluster, every call logged"};
  std::vector<std::string> endpoints;
  std::string creds_path, log_path, table;
  int writers = 3;
  int64_t timeout_ms = 500;
  uint64_t doc_bytes = 128;
  double seconds = 3600;
  app.add_option("--endpoints", endpoints, "gRPC addresses of the cluster's nodes (comma-separated)")
      ->delimiter(',')->required();
  app.add_option("--credentials", creds_path, "Credentials file (default: $TESSERA_CREDENTIALS)");
  app.add_option("--log", log_path, "Where every call is logged (A/E lines, see the header)")->required();
  app.add_option("--path", table, "Table to write (default: /failover-<time>-<pid>/table)");
  app.add_option("--writers", writers, "Concurrent writer threads")->capture_default_str()->check(CLI::Range(1, kWritersMax));
  app.add_option("--timeout-ms", timeout_ms, "Deadline of each put")->capture_default_str()->check(CLI::Range(1, 60'000));
  app.add_option("--doc-size", doc_bytes, "Document bytes per put")->capture_default_str()->check(CLI::Range(16, 65536));
  app.add_option("--seconds", seconds, "Stop after this long even without a signal")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto env = tessera::client::process_env();
  auto creds = tessera::client::find_credentials(creds_path, env);
  if (!creds.is_ok() || !creds->has_value()) {
    std::fprintf(stderr, "tessera_failover: no credentials: %s\n",
                 creds.is_ok() ? "pass --credentials" : creds.status().message().c_str());
    return 2;
  }
  if (table.empty()) {
    table = fmt::format("/failover-{}-{}/table", now_us() / 1000, getpid());
  }
  std::vector<std::unique_ptr<tb::Target>> targets;
  for (const auto& ep : endpoints) targets.push_back(std::make_unique<tb::Target>(ep, **creds));

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  std::FILE* f = std::fopen(log_path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "tessera_failover: cannot open %s\n", log_path.c_str());
    return 1;
  }
  CallLog log(f);

  tessera::Status st = create_table(targets, table);
  if (!st.is_ok()) {
    std::fprintf(stderr, "tessera_failover: cannot create %s: %s\n", table.c_str(), st.to_string().c_str());
    return 1;
  }
  std::printf("tessera_failover: writing %s with %d writers, %lld ms per call, via %zu endpoints\n", table.c_str(),
              writers, static_cast<long long>(timeout_ms), targets.size());
  std::fflush(stdout);

  std::vector<WriterStats> stats(static_cast<size_t>(writers));
  std::vector<std::thread> pool;
  for (int w = 0; w < writers; ++w) {
    pool.emplace_back([&, w] { run_writer(w, targets, table, timeout_ms, doc_bytes, log, stats[static_cast<size_t>(w)]); });
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  bool log_ok = true;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kFlushMs));
    log_ok = log.flush() && log_ok;
    if (std::chrono::steady_clock::now() >= end) g_stop = 1;
  }
  for (auto& t : pool) t.join();
  log_ok = log.flush() && log_ok;
  log_ok = std::fclose(f) == 0 && log_ok;

  uint64_t acked = 0;
  std::map<int, uint64_t> errors;
  for (const auto& s : stats) {
    acked += s.acked;
    for (const auto& [code, count] : s.errors) errors[code] += count;
  }
  std::string errs;
  for (const auto& [code, count] : errors) errs += fmt::format(" code{}={}", code, count);
  std::printf("tessera_failover: stopped: %llu acknowledged, errors:%s\n", static_cast<unsigned long long>(acked),
              errs.empty() ? " none" : errs.c_str());
  if (!log_ok) {
    std::fprintf(stderr, "tessera_failover: writing %s failed\n", log_path.c_str());
    return 1;
  }
  return 0;
}
