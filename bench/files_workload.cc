// files workload: one large sequential write, then one sequential read.

#include <fmt/format.h>

#include <unistd.h>

#include <cstring>
#include <fstream>

#include "bench/workloads.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::bench {
namespace {

// Every message starts with its file offset, so the read can check that
// each piece came back where it was written.
void stamp(std::string& data, uint64_t offset) {
  if (data.size() >= 8) std::memcpy(data.data(), &offset, 8);
}

double mib_per_s(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / kMiB / seconds : 0;
}

// Writes back dirty pages and drops the page cache; says what happened.
std::string drop_page_cache() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  f << "3\n";
  f.flush();
  return f ? "page cache dropped before the read" : "page cache NOT dropped (no permission)";
}

Status write_file(Target& target, const std::string& path, const FilesOptions& opts, Report& report) {
  auto stub = v1::Files::NewStub(target.new_channel());
  auto ctx = target.context(0);  // a transfer has no deadline
  v1::WriteResponse resp;
  PayloadGen gen(1);
  v1::WriteRequest msg;
  PhaseMeter meter(target);
  Stopwatch sw;
  auto writer = stub->Write(ctx.get(), &resp);
  uint64_t offset = 0;
  bool ok = true;
  while (offset < opts.file_bytes && ok) {
    size_t n = static_cast<size_t>(std::min(opts.message_bytes, opts.file_bytes - offset));
    msg.Clear();
    if (offset == 0) {
      msg.set_path(path);
      msg.set_create(true);
      msg.set_truncate(true);
    }
    msg.set_offset(offset);
    gen.fill(*msg.mutable_data(), n);
    stamp(*msg.mutable_data(), offset);
    ok = writer->Write(msg);
    offset += n;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  double secs = sw.seconds();
  if (!s.ok()) return call_error("files.write " + path, s, *ctx);
  if (resp.size() != opts.file_bytes) {
    return Status(Errc::internal, path + ": file size after write is " + std::to_string(resp.size()) +
                                      ", expected " + std::to_string(opts.file_bytes));
  }
  report.add({"files.write", mib_per_s(opts.file_bytes, secs), "MiB/s",
              human_bytes(opts.file_bytes) + " in " + human_bytes(opts.message_bytes) +
                  " messages, 1 stream, acknowledged durable, " + fmt::format("{:.2f} s", secs)});
  meter.report(report, "files.write", static_cast<double>(opts.file_bytes) / kMiB, "MiB", opts.file_bytes);
  return Status::ok();
}

Status read_file(Target& target, const std::string& path, const FilesOptions& opts, Report& report) {
  auto stub = v1::Files::NewStub(target.new_channel());
  auto ctx = target.context(0);
  v1::ReadRequest req;
  req.set_path(path);
  v1::ReadResponse msg;
  const std::string cache = opts.drop_caches ? drop_page_cache() : "page cache warm";
  uint64_t got = 0;
  uint64_t messages = 0;
  PhaseMeter meter(target);
  Stopwatch sw;
  auto reader = stub->Read(ctx.get(), req);
  while (reader->Read(&msg)) {
    if (msg.offset() != got) {
      ctx->TryCancel();
      (void)reader->Finish();
      return Status(Errc::corruption, path + ": read message at offset " + std::to_string(msg.offset()) +
                                          ", expected " + std::to_string(got));
    }
    // Check every stamp the message holds whole (stamps are at multiples of
    // message_bytes; the read's messages need not align with the write's).
    const std::string& d = msg.data();
    uint64_t k = (got + opts.message_bytes - 1) / opts.message_bytes * opts.message_bytes;
    for (; k + 8 <= got + d.size(); k += opts.message_bytes) {
      uint64_t v = 0;
      std::memcpy(&v, d.data() + (k - got), 8);
      if (v != k) {
        ctx->TryCancel();
        (void)reader->Finish();
        return Status(Errc::corruption, path + ": wrong data at offset " + std::to_string(k));
      }
    }
    got += d.size();
    ++messages;
  }
  grpc::Status s = reader->Finish();
  double secs = sw.seconds();
  if (!s.ok()) return call_error("files.read " + path, s, *ctx);
  if (got != opts.file_bytes) {
    return Status(Errc::corruption, path + ": read " + std::to_string(got) + " bytes, expected " +
                                        std::to_string(opts.file_bytes));
  }
  report.add({"files.read", mib_per_s(got, secs), "MiB/s",
              human_bytes(got) + " in " + std::to_string(messages) + " messages, 1 stream, " + cache + ", " +
                  fmt::format("{:.2f} s", secs)});
  meter.report(report, "files.read", static_cast<double>(got) / kMiB, "MiB", 0);
  return Status::ok();
}

}  // namespace

Status run_files(Target& target, const std::string& base_dir, const FilesOptions& opts, Report& report) {
  if (opts.file_bytes == 0 || opts.message_bytes == 0 || opts.message_bytes > 4 * kMiB) {
    return Status(Errc::invalid_argument, "files: need file size > 0 and 0 < message size <= 4 MiB");
  }
  std::string path = base_dir + "/file.bin";
  TESSERA_TRY(write_file(target, path, opts, report));
  return read_file(target, path, opts, report);
}

}  // namespace tessera::bench
