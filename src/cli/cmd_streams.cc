// Stream commands: stream create, stream topic create|ls, stream produce.
// `stream consume` lives in cmd_consume.cc.
//
// produce sends one record per stdin line (without its '\n') in batches of
// at most kProduceBatchRecordsMax records or kProduceBatchBytesMax bytes. A
// batch is also sent as soon as stdin has no more input ready, so records
// piped from a slow writer (tail -f) are not held back. At the end it
// prints "produced N records to PATH:TOPIC" to stderr.

#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>

#include "cli/args.h"
#include "cli/context.h"
#include "cli/output.h"
#include "client/units.h"

namespace tessera::cli {
namespace {

constexpr size_t kProduceBatchRecordsMax = 500;
constexpr size_t kProduceBatchBytesMax = 1 << 20;
// Longest stdin line accepted as one record.
constexpr size_t kLineBytesMax = 4 << 20;
constexpr size_t kReadBytes = 64 * 1024;

void add_create(CLI::App& stream, Context& ctx) {
  auto req = std::make_shared<v1::CreateStreamRequest>();
  auto mode = std::make_shared<uint32_t>(0644);
  auto age = std::make_shared<int64_t>(0);
  auto bytes = std::make_shared<uint64_t>(0);
  auto* cmd = stream.add_subcommand("create", "Create a stream (add topics with `topic create`)");
  cmd->add_option("PATH", *req->mutable_path(), "Stream to create")->required();
  cmd->add_option("--retention-age", *age,
                  "Drop records older than D: 7d, 12h, 30m, 45s, 500ms "
                  "or plain ms (default: keep forever)")
      ->transform(duration_arg())
      ->type_name("D");
  cmd->add_option("--retention-bytes", *bytes,
                  "Keep at most SIZE per partition: 10G, 512M, ... (default: no limit)")
      ->transform(size_arg())
      ->type_name("SIZE");
  cmd->add_option("--mode", *mode, "Permission bits in octal (default 644)")
      ->transform(mode_arg())
      ->type_name("MODE");
  on_run(cmd, ctx, [&ctx, req, mode, age, bytes]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    req->set_mode(*mode);
    req->set_retention_age_ms(*age);
    req->set_retention_bytes(*bytes);
    TESSERA_ASSIGN_OR_RETURN(v1::CreateStreamResponse resp, conn->create_stream(*req));
    if (ctx.json) print_json(ctx, stat_json(resp.stat()));
    return Status::ok();
  });
}

void add_topic(CLI::App& stream, Context& ctx) {
  auto* topic = stream.add_subcommand("topic", "Create or list the topics of a stream");
  topic->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  auto partitions = std::make_shared<uint32_t>(1);
  auto* create = topic->add_subcommand("create", "Create a topic");
  create->add_option("PATH:TOPIC", *name, "Stream path and topic name")
      ->required()
      ->check(topic_arg());
  create->add_option("--partitions", *partitions, "Number of partitions (default 1)")
      ->type_name("N")
      ->check(CLI::Range(1u, 1u << 16));
  on_run(create, ctx, [&ctx, name, partitions]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::TopicRef ref, client::parse_topic_ref(*name));
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::CreateTopicRequest r;
    r.set_stream(ref.stream);
    r.set_topic(ref.topic);
    r.set_partitions(*partitions);
    return conn->create_topic(r).status();
  });

  auto path = std::make_shared<std::string>();
  auto* ls = topic->add_subcommand(
      "ls", "List topics: NAME, PARTITIONS, RECORDS (retained, summed over partitions)");
  ls->add_option("PATH", *path, "Stream")->required();
  on_run(ls, ctx, [&ctx, path]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::ListTopicsRequest r;
    r.set_stream(*path);
    TESSERA_ASSIGN_OR_RETURN(v1::ListTopicsResponse resp, conn->list_topics(r));
    if (ctx.json) {
      Json arr = Json::array();
      for (const auto& t : resp.topics()) arr.push_back(topic_json(t));
      print_json(ctx, arr);
      return Status::ok();
    }
    TextTable table;
    table.align_right(1);
    table.align_right(2);
    table.add_row({"NAME", "PARTITIONS", "RECORDS"});
    for (const auto& t : resp.topics()) {
      uint64_t records = 0;
      int n = std::min(t.start_offsets_size(), t.end_offsets_size());
      for (int i = 0; i < n; ++i) {
        if (t.end_offsets(i) > t.start_offsets(i)) records += t.end_offsets(i) - t.start_offsets(i);
      }
      table.add_row({t.name(), std::to_string(t.partitions()), std::to_string(records)});
    }
    *ctx.out << table.render();
    return Status::ok();
  });
}

// Splits a file descriptor into lines. next() also reports, between lines,
// whether more input is ready without blocking.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}

  // The next line into `line` (without '\n'); false at end of input. The
  // last line needs no '\n'.
  Result<bool> next(std::string* line) {
    while (true) {
      size_t nl = buf_.find('\n', scanned_);
      if (nl != std::string::npos) {
        line->assign(buf_, 0, nl);
        buf_.erase(0, nl + 1);
        scanned_ = 0;
        return true;
      }
      scanned_ = buf_.size();
      if (buf_.size() > kLineBytesMax) {
        return Status(Errc::too_large,
                      "stdin: line longer than " + client::format_size(kLineBytesMax));
      }
      if (eof_) {
        if (buf_.empty()) return false;
        line->swap(buf_);
        buf_.clear();
        scanned_ = 0;
        return true;
      }
      TESSERA_TRY(fill());
    }
  }

  // True when a line is buffered or the descriptor has input (or EOF) ready.
  bool ready() const {
    if (buf_.find('\n', scanned_) != std::string::npos || eof_) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

 private:
  Status fill() {
    char tmp[kReadBytes];
    while (true) {
      ssize_t n = ::read(fd_, tmp, sizeof(tmp));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status(Errc::io_error, std::string("stdin: ") + std::strerror(errno));
      if (n == 0) eof_ = true;
      buf_.append(tmp, static_cast<size_t>(n));
      return Status::ok();
    }
  }

  int fd_;
  std::string buf_;
  size_t scanned_ = 0;  // buf_[0, scanned_) holds no '\n'
  bool eof_ = false;
};

struct ProduceOptions {
  std::string topic_ref;
  std::string key;
  int32_t partition = -1;
};

Status run_produce(Context& ctx, const ProduceOptions& o) {
  TESSERA_ASSIGN_OR_RETURN(client::TopicRef ref, client::parse_topic_ref(o.topic_ref));
  TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
  v1::ProduceRequest batch;
  batch.set_stream(ref.stream);
  batch.set_topic(ref.topic);
  batch.set_partition(o.partition);
  size_t batch_bytes = 0;
  uint64_t produced = 0;
  auto flush = [&]() -> Status {
    if (batch.records_size() == 0) return Status::ok();
    TESSERA_ASSIGN_OR_RETURN(v1::ProduceResponse resp, conn->produce(batch));
    if (resp.offsets_size() != batch.records_size()) {
      return Status(Errc::internal, o.topic_ref + ": server acknowledged " +
                                        std::to_string(resp.offsets_size()) + " of " +
                                        std::to_string(batch.records_size()) + " records");
    }
    produced += static_cast<uint64_t>(batch.records_size());
    batch.clear_records();
    batch_bytes = 0;
    return Status::ok();
  };
  LineReader lines(ctx.in_fd);
  std::string line;
  while (true) {
    if (batch.records_size() > 0 && !lines.ready()) TESSERA_TRY(flush());
    TESSERA_ASSIGN_OR_RETURN(bool more, lines.next(&line));
    if (!more) break;
    size_t bytes = line.size() + o.key.size();
    if (batch_bytes + bytes > kProduceBatchBytesMax) TESSERA_TRY(flush());
    v1::Record* rec = batch.add_records();
    rec->set_key(o.key);
    rec->set_value(std::move(line));
    line.clear();
    batch_bytes += bytes;
    if (static_cast<size_t>(batch.records_size()) >= kProduceBatchRecordsMax) TESSERA_TRY(flush());
  }
  TESSERA_TRY(flush());
  *ctx.err << "produced " << produced << " records to " << o.topic_ref << '\n';
  return Status::ok();
}

void add_produce(CLI::App& stream, Context& ctx) {
  auto o = std::make_shared<ProduceOptions>();
  auto* cmd = stream.add_subcommand(
      "produce", "Send one record per stdin line; prints the count to stderr at the end");
  cmd->add_option("PATH:TOPIC", o->topic_ref, "Stream path and topic name")
      ->required()
      ->check(topic_arg());
  cmd->add_option("--key", o->key, "Key of every record (default: none)")->type_name("K");
  cmd->add_option("--partition", o->partition,
                  "Send every record to partition P (default: by key hash; without key, "
                  "the next partition in turn)")
      ->type_name("P")
      ->check(CLI::NonNegativeNumber);
  on_run(cmd, ctx, [&ctx, o] { return run_produce(ctx, *o); });
}

}  // namespace

void register_stream_commands(CLI::App& app, Context& ctx) {
  auto* stream = app.add_subcommand("stream", "Streams: partitioned, replayable record logs");
  stream->require_subcommand(1);
  add_create(*stream, ctx);
  add_topic(*stream, ctx);
  add_produce(*stream, ctx);
  register_consume_command(*stream, ctx);
}

}  // namespace tessera::cli
