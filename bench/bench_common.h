#pragma once
// Shared pieces of tessera_bench: the target server and its channels, auth
// contexts, worker threads, latency samples, payload generation and the
// report (one TSV line per figure, optionally JSON).
//
// Only the bench's own .cc files include this header, so gRPC headers here
// reach no other module.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "client/credentials.h"

namespace tessera::bench {

inline constexpr uint64_t kKiB = 1ull << 10;
inline constexpr uint64_t kMiB = 1ull << 20;
inline constexpr uint64_t kGiB = 1ull << 30;
// Largest response message the bench accepts (Fetch asks for up to 4 MiB).
inline constexpr int kReceiveMessageBytesMax = 64 << 20;
// Deadline of every unary call; a stuck server fails the run instead of hanging it.
inline constexpr int64_t kUnaryTimeoutMs = 60'000;
// Upper bound on worker threads of any workload.
inline constexpr int kThreadsMax = 256;

// The server under test and the key the bench calls it with. Thread-safe.
class Target {
 public:
  // server_pid: the server's process id when it runs on this machine (its
  // CPU time and disk writes are then measured per phase), else 0.
  Target(std::string endpoint, client::Credentials credentials, int server_pid = 0);

  const std::string& endpoint() const { return endpoint_; }
  int server_pid() const { return server_pid_; }

  // A channel with its own TCP connection. gRPC shares one subchannel (one
  // HTTP/2 connection) between channels created with identical arguments;
  // a distinct argument per channel keeps them apart.
  std::shared_ptr<grpc::Channel> new_channel();

  // A context carrying the auth metadata and, when timeout_ms > 0, a deadline.
  std::unique_ptr<grpc::ClientContext> context(int64_t timeout_ms = kUnaryTimeoutMs) const;

 private:
  std::string endpoint_;
  client::Credentials credentials_;
  int server_pid_;
  std::atomic<int> channels_{0};
};

// A failed call as a Status naming the call: "tables.put /b/t: NOT_FOUND:
// ... (errc not_found)".
Status call_error(std::string_view what, const grpc::Status& status, const grpc::ClientContext& ctx);

// Runs fn(index, stop) on `threads` threads and returns the first failure.
// Once any worker fails, `stop` becomes true so the others can give up early.
Status run_workers(int threads, const std::function<Status(int, const std::atomic<bool>&)>& fn);

// Latency samples of one or more threads, in microseconds.
class Latencies {
 public:
  void add(std::chrono::steady_clock::duration d);
  void merge(Latencies&& other);
  size_t count() const { return us_.size(); }
  // p in [0, 100]; sorts the samples on first use after a change.
  double percentile_us(double p);

 private:
  std::vector<uint32_t> us_;
  bool sorted_ = true;
};

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A fast, seedable generator of incompressible bytes (xorshift64*), so that
// payloads measure storage, not the compressor.
class PayloadGen {
 public:
  explicit PayloadGen(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  // Overwrites `out` (resized to n) with random bytes.
  void fill(std::string& out, size_t n);
  // Overwrites `out` with n random characters from [0-9a-zA-Z].
  void fill_alnum(std::string& out, size_t n);

 private:
  uint64_t s_;
};

// One measured figure.
struct Figure {
  std::string name;     // "files.write"
  double value = 0;
  std::string unit;     // "MiB/s", "ops/s", "us"
  std::string details;  // how it was made: sizes, threads, elapsed time
};

// Collects figures; each is printed as a TSV line to stdout when added.
class Report {
 public:
  void add(Figure f);
  // {"figures":[{"name":..,"value":..,"unit":..,"details":..}, ...]}
  std::string json() const;

 private:
  std::vector<Figure> figures_;
};

// Resources used during one phase of a workload: the bench's own CPU time
// (getrusage) and, when the target's server_pid is known, the server's CPU
// time (/proc/PID/stat) and bytes written to storage (/proc/PID/io).
class PhaseMeter {
 public:
  // Starts measuring.
  explicit PhaseMeter(const Target& target);
  // Adds <phase>.client_cpu, with a server pid <phase>.server_cpu, and with
  // payload_bytes > 0 too <phase>.server_disk_write (bytes the server wrote
  // per payload byte). `work` is what the phase did, in `work_unit`s ("op",
  // "MiB"), to state costs per unit.
  void report(Report& report, const std::string& phase, double work, const std::string& work_unit,
              uint64_t payload_bytes) const;

 private:
  struct Sample {
    double client_cpu_s = 0;
    double server_cpu_s = 0;
    uint64_t server_write_bytes = 0;
    std::chrono::steady_clock::time_point at;
  };
  Sample sample() const;

  int pid_;
  Sample start_;
};

// "1.50 GiB" style text for details.
std::string human_bytes(uint64_t n);
// Ensures directory `path` exists (Namespace.Mkdir with parents).
Status make_dir(Target& target, const std::string& path);

}  // namespace tessera::bench
