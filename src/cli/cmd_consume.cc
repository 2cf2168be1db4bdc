// `tessera stream consume`: prints the records of one topic.
//
// Reads every partition of the topic (or only --partition) round-robin
// with Fetch. A fetch long-polls for kFetchWaitMs split over the partitions
// when the previous round returned nothing, and does not wait while records
// are flowing.
//
// Start offsets: with --group, the group's committed offset (GetOffset);
// else, or when the group has none, the partition's start offset with
// --from-beginning and its end offset without (new records only, like
// kafka-console-consumer). With --group, the offset after the last printed
// record of a partition is committed (CommitOffset, Kafka semantics: the
// next offset to read) after each printed batch.
//
// Stops after --max records, or once no record arrived for --idle-ms;
// without either it runs until interrupted. Output: one record value per
// line; with --json one object per line (output.h record_json).

#include <CLI/CLI.hpp>
#include <chrono>

#include "cli/args.h"
#include "cli/context.h"
#include "cli/output.h"
#include "client/units.h"

namespace tessera::cli {
namespace {

constexpr uint32_t kFetchWaitMs = 500;
constexpr uint32_t kFetchWaitMinMs = 50;

struct ConsumeOptions {
  std::string topic_ref;
  std::string group;
  bool from_beginning = false;
  uint64_t max = 0;  // 0 = no limit
  int64_t partition = -1;
  int64_t idle_ms = 0;  // 0 = never stop for idleness
};

struct PartitionCursor {
  uint32_t partition;
  uint64_t offset;
};

Result<v1::TopicInfo> find_topic(client::Connection& conn, const client::TopicRef& ref,
                                 const std::string& name) {
  v1::ListTopicsRequest r;
  r.set_stream(ref.stream);
  TESSERA_ASSIGN_OR_RETURN(v1::ListTopicsResponse resp, conn.list_topics(r));
  for (const auto& t : resp.topics()) {
    if (t.name() == ref.topic) return t;
  }
  return error(Errc::not_found, name);
}

uint64_t offset_at(const google::protobuf::RepeatedField<uint64_t>& offsets, uint32_t p) {
  return static_cast<int>(p) < offsets.size() ? offsets.Get(static_cast<int>(p)) : 0;
}

Result<std::vector<PartitionCursor>> start_cursors(client::Connection& conn,
                                                   const client::TopicRef& ref,
                                                   const ConsumeOptions& o) {
  TESSERA_ASSIGN_OR_RETURN(v1::TopicInfo topic, find_topic(conn, ref, o.topic_ref));
  std::vector<uint32_t> partitions;
  if (o.partition >= 0) {
    if (o.partition >= static_cast<int64_t>(topic.partitions())) {
      return Status(Errc::invalid_argument, o.topic_ref + ": no partition " +
                                                std::to_string(o.partition) + " (topic has " +
                                                std::to_string(topic.partitions()) + ")");
    }
    partitions.push_back(static_cast<uint32_t>(o.partition));
  } else {
    for (uint32_t p = 0; p < topic.partitions(); ++p) partitions.push_back(p);
  }
  std::vector<PartitionCursor> cursors;
  for (uint32_t p : partitions) {
    uint64_t offset =
        o.from_beginning ? offset_at(topic.start_offsets(), p) : offset_at(topic.end_offsets(), p);
    if (!o.group.empty()) {
      v1::GetOffsetRequest g;
      g.set_stream(ref.stream);
      g.set_topic(ref.topic);
      g.set_group(o.group);
      g.set_partition(p);
      TESSERA_ASSIGN_OR_RETURN(v1::GetOffsetResponse got, conn.get_offset(g));
      if (got.found()) offset = got.offset();
    }
    cursors.push_back({p, offset});
  }
  return cursors;
}

void print_record(Context& ctx, const v1::Record& rec, uint32_t partition) {
  if (ctx.json) {
    print_json(ctx, record_json(rec, partition), /*one_line=*/true);
  } else {
    *ctx.out << rec.value() << '\n';
  }
}

Status run_consume(Context& ctx, const ConsumeOptions& o) {
  TESSERA_ASSIGN_OR_RETURN(client::TopicRef ref, client::parse_topic_ref(o.topic_ref));
  TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
  TESSERA_ASSIGN_OR_RETURN(std::vector<PartitionCursor> cursors, start_cursors(*conn, ref, o));
  if (cursors.empty()) return Status::ok();

  using Clock = std::chrono::steady_clock;
  const uint32_t idle_wait_ms =
      std::max(kFetchWaitMinMs, kFetchWaitMs / static_cast<uint32_t>(cursors.size()));
  auto last_record = Clock::now();
  bool flowing = false;
  uint64_t printed = 0;
  while (true) {
    bool round_had_records = false;
    for (auto& c : cursors) {
      uint32_t wait_ms = flowing ? 0 : idle_wait_ms;
      if (o.idle_ms > 0) {
        auto idle =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_record);
        int64_t left = o.idle_ms - idle.count();
        wait_ms = static_cast<uint32_t>(std::clamp<int64_t>(left, 0, wait_ms));
      }
      v1::FetchRequest f;
      f.set_stream(ref.stream);
      f.set_topic(ref.topic);
      f.set_partition(c.partition);
      f.set_offset(c.offset);
      f.set_max_wait_ms(wait_ms);
      TESSERA_ASSIGN_OR_RETURN(v1::FetchResponse resp, conn->fetch(f));
      // Records below the retained start are gone; continue from the start.
      if (resp.records_size() == 0 && resp.start_offset() > c.offset)
        c.offset = resp.start_offset();
      uint64_t before = printed;
      for (const auto& rec : resp.records()) {
        if (rec.offset() < c.offset) continue;
        print_record(ctx, rec, c.partition);
        c.offset = rec.offset() + 1;
        ++printed;
        if (o.max != 0 && printed == o.max) break;
      }
      if (printed == before) continue;
      round_had_records = true;
      ctx.out->flush();
      if (!o.group.empty()) {
        v1::CommitOffsetRequest commit;
        commit.set_stream(ref.stream);
        commit.set_topic(ref.topic);
        commit.set_group(o.group);
        commit.set_partition(c.partition);
        commit.set_offset(c.offset);
        TESSERA_TRY(conn->commit_offset(commit).status());
      }
      if (o.max != 0 && printed == o.max) return Status::ok();
    }
    flowing = round_had_records;
    if (round_had_records) {
      last_record = Clock::now();
    } else if (o.idle_ms > 0 &&
               Clock::now() - last_record >= std::chrono::milliseconds(o.idle_ms)) {
      return Status::ok();
    }
  }
}

}  // namespace

void register_consume_command(CLI::App& stream, Context& ctx) {
  auto o = std::make_shared<ConsumeOptions>();
  auto* cmd = stream.add_subcommand(
      "consume",
      "Print records of a topic, one value per line (--json: one object per line with key, "
      "value, partition, offset, timestamp, headers). Without --group and --from-beginning "
      "only new records are shown. Runs until --max records or --idle-ms of silence, else "
      "until interrupted");
  cmd->add_option("PATH:TOPIC", o->topic_ref, "Stream path and topic name")
      ->required()
      ->check(topic_arg());
  cmd->add_option("--group", o->group,
                  "Consumer group: resume from its committed offsets and commit after printing")
      ->type_name("G");
  cmd->add_flag("--from-beginning", o->from_beginning,
                "Start at the oldest retained record (with --group: when it has no offset)");
  cmd->add_option("--max", o->max, "Stop after N records (default: no limit)")->type_name("N");
  cmd->add_option("--partition", o->partition, "Read only partition P (default: all)")
      ->type_name("P")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--idle-ms,--wait-ms", o->idle_ms,
                  "Stop when no record arrived for MS milliseconds (default 0: never)")
      ->type_name("MS")
      ->check(CLI::NonNegativeNumber);
  on_run(cmd, ctx, [&ctx, o] { return run_consume(ctx, *o); });
}

}  // namespace tessera::cli
