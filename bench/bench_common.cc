#include "bench/bench_common.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::bench {
namespace {

constexpr char kKeyIdHeader[] = "x-tessera-key-id";
constexpr char kSecretHeader[] = "x-tessera-secret";
constexpr char kErrcTrailer[] = "x-tessera-errc";
constexpr char kAlnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

}  // namespace

Target::Target(std::string endpoint, client::Credentials credentials, int server_pid)
    : endpoint_(std::move(endpoint)), credentials_(std::move(credentials)), server_pid_(server_pid) {}

std::shared_ptr<grpc::Channel> Target::new_channel() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kReceiveMessageBytesMax);
  args.SetMaxSendMessageSize(kReceiveMessageBytesMax);
  args.SetInt("tessera.bench.channel", channels_.fetch_add(1));
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(endpoint_, grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::ClientContext> Target::context(int64_t timeout_ms) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kKeyIdHeader, credentials_.key_id);
  ctx->AddMetadata(kSecretHeader, credentials_.secret);
  if (timeout_ms > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }
  return ctx;
}

Status call_error(std::string_view what, const grpc::Status& status, const grpc::ClientContext& ctx) {
  std::string m(what);
  m += ": gRPC code " + std::to_string(static_cast<int>(status.error_code())) + ": " +
       status.error_message();
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(kErrcTrailer);
  Errc code = status.error_code() == grpc::StatusCode::UNAVAILABLE ? Errc::unavailable : Errc::internal;
  if (it != trailers.end()) {
    std::string_view name(it->second.data(), it->second.size());
    m += " (errc " + std::string(name) + ")";
    code = errc_from_name(name);
    if (code == Errc::ok) code = Errc::internal;
  }
  return Status(code, std::move(m));
}

Status run_workers(int threads, const std::function<Status(int, const std::atomic<bool>&)>& fn) {
  TESSERA_ASSERT(threads >= 1 && threads <= kThreadsMax);
  std::atomic<bool> stop{false};
  std::mutex mu;
  Status first;
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      Status st = fn(i, stop);
      if (!st.is_ok()) {
        stop = true;
        std::lock_guard lk(mu);
        if (first.is_ok()) first = st;
      }
    });
  }
  for (auto& t : pool) t.join();
  return first;
}

void Latencies::add(std::chrono::steady_clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  us_.push_back(static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX)));
  sorted_ = false;
}

void Latencies::merge(Latencies&& other) {
  us_.insert(us_.end(), other.us_.begin(), other.us_.end());
  other.us_.clear();
  sorted_ = false;
}

double Latencies::percentile_us(double p) {
  if (us_.empty()) return 0;
  if (!sorted_) {
    std::sort(us_.begin(), us_.end());
    sorted_ = true;
  }
  // Nearest rank.
  double rank = std::ceil(p / 100.0 * static_cast<double>(us_.size()));
  size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(us_.size()))) - 1;
  return us_[i];
}

void PayloadGen::fill(std::string& out, size_t n) {
  out.resize(n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = next();
    std::memcpy(out.data() + i, &v, 8);
  }
  if (i < n) {
    uint64_t v = next();
    std::memcpy(out.data() + i, &v, n - i);
  }
}

void PayloadGen::fill_alnum(std::string& out, size_t n) {
  out.resize(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = next();
    for (size_t j = i; j < n && j < i + 8; ++j, v >>= 8) out[j] = kAlnum[(v & 0xff) % 62];
  }
}

void Report::add(Figure f) {
  auto clean = [](std::string s) {
    std::replace(s.begin(), s.end(), '\t', ' ');
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
  };
  std::printf("%s\t%.6g\t%s\t%s\n", clean(f.name).c_str(), f.value, clean(f.unit).c_str(),
              clean(f.details).c_str());
  std::fflush(stdout);
  figures_.push_back(std::move(f));
}

std::string Report::json() const {
  nlohmann::json figs = nlohmann::json::array();
  for (const auto& f : figures_) {
    figs.push_back({{"name", f.name}, {"value", f.value}, {"unit", f.unit}, {"details", f.details}});
  }
  return nlohmann::json{{"figures", figs}}.dump(2) + "\n";
}

PhaseMeter::PhaseMeter(const Target& target) : pid_(target.server_pid()), start_(sample()) {}

PhaseMeter::Sample PhaseMeter::sample() const {
  Sample s;
  s.at = std::chrono::steady_clock::now();
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    s.client_cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  if (pid_ <= 0) return s;
  // /proc/PID/stat: fields 14 and 15 are utime and stime in clock ticks;
  // the command name (field 2) may hold spaces, so parse after its ')'.
  std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream in(line.substr(close + 2));
      std::string field;
      double utime = 0, stime = 0;
      for (int i = 3; i <= 15 && (in >> field); ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
      }
      s.server_cpu_s = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  std::ifstream io("/proc/" + std::to_string(pid_) + "/io");
  std::string key;
  uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "write_bytes:") s.server_write_bytes = value;
  }
  return s;
}

void PhaseMeter::report(Report& report, const std::string& phase, double work, const std::string& work_unit,
                        uint64_t payload_bytes) const {
  Sample end = sample();
  double wall = std::chrono::duration<double>(end.at - start_.at).count();
  auto cpu = [&](const char* who, double s) {
    report.add({phase + "." + who + "_cpu", s, "s",
                fmt::format("{:.1f} us per {}, {:.2f} cores over {:.2f} s", work > 0 ? s * 1e6 / work : 0.0,
                            work_unit, wall > 0 ? s / wall : 0.0, wall)});
  };
  cpu("client", end.client_cpu_s - start_.client_cpu_s);
  if (pid_ <= 0) return;
  cpu("server", end.server_cpu_s - start_.server_cpu_s);
  if (payload_bytes == 0) return;
  uint64_t written = end.server_write_bytes - start_.server_write_bytes;
  std::string amp = fmt::format("{:.2f} bytes written per payload byte",
                                static_cast<double>(written) / static_cast<double>(payload_bytes));
  report.add({phase + ".server_disk_write", static_cast<double>(written) / kMiB, "MiB",
              amp + " (/proc/PID/io write_bytes; RocksDB flushes and compactions that finish later are not counted)"});
}

std::string human_bytes(uint64_t n) {
  char buf[32];
  if (n >= kGiB) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(n) / kGiB);
  } else if (n >= kMiB) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / kMiB);
  } else if (n >= kKiB) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / kKiB);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  }
  return buf;
}

Status make_dir(Target& target, const std::string& path) {
  auto stub = v1::Namespace::NewStub(target.new_channel());
  v1::MkdirRequest req;
  req.set_path(path);
  req.set_parents(true);
  v1::MkdirResponse resp;
  auto ctx = target.context();
  grpc::Status s = stub->Mkdir(ctx.get(), req, &resp);
  if (s.ok()) return Status::ok();
  Status st = call_error("mkdir " + path, s, *ctx);
  return st.code() == Errc::already_exists ? Status::ok() : st;
}

}  // namespace tessera::bench
