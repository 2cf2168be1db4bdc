// TableRouter, the periodic half: usage reports of the tablets this node
// leads, and splits (table_router.h).
//
// A split of tablet T at key K (the key halving T's bytes) to a new tablet N:
//   1. allocate N in the meta shard, bootstrap it here with [K, T's end),
//      grow it to the volume's replication;
//   2. TabletSplitOp on T: keys >= K are frozen (writes to them are refused
//      and retried by routers); T records K and N, so every later step can
//      be resumed by T's leader after a crash; N is marked ready;
//   3. copy: T's rows >= K are read here and proposed to N in ingests of at
//      most 1 MiB (idempotent: a resumed copy starts again);
//   4. the first TabletTrimOp on T ends its range at K: from then on T
//      refuses keys >= K, so no reader is served a frozen copy once N may
//      take writes;
//   5. TabletMapOp in the name shard: routers send keys >= K to N;
//   6. trims delete the moved rows from T in bounded rounds; the last one
//      clears the split.
// A crash between 1 and 2 leaves N unready: the meta leader removes it. If
// N's record is gone when a split resumes at 3, the split is aborted (keys
// unfrozen) and a later round starts a new one.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "namespace/row_ops.h"
#include "namespace/table_map.h"
#include "namespace/tablet_ops.h"
#include "server/backend.h"
#include "server/table_router.h"

namespace tessera::server {
namespace {

using internal::Command;
using internal::TabletInfo;

// A tablet shard no table refers to is released only after this long: its
// table may still be being created.
constexpr int64_t kOrphanAfterMs = 120000;
// Unused grant a tablet keeps before the periodic run shrinks it.
constexpr uint64_t kUnusedGrantMax = 4ull << 20;
// Bytes of rows in one ingest of a split's copy.
constexpr size_t kCopyBytes = 1u << 20;

bool ended(const TabletInfo& info) { return !info.split_key().empty() && info.end_key() == info.split_key(); }

}  // namespace

void TableRouter::report_usage(uint64_t shard, const TabletInfo& tablet) {
  TabletInfo info = tablet;
  auto vol = b_.volume_by_id(info.volume_id());
  // Shrink a grant much larger than the tablet's bytes: tablet first, so
  // the name shard's count never falls below the real one.
  uint64_t grant = 0;
  if (vol && info.grant() != std::numeric_limits<uint64_t>::max() &&
      info.grant() > info.bytes() + kUnusedGrantMax) {
    Command shrink;
    shrink.mutable_tablet_grant()->set_grant(info.bytes() + kUnusedGrantMax / 2);
    shrink.mutable_tablet_grant()->set_shrink(true);
    auto r = b_.propose(ShardId(shard), shrink, b_.node_principal());
    if (r.errc() == 0) {
      grant = r.tablet().grant();
      info = r.tablet();
    }
  }
  {
    std::lock_guard lk(mu_);
    auto it = reported_.find(shard);
    if (grant == 0 && it != reported_.end() && it->second == std::make_pair(info.bytes(), info.rows())) return;
  }
  if (!vol) {
    // The volume is gone, and with it the table — unless this node's meta
    // replica merely lags a volume created moments ago.
    if (now_ms() - info.created_ms() >= kOrphanAfterMs &&
        b_.read_barrier(ShardId(cluster::kMetaShard)).is_ok() && !b_.volume_by_id(info.volume_id())) {
      b_.release_shards({shard});
    }
    return;
  }
  Command cmd;
  auto* u = cmd.mutable_table_usage();
  u->set_table_ino(info.table_ino());
  u->set_start_key(info.start_key());
  u->set_shard(shard);
  u->set_bytes(info.bytes());
  u->set_rows(info.rows());
  u->set_grant(grant);
  auto r = b_.propose(ShardId(vol->shard()), cmd, b_.node_principal());
  const auto e = static_cast<Errc>(r.errc());
  if (e == Errc::not_found) {
    // The table is gone, or its creation failed after this tablet was made.
    if (now_ms() - info.created_ms() >= kOrphanAfterMs) b_.release_shards({shard});
    return;
  }
  if (e != Errc::ok) return;  // failed_precondition: a split's tablet the map does not name yet
  std::lock_guard lk(mu_);
  reported_[shard] = {info.bytes(), info.rows()};
}

void TableRouter::run_periodic() {
  std::vector<uint64_t> led;
  for (const auto& st : b_.host().status_all()) {
    if (st.role == raft::Role::leader && st.id.value != cluster::kMetaShard &&
        !b_.is_volume_shard(st.id.value)) {
      led.push_back(st.id.value);
    }
  }
  {
    std::lock_guard lk(mu_);
    std::erase_if(reported_, [&](const auto& kv) {
      return std::find(led.begin(), led.end(), kv.first) == led.end();
    });
  }
  for (uint64_t shard : led) {
    TabletInfo info;
    {
      auto snap = b_.snapshot();
      storage::SnapshotReader sr(*snap, ShardId(shard));
      auto got = ns::tablet_info(sr);
      if (!got.is_ok()) continue;  // not a tablet shard, or not initialised yet
      info = std::move(got).value();
    }
    report_usage(shard, info);
    if (!info.split_key().empty() || info.bytes() >= split_bytes_.load()) {
      std::lock_guard lk(mu_);
      if (split_queued_.insert(shard).second) split_queue_.push_back(shard);
      cv_.notify_all();
    }
  }
}

void TableRouter::splitter_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !split_queue_.empty(); });
    if (stopping_) return;
    const uint64_t shard = split_queue_.front();
    split_queue_.pop_front();
    lk.unlock();
    if (Status st = split(shard); !st.is_ok()) {
      spdlog::warn("tablet shard {}: split: {}", shard, st.to_string());
    }
    lk.lock();
    split_queued_.erase(shard);
  }
}

Status TableRouter::split(uint64_t shard) {
  TESSERA_TRY(b_.read_barrier(ShardId(shard)));
  TabletInfo info;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(shard));
    TESSERA_ASSIGN_OR_RETURN(info, ns::tablet_info(sr));
  }
  if (info.split_key().empty()) {
    if (info.bytes() < split_bytes_.load()) return Status::ok();
    Status st = start_split(shard, info);
    // Fewer than two rows (one huge row): nothing to split, not an error.
    if (st.code() == Errc::failed_precondition) return Status::ok();
    TESSERA_TRY(st);
  }
  if (!ended(info)) TESSERA_TRY(copy_split(shard, info));
  return finish_split(shard, info);
}

Status TableRouter::start_split(uint64_t shard, TabletInfo& info) {
  std::string key;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(shard));
    TESSERA_ASSIGN_OR_RETURN(key, ns::tablet_split_key(sr));
  }
  auto vol = b_.volume_by_id(info.volume_id());
  if (!vol) return Status(Errc::not_found, ns::tablet_subject(info) + ": its volume is gone");
  Command alloc;
  auto* op = alloc.mutable_create_shards();
  op->set_volume_id(info.volume_id());
  op->set_count(1);
  op->set_replication(vol->replication() == 0 ? cluster::kDefaultReplication : vol->replication());
  op->set_initial_node(b_.host().self().value);
  op->set_table_ino(info.table_ino());
  TESSERA_ASSIGN_OR_RETURN(auto shards, b_.propose_ok(ShardId(cluster::kMetaShard), alloc, b_.node_principal()));
  const uint64_t next = shards.shards(0);

  TabletInfo half;
  half.set_volume_id(info.volume_id());
  half.set_table_ino(info.table_ino());
  half.set_subject(info.subject());
  half.set_start_key(key);
  half.set_end_key(info.end_key());
  half.set_grant(info.grant() == std::numeric_limits<uint64_t>::max() ? info.grant() : 0);
  Status st = bring_up(next, half);
  if (st.is_ok()) {
    Command cmd;
    cmd.mutable_tablet_split()->set_split_key(key);
    cmd.mutable_tablet_split()->set_split_shard(next);
    auto r = b_.propose_ok(ShardId(shard), cmd, b_.node_principal());
    if (r.is_ok()) {
      info = r->tablet();
      spdlog::info("{}: splitting at {} to tablet shard {}", ns::tablet_subject(info), ns::shown_key(key), next);
      return Status::ok();
    }
    st = r.status();
  }
  b_.release_shards({next});
  return st;
}

Status TableRouter::copy_split(uint64_t shard, TabletInfo& info) {
  const uint64_t next = info.split_shard();
  bool known = false;
  {
    TESSERA_TRY(b_.read_barrier(ShardId(cluster::kMetaShard)));
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(cluster::kMetaShard));
    TESSERA_ASSIGN_OR_RETURN(auto records, cluster::MetaReader(sr).shards());
    known = std::any_of(records.begin(), records.end(), [&](const auto& r) { return r.id() == next; });
  }
  if (!known) {
    // The new tablet was removed (its creator crashed before marking it
    // ready): unfreeze the keys; a later round splits again.
    Command cmd;
    cmd.mutable_tablet_split()->set_split_key(info.split_key());
    cmd.mutable_tablet_split()->set_split_shard(next);
    cmd.mutable_tablet_split()->set_abort(true);
    TESSERA_TRY(b_.propose_ok(ShardId(shard), cmd, b_.node_principal()).status());
    return Status(Errc::unavailable, ns::tablet_subject(info) + ": split aborted, tablet shard " +
                                         std::to_string(next) + " is gone");
  }
  Command ready;
  ready.mutable_mark_ready()->add_shards(next);
  TESSERA_TRY(b_.propose_ok(ShardId(cluster::kMetaShard), ready, b_.node_principal()).status());

  std::string from = info.split_key();
  for (;;) {
    TESSERA_TRY(b_.read_barrier(ShardId(shard)));
    Command ingest;
    {
      auto snap = b_.snapshot();
      storage::SnapshotReader sr(*snap, ShardId(shard));
      TESSERA_ASSIGN_OR_RETURN(auto rows, ns::tablet_rows_from(sr, from, kCopyBytes));
      for (auto& row : rows) *ingest.mutable_tablet_ingest()->add_rows() = std::move(row);
    }
    const auto& rows = ingest.tablet_ingest().rows();
    if (rows.empty()) break;
    from = rows[rows.size() - 1].key() + '\0';
    TESSERA_TRY(b_.propose_ok(ShardId(next), std::move(ingest), b_.node_principal()).status());
  }
  Command trim;
  trim.mutable_tablet_trim()->set_split_key(info.split_key());
  TESSERA_ASSIGN_OR_RETURN(auto r, b_.propose_ok(ShardId(shard), trim, b_.node_principal()));
  info = r.tablet();
  return Status::ok();
}

Status TableRouter::finish_split(uint64_t shard, TabletInfo& info) {
  if (info.split_key().empty()) return Status::ok();
  const std::string split_key = info.split_key();
  if (auto vol = b_.volume_by_id(info.volume_id())) {
    Command map;
    map.mutable_tablet_map()->set_table_ino(info.table_ino());
    map.mutable_tablet_map()->set_start_key(split_key);
    map.mutable_tablet_map()->set_shard(info.split_shard());
    auto r = b_.propose(ShardId(vol->shard()), map, b_.node_principal());
    // not_found: the table was removed meanwhile; its tablets are released.
    if (r.errc() != 0 && static_cast<Errc>(r.errc()) != Errc::not_found) return status_of(r);
  }
  spdlog::info("{}: split at {} done; trimming", ns::tablet_subject(info), ns::shown_key(split_key));
  while (!info.split_key().empty()) {
    Command trim;
    trim.mutable_tablet_trim()->set_split_key(split_key);
    TESSERA_ASSIGN_OR_RETURN(auto r, b_.propose_ok(ShardId(shard), trim, b_.node_principal()));
    info = r.tablet();
  }
  return Status::ok();
}

}  // namespace tessera::server
