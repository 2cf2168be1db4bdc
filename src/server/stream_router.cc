#include "server/stream_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "cluster/meta_keys.h"
#include "namespace/partition_ops.h"
#include "namespace/permissions.h"
#include "namespace/stream_ops.h"
#include "server/backend.h"
#include "server/read_view.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using internal::Command;
using internal::CommandResult;
using internal::PartitionRead;
using internal::PartitionReadReply;
using internal::Principal;

constexpr int kRead = static_cast<int>(ns::Access::read);
constexpr int kWrite = static_cast<int>(ns::Access::write);
constexpr uint32_t kFetchWaitMsMax = 30000;
// A partition shard no topic refers to is released only after this long:
// its topic may still be being created.
constexpr int64_t kOrphanAfterMs = 120000;
// Unused grant a partition keeps before the periodic run shrinks it.
constexpr uint64_t kUnusedGrantMax = 4ull << 20;

std::string partition_subject(const std::string& path, const std::string& topic, uint32_t part) {
  return path + ":" + topic + " partition " + std::to_string(part);
}

}  // namespace

StreamRouter::StreamRouter(Backend& backend) : b_(backend) {}

void StreamRouter::release_if_refused(const Status& st, const std::vector<uint64_t>& shards) {
  // Unavailable: the command's outcome is unknown, it may yet apply. Shards
  // no topic refers to are released by their leaders (report_usage).
  if (!st.is_ok() && st.code() != Errc::unavailable) b_.release_shards(shards);
}

Result<ns::StreamTopic> StreamRouter::open(const Principal& who, const std::string& path,
                                           const std::string& topic, int want, bool barrier) {
  // A topic, grant or chmod made through another node may not be here yet.
  return read_caught_up(b_, b_.route(path).shard, barrier, [&](const ns::VolumeView& view) {
    return ns::open_stream_topic(view, who, path, topic, want);
  });
}

Status StreamRouter::bring_up_partition(uint64_t shard, const internal::PartitionInfo& info) {
  ShardId id(shard);
  if (!b_.host().has_shard(id)) TESSERA_TRY(b_.host().add_shard(id, {b_.host().self()}));
  Command init;
  *init.mutable_init_partition()->mutable_partition() = info;
  auto r = b_.propose(id, init, b_.node_principal());
  TESSERA_TRY(status_done_if_exists(r));
  // Short of replicas is not fatal: the shard works, placement heals it.
  if (Status st = b_.grow_shard(id, info.volume_id()); !st.is_ok()) {
    spdlog::warn("partition shard {}: {}", shard, st.to_string());
  }
  return Status::ok();
}

Status StreamRouter::create_topic(const Principal& who, const std::string& path,
                                  const std::string& topic, uint32_t partitions) {
  const std::string subject = path + ":" + topic;
  TESSERA_TRY(ns::check_topic_name(topic, subject));
  if (partitions < 1 || partitions > ns::kPartitionsMax) {
    return Status(Errc::invalid_argument, subject + ": partitions must be 1.." +
                                              std::to_string(ns::kPartitionsMax) + ", not " +
                                              std::to_string(partitions));
  }
  Route route = b_.route(path);
  // The stream must exist, be writable by `who` and not have the topic yet
  // — checked before any shard is made for it.
  TESSERA_TRY(b_.read_barrier(route.shard));
  uint64_t stream_ino = 0;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, route.shard);
    ns::VolumeView view(sr);
    TESSERA_ASSIGN_OR_RETURN(auto s, view.resolve_kind(path, who, v1::KIND_STREAM, kWrite));
    stream_ino = s.inode.id();
    if (ns::open_stream_topic(view, who, path, topic, kWrite).is_ok()) {
      return error(Errc::already_exists, subject);
    }
  }
  TESSERA_ASSIGN_OR_RETURN(auto ids, make_partitions(route, stream_ino, subject, topic, 0, partitions));
  Command cmd;
  auto* c = cmd.mutable_create_topic();
  c->set_path(path);
  c->set_topic(topic);
  c->set_partitions(partitions);
  for (uint64_t id : ids) c->add_shards(id);
  Status st = b_.propose_ok(route.shard, cmd, who).status();
  release_if_refused(st, ids);
  return st;
}

Status StreamRouter::delete_topic(const Principal& who, const std::string& path,
                                  const std::string& topic) {
  Command cmd;
  auto* op = cmd.mutable_remove_topic();
  op->set_path(path);
  op->set_topic(topic);
  TESSERA_ASSIGN_OR_RETURN(auto r, b_.propose_ok(b_.route(path).shard, cmd, who));
  // The name shard no longer refers to them: their meta records go, then
  // the meta leader drops their replicas (records and consumer offsets).
  b_.release_shards({r.shards().begin(), r.shards().end()});
  std::lock_guard lk(mu_);
  for (uint64_t shard : r.shards()) reported_.erase(shard);
  return Status::ok();
}

Status StreamRouter::add_partitions(const Principal& who, const std::string& path,
                                    const std::string& topic, uint32_t total) {
  const std::string subject = path + ":" + topic;
  if (total > ns::kPartitionsMax) {
    return Status(Errc::invalid_argument, subject + ": at most " +
                                              std::to_string(ns::kPartitionsMax) +
                                              " partitions, not " + std::to_string(total));
  }
  Route route = b_.route(path);
  // Checked before any shard is made; the name shard checks again, and
  // refuses when the count changed in between.
  TESSERA_TRY(b_.read_barrier(route.shard));
  uint64_t stream_ino = 0;
  uint32_t current = 0;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, route.shard);
    ns::VolumeView view(sr);
    TESSERA_ASSIGN_OR_RETURN(auto s, view.resolve_kind(path, who, v1::KIND_STREAM, kWrite));
    stream_ino = s.inode.id();
    auto t = ns::open_stream_topic(view, who, path, topic, kWrite);
    if (!t.is_ok()) {
      if (t.status().code() == Errc::not_found) {
        return Status(Errc::not_found, subject + ": no such topic");
      }
      return t.status();
    }
    current = static_cast<uint32_t>(t->topic.partitions_size());
  }
  if (total <= current) {
    return Status(Errc::invalid_argument, subject + ": has " + std::to_string(current) +
                                              " partitions; the new count must be larger, not " +
                                              std::to_string(total));
  }
  TESSERA_ASSIGN_OR_RETURN(auto ids, make_partitions(route, stream_ino, subject, topic, current,
                                                     total - current));
  Command cmd;
  auto* op = cmd.mutable_add_partitions();
  op->set_path(path);
  op->set_topic(topic);
  op->set_current(current);
  for (uint64_t id : ids) op->add_shards(id);
  Status st = b_.propose_ok(route.shard, cmd, who).status();
  release_if_refused(st, ids);
  return st;
}

Status StreamRouter::set_retention(const Principal& who, const std::string& path,
                                   std::optional<int64_t> age_ms, std::optional<uint64_t> bytes) {
  Command cmd;
  auto* op = cmd.mutable_set_retention();
  op->set_path(path);
  if (age_ms) {
    op->set_set_age(true);
    op->set_retention_age_ms(*age_ms);
  }
  if (bytes) {
    op->set_set_bytes(true);
    op->set_retention_bytes(*bytes);
  }
  return b_.propose_ok(b_.route(path).shard, cmd, who).status();
}

Result<std::vector<uint64_t>> StreamRouter::make_partitions(const Route& route, uint64_t stream_ino,
                                                            const std::string& subject,
                                                            const std::string& topic, uint32_t first,
                                                            uint32_t count) {
  TESSERA_ASSIGN_OR_RETURN(auto vol, b_.volume_state(route.shard));
  Command alloc;
  auto* op = alloc.mutable_create_shards();
  op->set_volume_id(route.volume.id());
  op->set_count(count);
  op->set_replication(route.volume.replication() == 0 ? cluster::kDefaultReplication
                                                      : route.volume.replication());
  op->set_initial_node(b_.host().self().value);
  op->set_stream_ino(stream_ino);
  op->set_topic(topic);
  op->set_first_partition(first);
  TESSERA_ASSIGN_OR_RETURN(auto shards, b_.propose_ok(ShardId(cluster::kMetaShard), alloc, b_.node_principal()));
  std::vector<uint64_t> ids(shards.shards().begin(), shards.shards().end());
  if (ids.size() != count) {
    b_.release_shards(ids);
    return Status(Errc::internal, subject + ": asked for " + std::to_string(count) +
                                      " partition shards, got " + std::to_string(ids.size()));
  }

  Status st;
  for (uint32_t i = 0; i < count && st.is_ok(); ++i) {
    internal::PartitionInfo info;
    info.set_volume_id(route.volume.id());
    info.set_stream_ino(stream_ino);
    info.set_topic(topic);
    info.set_partition(first + i);
    info.set_subject(subject);
    info.set_grant(vol.quota_bytes() == 0 ? std::numeric_limits<uint64_t>::max() : 0);
    st = bring_up_partition(ids[i], info);
  }
  if (st.is_ok()) {
    Command ready;
    for (uint64_t id : ids) ready.mutable_mark_ready()->add_shards(id);
    st = b_.propose_ok(ShardId(cluster::kMetaShard), ready, b_.node_principal()).status();
  }
  if (!st.is_ok()) {
    b_.release_shards(ids);
    return st;
  }
  return ids;
}

Result<CommandResult> StreamRouter::produce_to(const Principal& who, const ns::StreamTopic& t,
                                               uint64_t name_shard, uint32_t part, Command cmd) {
  const ShardId shard(t.topic.partitions(static_cast<int>(part)).shard());
  uint64_t want = 0;
  for (const auto& r : cmd.produce().records()) want += ns::record_bytes(r);
  for (int attempt = 0;; ++attempt) {
    auto r = b_.propose(shard, cmd, who);
    if (static_cast<Errc>(r.errc()) != Errc::quota_exceeded || attempt == 3) {
      TESSERA_TRY(status_of(r));
      return r;
    }
    // The partition's grant is used up: the name shard decides whether
    // the volume quota allows more.
    Command ask;
    auto* g = ask.mutable_stream_grant();
    g->set_stream_ino(t.stream.inode.id());
    g->set_topic(t.topic.name());
    g->set_partition(part);
    g->set_held(r.partition().bytes());
    g->set_want(want);
    g->set_shard(shard.value);
    TESSERA_ASSIGN_OR_RETURN(auto granted, b_.propose_ok(ShardId(name_shard), ask, b_.node_principal()));
    Command grow;
    grow.mutable_partition_grant()->set_grant(granted.partition().grant());
    TESSERA_TRY(b_.propose_ok(shard, grow, b_.node_principal()).status());
  }
}

Result<ns::StreamTopic> StreamRouter::open_topic(const Principal& who, const std::string& path,
                                                 const std::string& topic, int want) {
  return open(who, path, topic, want, false);
}

Result<CommandResult> StreamRouter::produce_partition(const Principal& who, const ns::StreamTopic& t,
                                                      const std::string& path, uint32_t part,
                                                      std::vector<v1::Record> records,
                                                      const Idempotence* idem) {
  TESSERA_TRY(ns::check_partition_index(t, part));
  Command cmd;
  auto* op = cmd.mutable_produce();
  op->set_path(path);
  op->set_topic(t.topic.name());
  op->set_partition(static_cast<int32_t>(part));
  op->mutable_records()->Reserve(static_cast<int>(records.size()));
  for (auto& r : records) *op->add_records() = std::move(r);
  if (idem != nullptr) {
    op->set_idempotent(true);
    op->set_producer_id(idem->producer_id);
    op->set_producer_epoch(idem->epoch);
    op->set_base_sequence(idem->base_sequence);
  }
  return produce_to(who, t, b_.route(path).shard.value, part, std::move(cmd));
}

Result<v1::ProduceResponse> StreamRouter::produce(const Principal& who, const v1::ProduceRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto t, open(who, req.stream(), req.topic(), kWrite, false));
  if (req.records_size() == 0) return Status(Errc::invalid_argument, t.subject + ": produce without records");
  if (static_cast<size_t>(req.records_size()) > ns::kProduceRecordsMax) {
    return Status(Errc::too_large, t.subject + ": " + std::to_string(req.records_size()) +
                                       " records in one produce, at most " +
                                       std::to_string(ns::kProduceRecordsMax));
  }
  const auto parts = static_cast<uint32_t>(t.topic.partitions_size());
  if (req.partition() >= 0) TESSERA_TRY(ns::check_partition_index(t, static_cast<uint32_t>(req.partition())));
  // Records grouped by partition, in request order within each. Keyless
  // records of one request stick to one partition, the next in turn (as
  // Kafka's sticky partitioner does): one proposal, not one per partition.
  std::map<uint32_t, std::vector<int>> by_part;
  uint32_t sticky = round_robin_.fetch_add(1, std::memory_order_relaxed) % parts;
  for (int i = 0; i < req.records_size(); ++i) {
    uint32_t rr = sticky;
    uint32_t p = req.partition() >= 0 ? static_cast<uint32_t>(req.partition())
                                      : ns::choose_partition(req.records(i), parts, rr);
    by_part[p].push_back(i);
  }
  const uint64_t name_shard = b_.route(req.stream()).shard.value;
  v1::ProduceResponse resp;
  resp.mutable_partitions()->Resize(req.records_size(), 0);
  resp.mutable_offsets()->Resize(req.records_size(), 0);
  for (const auto& [p, idx] : by_part) {
    Command cmd;
    auto* op = cmd.mutable_produce();
    op->set_path(req.stream());
    op->set_topic(req.topic());
    op->set_partition(static_cast<int32_t>(p));
    for (int i : idx) *op->add_records() = req.records(i);
    TESSERA_ASSIGN_OR_RETURN(auto r, produce_to(who, t, name_shard, p, std::move(cmd)));
    if (r.produce().offsets_size() != static_cast<int>(idx.size())) {
      return Status(Errc::internal, partition_subject(req.stream(), req.topic(), p) +
                                        ": produce answered the wrong number of offsets");
    }
    for (size_t k = 0; k < idx.size(); ++k) {
      resp.set_partitions(idx[k], p);
      resp.set_offsets(idx[k], r.produce().offsets(static_cast<int>(k)));
    }
  }
  return resp;
}

Result<PartitionReadReply> StreamRouter::read_local(const PartitionRead& req,
                                                    const std::function<bool()>& cancelled) {
  const ShardId shard(req.shard());
  TESSERA_TRY(b_.read_barrier(shard));
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(std::min(req.max_wait_ms(), kFetchWaitMsMax));
  for (;;) {
    LogIndex seen = b_.host().applied_index(shard);
    PartitionReadReply reply;
    {
      auto snap = b_.snapshot();
      storage::SnapshotReader sr(*snap, shard);
      if (req.records()) {
        TESSERA_ASSIGN_OR_RETURN(*reply.mutable_fetch(), ns::partition_fetch(sr, req.offset(), req.max_bytes()));
      } else {
        TESSERA_ASSIGN_OR_RETURN(auto info, ns::partition_info(sr));
        reply.mutable_fetch()->set_start_offset(info.start_offset());
        reply.mutable_fetch()->set_end_offset(info.end_offset());
      }
      if (!req.group().empty()) {
        TESSERA_ASSIGN_OR_RETURN(auto committed, ns::partition_committed(sr, req.group()));
        reply.set_found(committed.has_value());
        reply.set_committed(committed.value_or(0));
      }
      if (req.by_time()) {
        TESSERA_ASSIGN_OR_RETURN(auto at, ns::partition_offset_for_time(sr, req.timestamp_ms()));
        reply.set_time_found(at.has_value());
        if (at) {
          reply.set_time_offset(at->offset);
          reply.set_time_timestamp_ms(at->timestamp_ms);
        }
      }
    }
    if (!req.records() || reply.fetch().records_size() > 0) return reply;
    if (cancelled && cancelled()) return reply;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return reply;
    b_.host().wait_applied(shard, seen, std::min<int64_t>(left, 200));
  }
}

Result<PartitionReadReply> StreamRouter::read(uint64_t shard, const PartitionRead& req,
                                              const std::function<bool()>& cancelled) {
  if (b_.host().has_shard(ShardId(shard))) return read_local(req, cancelled);
  Forwarder* f = b_.forwarder();
  auto loc = f != nullptr ? f->locate(ShardId(shard)) : std::nullopt;
  if (!loc) {
    return Status(Errc::unavailable, "partition shard " + std::to_string(shard) +
                                         ": no node holding it is known yet; retry");
  }
  auto reply = f->partition_read(loc->node, req);
  if (!reply.is_ok() && reply.status().code() == Errc::not_leader) {
    // The replica moved since the last heartbeat reply: a retry finds it.
    return Status(Errc::unavailable, "partition shard " + std::to_string(shard) + ": " +
                                         reply.status().message());
  }
  return reply;
}

Result<v1::FetchResponse> StreamRouter::fetch(const Principal& who, const v1::FetchRequest& req,
                                              const std::function<bool()>& cancelled) {
  TESSERA_ASSIGN_OR_RETURN(auto t, open(who, req.stream(), req.topic(), kRead, true));
  TESSERA_TRY(ns::check_partition_index(t, req.partition()));
  PartitionRead pr;
  pr.set_shard(t.topic.partitions(static_cast<int>(req.partition())).shard());
  pr.set_offset(req.offset());
  pr.set_max_bytes(req.max_bytes());
  pr.set_max_wait_ms(std::min(req.max_wait_ms(), kFetchWaitMsMax));
  pr.set_records(true);
  TESSERA_ASSIGN_OR_RETURN(auto reply, read(pr.shard(), pr, cancelled));
  return std::move(*reply.mutable_fetch());
}

Status StreamRouter::commit_offset(const Principal& who, const v1::CommitOffsetRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto t, open(who, req.stream(), req.topic(), kRead, false));
  TESSERA_TRY(ns::check_partition_index(t, req.partition()));
  Command cmd;
  auto* c = cmd.mutable_commit_offset();
  c->set_path(req.stream());
  c->set_topic(req.topic());
  c->set_group(req.group());
  c->set_partition(req.partition());
  c->set_offset(req.offset());
  return b_.propose_ok(ShardId(t.topic.partitions(static_cast<int>(req.partition())).shard()), cmd, who)
      .status();
}

Result<v1::GetOffsetResponse> StreamRouter::get_offset(const Principal& who, const v1::GetOffsetRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto t, open(who, req.stream(), req.topic(), kRead, true));
  TESSERA_TRY(ns::check_partition_index(t, req.partition()));
  TESSERA_TRY(ns::check_group(req.group(), t.subject));
  PartitionRead pr;
  pr.set_shard(t.topic.partitions(static_cast<int>(req.partition())).shard());
  pr.set_group(req.group());
  TESSERA_ASSIGN_OR_RETURN(auto reply, read(pr.shard(), pr, {}));
  v1::GetOffsetResponse resp;
  resp.set_found(reply.found());
  resp.set_offset(reply.committed());
  return resp;
}

Result<v1::ListTopicsResponse> StreamRouter::list_topics(const Principal& who, const std::string& path) {
  Route route = b_.route(path);
  TESSERA_TRY(b_.read_barrier(route.shard));
  std::vector<internal::TopicState> topics;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, route.shard);
    TESSERA_ASSIGN_OR_RETURN(topics, ns::stream_topics(ns::VolumeView(sr), who, path));
  }
  v1::ListTopicsResponse resp;
  for (const auto& topic : topics) {
    auto* info = resp.add_topics();
    info->set_name(topic.name());
    info->set_partitions(static_cast<uint32_t>(topic.partitions_size()));
    for (const auto& ps : topic.partitions()) {
      PartitionRead pr;
      pr.set_shard(ps.shard());
      TESSERA_ASSIGN_OR_RETURN(auto reply, read(ps.shard(), pr, {}));
      info->add_start_offsets(reply.fetch().start_offset());
      info->add_end_offsets(reply.fetch().end_offset());
    }
  }
  return resp;
}

void StreamRouter::report_usage(uint64_t shard) {
  internal::PartitionInfo info;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(shard));
    auto got = ns::partition_info(sr);
    if (!got.is_ok()) return;  // not a partition shard, or not initialised yet
    info = std::move(got).value();
  }
  auto vol = b_.volume_by_id(info.volume_id());
  // Shrink a grant that holds much more than the partition uses: partition
  // shard first, so the name shard's count never falls below the real one.
  uint64_t grant = 0;
  if (vol && info.grant() != std::numeric_limits<uint64_t>::max() &&
      info.grant() > info.bytes() + kUnusedGrantMax) {
    Command shrink;
    shrink.mutable_partition_grant()->set_grant(info.bytes() + kUnusedGrantMax / 2);
    shrink.mutable_partition_grant()->set_shrink(true);
    auto r = b_.propose(ShardId(shard), shrink, b_.node_principal());
    if (r.errc() == 0) {
      grant = r.partition().grant();
      info = r.partition();
    }
  }
  {
    std::lock_guard lk(mu_);
    auto it = reported_.find(shard);
    if (grant == 0 && it != reported_.end() && it->second.first == info.bytes()) return;
  }
  if (!vol) {
    // The volume is gone, and with it the stream — unless this node's meta
    // replica merely lags a volume created moments ago.
    if (now_ms() - info.created_ms() >= kOrphanAfterMs && b_.read_barrier(ShardId(cluster::kMetaShard)).is_ok() &&
        !b_.volume_by_id(info.volume_id())) {
      b_.release_shards({shard});
    }
    return;
  }
  Command cmd;
  auto* u = cmd.mutable_stream_usage();
  u->set_stream_ino(info.stream_ino());
  u->set_topic(info.topic());
  u->set_partition(info.partition());
  u->set_bytes(info.bytes());
  u->set_grant(grant);
  u->set_shard(shard);
  auto r = b_.propose(ShardId(vol->shard()), cmd, b_.node_principal());
  if (static_cast<Errc>(r.errc()) == Errc::not_found) {
    // No topic refers to this shard: removed, or its creation failed.
    if (now_ms() - info.created_ms() >= kOrphanAfterMs) b_.release_shards({shard});
    return;
  }
  if (r.errc() != 0) return;
  std::lock_guard lk(mu_);
  reported_[shard] = {info.bytes(), grant};
}

void StreamRouter::apply_retention(uint64_t name_shard) {
  std::vector<ns::RetainedStream> streams;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(name_shard));
    auto got = ns::streams_with_retention(ns::VolumeView(sr));
    if (!got.is_ok()) return;
    streams = std::move(got).value();
  }
  for (const auto& s : streams) {
    for (uint64_t shard : s.shards) {
      Command cmd;
      cmd.mutable_partition_retention()->set_retention_age_ms(s.retention_age_ms);
      cmd.mutable_partition_retention()->set_retention_bytes(s.retention_bytes);
      (void)b_.propose(ShardId(shard), cmd, b_.node_principal());
    }
  }
}

void StreamRouter::run_periodic(bool retention) {
  std::vector<uint64_t> led;
  for (const auto& st : b_.host().status_all()) {
    if (st.role == raft::Role::leader && st.id.value != cluster::kMetaShard) led.push_back(st.id.value);
  }
  {
    // Forget what was reported for shards this node no longer leads: the
    // next leader reports them itself.
    std::lock_guard lk(mu_);
    std::erase_if(reported_, [&](const auto& kv) {
      return std::find(led.begin(), led.end(), kv.first) == led.end();
    });
  }
  for (uint64_t shard : led) {
    if (b_.is_volume_shard(shard)) {
      if (retention) apply_retention(shard);
    } else {
      report_usage(shard);
    }
  }
}

}  // namespace tessera::server
