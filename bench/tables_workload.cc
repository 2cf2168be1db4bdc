// tables workload: concurrent durable puts of JSON documents, then
// concurrent uniformly random gets.

#include <fmt/format.h>

#include "bench/workloads.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::bench {
namespace {

// Row i's 16-byte key: hex of i times an odd constant, a bijection on
// 64-bit integers, so keys are unique and arrive in no particular order.
std::string row_key(uint64_t i) { return fmt::format("{:016x}", i * 0x9E3779B97F4A7C15ull); }

// A JSON object of exactly `bytes` bytes (or the smallest possible above it).
std::string document(uint64_t i, uint64_t bytes, PayloadGen& gen) {
  std::string head = fmt::format("{{\"id\":{},\"pad\":\"", i);
  const size_t tail = 2;  // "}
  size_t pad = bytes > head.size() + tail ? bytes - head.size() - tail : 0;
  std::string filler;
  gen.fill_alnum(filler, pad);
  return head + filler + "\"}";
}

void add_latencies(Report& report, const std::string& name, Latencies& lat, const std::string& details) {
  report.add({name + ".p50", lat.percentile_us(50), "us", details});
  report.add({name + ".p99", lat.percentile_us(99), "us", details});
}

Status load(Target& target, const std::string& path, const TablesOptions& opts, Report& report) {
  std::vector<Latencies> lats(static_cast<size_t>(opts.threads));
  PhaseMeter meter(target);
  Stopwatch sw;
  Status st = run_workers(opts.threads, [&](int t, const std::atomic<bool>& stop) -> Status {
    auto stub = v1::Tables::NewStub(target.new_channel());
    PayloadGen gen(1000 + static_cast<uint64_t>(t));
    Latencies& lat = lats[static_cast<size_t>(t)];
    v1::PutRowRequest req;
    req.set_path(path);
    v1::PutRowResponse resp;
    for (uint64_t i = static_cast<uint64_t>(t); i < opts.rows && !stop; i += static_cast<uint64_t>(opts.threads)) {
      req.set_key(row_key(i));
      req.set_document(document(i, opts.document_bytes, gen));
      auto ctx = target.context();
      auto t0 = std::chrono::steady_clock::now();
      grpc::Status s = stub->Put(ctx.get(), req, &resp);
      lat.add(std::chrono::steady_clock::now() - t0);
      if (!s.ok()) return call_error("tables.put " + path, s, *ctx);
    }
    return Status::ok();
  });
  double secs = sw.seconds();
  TESSERA_TRY(st);
  Latencies all;
  for (auto& l : lats) all.merge(std::move(l));
  std::string details = fmt::format("{} rows, {} B documents, 16 B keys, {} clients, durable, {:.2f} s",
                                    opts.rows, opts.document_bytes, opts.threads, secs);
  report.add({"tables.put", static_cast<double>(opts.rows) / secs, "ops/s", details});
  add_latencies(report, "tables.put", all, details);
  meter.report(report, "tables.put", static_cast<double>(opts.rows), "op", opts.rows * (16 + opts.document_bytes));
  return Status::ok();
}

Status get_random(Target& target, const std::string& path, const TablesOptions& opts, Report& report) {
  std::vector<Latencies> lats(static_cast<size_t>(opts.threads));
  const auto duration = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(opts.get_seconds));
  const uint64_t per_thread = opts.get_ops / static_cast<uint64_t>(opts.threads);
  PhaseMeter meter(target);
  Stopwatch sw;
  const auto deadline = std::chrono::steady_clock::now() + duration;
  Status st = run_workers(opts.threads, [&](int t, const std::atomic<bool>& stop) -> Status {
    auto stub = v1::Tables::NewStub(target.new_channel());
    PayloadGen gen(2000 + static_cast<uint64_t>(t));
    Latencies& lat = lats[static_cast<size_t>(t)];
    v1::GetRowRequest req;
    req.set_path(path);
    v1::GetRowResponse resp;
    for (uint64_t n = 0; !stop; ++n) {
      auto t0 = std::chrono::steady_clock::now();
      if (per_thread > 0 ? n >= per_thread : t0 >= deadline) break;
      req.set_key(row_key(gen.next() % opts.rows));
      auto ctx = target.context();
      grpc::Status s = stub->Get(ctx.get(), req, &resp);
      lat.add(std::chrono::steady_clock::now() - t0);
      if (!s.ok()) return call_error("tables.get " + path, s, *ctx);
      if (resp.row().key() != req.key() || resp.row().document().empty()) {
        return Status(Errc::corruption, path + ": get " + req.key() + " returned another row");
      }
    }
    return Status::ok();
  });
  double secs = sw.seconds();
  TESSERA_TRY(st);
  Latencies all;
  for (auto& l : lats) all.merge(std::move(l));
  std::string details = fmt::format("{} gets, uniform over {} rows, {} clients, {:.2f} s", all.count(),
                                    opts.rows, opts.threads, secs);
  report.add({"tables.get", static_cast<double>(all.count()) / secs, "ops/s", details});
  add_latencies(report, "tables.get", all, details);
  meter.report(report, "tables.get", static_cast<double>(all.count()), "op", 0);
  return Status::ok();
}

}  // namespace

Status run_tables(Target& target, const std::string& base_dir, const TablesOptions& opts, Report& report) {
  if (opts.rows == 0 || opts.threads < 1 || opts.threads > kThreadsMax ||
      (opts.get_ops == 0 && opts.get_seconds <= 0) ||
      (opts.get_ops != 0 && opts.get_ops < static_cast<uint64_t>(opts.threads))) {
    return Status(Errc::invalid_argument,
                  fmt::format("tables: need rows > 0, 1..{} threads, a get duration or at least one get per thread",
                              kThreadsMax));
  }
  std::string path = base_dir + "/table";
  {
    auto stub = v1::Tables::NewStub(target.new_channel());
    v1::CreateTableRequest req;
    req.set_path(path);
    v1::CreateTableResponse resp;
    auto ctx = target.context();
    grpc::Status s = stub->Create(ctx.get(), req, &resp);
    if (!s.ok()) return call_error("tables.create " + path, s, *ctx);
  }
  TESSERA_TRY(load(target, path, opts, report));
  return get_random(target, path, opts, report);
}

}  // namespace tessera::bench
