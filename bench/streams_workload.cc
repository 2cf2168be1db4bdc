// streams workload: concurrent batched produce of fixed-size records, then
// a fetch of everything produced, partition by partition.

#include <fmt/format.h>

#include "bench/workloads.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::bench {
namespace {

constexpr char kTopic[] = "bench";

double mib_per_s(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / kMiB / seconds : 0;
}

Status produce(Target& target, const std::string& path, const StreamsOptions& opts, uint64_t records,
               Report& report) {
  const uint64_t batch = static_cast<uint64_t>(opts.batch_records);
  const uint64_t batches = (records + batch - 1) / batch;
  std::vector<Latencies> lats(static_cast<size_t>(opts.producers));
  PhaseMeter meter(target);
  Stopwatch sw;
  Status st = run_workers(opts.producers, [&](int p, const std::atomic<bool>& stop) -> Status {
    auto stub = v1::Streams::NewStub(target.new_channel());
    PayloadGen gen(3000 + static_cast<uint64_t>(p));
    Latencies& lat = lats[static_cast<size_t>(p)];
    v1::ProduceRequest req;
    req.set_stream(path);
    req.set_topic(kTopic);
    req.set_partition(p % opts.partitions);
    v1::ProduceResponse resp;
    for (uint64_t b = static_cast<uint64_t>(p); b < batches && !stop; b += static_cast<uint64_t>(opts.producers)) {
      uint64_t n = std::min(batch, records - b * batch);
      while (static_cast<uint64_t>(req.records_size()) > n) req.mutable_records()->RemoveLast();
      while (static_cast<uint64_t>(req.records_size()) < n) req.add_records();
      for (auto& r : *req.mutable_records()) gen.fill(*r.mutable_value(), opts.record_bytes);
      auto ctx = target.context();
      auto t0 = std::chrono::steady_clock::now();
      grpc::Status s = stub->Produce(ctx.get(), req, &resp);
      lat.add(std::chrono::steady_clock::now() - t0);
      if (!s.ok()) return call_error("streams.produce " + path, s, *ctx);
      if (static_cast<uint64_t>(resp.offsets_size()) != n) {
        return Status(Errc::internal, path + ": produce acknowledged " + std::to_string(resp.offsets_size()) +
                                          " of " + std::to_string(n) + " records");
      }
    }
    return Status::ok();
  });
  double secs = sw.seconds();
  TESSERA_TRY(st);
  Latencies all;
  for (auto& l : lats) all.merge(std::move(l));
  const uint64_t bytes = records * opts.record_bytes;
  std::string details =
      fmt::format("{} of {} B records, {} per Produce, {} producers, {} partitions, durable, {:.2f} s",
                  human_bytes(bytes), opts.record_bytes, opts.batch_records, opts.producers, opts.partitions, secs);
  report.add({"streams.produce", mib_per_s(bytes, secs), "MiB/s", details});
  report.add({"streams.produce.records", static_cast<double>(records) / secs, "records/s", details});
  report.add({"streams.produce.p50", all.percentile_us(50), "us", details + " (per Produce call)"});
  report.add({"streams.produce.p99", all.percentile_us(99), "us", details + " (per Produce call)"});
  meter.report(report, "streams.produce", static_cast<double>(records), "record", bytes);
  return Status::ok();
}

Status consume(Target& target, const std::string& path, const StreamsOptions& opts, uint64_t records,
               Report& report) {
  v1::ListTopicsResponse topics;
  {
    auto stub = v1::Streams::NewStub(target.new_channel());
    v1::ListTopicsRequest req;
    req.set_stream(path);
    auto ctx = target.context();
    grpc::Status s = stub->ListTopics(ctx.get(), req, &topics);
    if (!s.ok()) return call_error("streams.list_topics " + path, s, *ctx);
  }
  if (topics.topics_size() != 1 || topics.topics(0).end_offsets_size() != opts.partitions ||
      topics.topics(0).start_offsets_size() != opts.partitions) {
    return Status(Errc::internal, path + ": topic listing does not match what was created");
  }
  const v1::TopicInfo& info = topics.topics(0);
  uint64_t listed = 0;
  for (int i = 0; i < opts.partitions; ++i) listed += info.end_offsets(i) - info.start_offsets(i);
  if (listed != records) {
    return Status(Errc::internal, fmt::format("{}: {} records listed, {} produced", path, listed, records));
  }
  const int consumers = opts.consumers > 0 ? opts.consumers : opts.partitions;
  std::vector<uint64_t> bytes(static_cast<size_t>(consumers)), fetches(static_cast<size_t>(consumers));
  PhaseMeter meter(target);
  Stopwatch sw;
  Status st = run_workers(consumers, [&](int c, const std::atomic<bool>& stop) -> Status {
    auto stub = v1::Streams::NewStub(target.new_channel());
    v1::FetchRequest req;
    req.set_stream(path);
    req.set_topic(kTopic);
    req.set_max_bytes(opts.fetch_max_bytes);
    v1::FetchResponse resp;
    for (int part = c; part < opts.partitions && !stop; part += consumers) {
      uint64_t offset = info.start_offsets(part);
      const uint64_t end = info.end_offsets(part);
      req.set_partition(static_cast<uint32_t>(part));
      while (offset < end && !stop) {
        req.set_offset(offset);
        auto ctx = target.context();
        grpc::Status s = stub->Fetch(ctx.get(), req, &resp);
        if (!s.ok()) return call_error("streams.fetch " + path, s, *ctx);
        if (resp.records_size() == 0) {
          return Status(Errc::internal, fmt::format("{}: fetch at {} of partition {} returned nothing, end {}",
                                                    path, offset, part, end));
        }
        for (const auto& r : resp.records()) {
          if (r.offset() != offset) {
            return Status(Errc::corruption, fmt::format("{}: partition {}: record offset {}, expected {}", path,
                                                        part, r.offset(), offset));
          }
          bytes[static_cast<size_t>(c)] += r.value().size();
          ++offset;
        }
        ++fetches[static_cast<size_t>(c)];
      }
    }
    return Status::ok();
  });
  double secs = sw.seconds();
  TESSERA_TRY(st);
  uint64_t total = 0, calls = 0;
  for (int c = 0; c < consumers; ++c) {
    total += bytes[static_cast<size_t>(c)];
    calls += fetches[static_cast<size_t>(c)];
  }
  std::string details = fmt::format("{} in {} Fetch calls (max_bytes {}), {} consumers, {} partitions, {:.2f} s",
                                    human_bytes(total), calls, opts.fetch_max_bytes, consumers, opts.partitions, secs);
  report.add({"streams.consume", mib_per_s(total, secs), "MiB/s", details});
  report.add({"streams.consume.records", static_cast<double>(records) / secs, "records/s", details});
  meter.report(report, "streams.consume", static_cast<double>(records), "record", 0);
  return Status::ok();
}

}  // namespace

Status run_streams(Target& target, const std::string& base_dir, const StreamsOptions& opts, Report& report) {
  if (opts.record_bytes == 0 || opts.total_bytes < opts.record_bytes || opts.batch_records < 1 ||
      opts.producers < 1 || opts.producers > kThreadsMax || opts.partitions < 1 || opts.partitions > 1024 ||
      opts.consumers < 0 || opts.consumers > kThreadsMax || opts.fetch_max_bytes == 0) {
    return Status(Errc::invalid_argument, "streams: sizes, counts and threads must be positive and bounded");
  }
  const std::string path = base_dir + "/stream";
  auto stub = v1::Streams::NewStub(target.new_channel());
  {
    v1::CreateStreamRequest req;
    req.set_path(path);
    v1::CreateStreamResponse resp;
    auto ctx = target.context();
    grpc::Status s = stub->Create(ctx.get(), req, &resp);
    if (!s.ok()) return call_error("streams.create " + path, s, *ctx);
  }
  {
    v1::CreateTopicRequest req;
    req.set_stream(path);
    req.set_topic(kTopic);
    req.set_partitions(static_cast<uint32_t>(opts.partitions));
    v1::CreateTopicResponse resp;
    auto ctx = target.context();
    grpc::Status s = stub->CreateTopic(ctx.get(), req, &resp);
    if (!s.ok()) return call_error("streams.create_topic " + path, s, *ctx);
  }
  const uint64_t records = opts.total_bytes / opts.record_bytes;
  TESSERA_TRY(produce(target, path, opts, records, report));
  return consume(target, path, opts, records, report);
}

}  // namespace tessera::bench
