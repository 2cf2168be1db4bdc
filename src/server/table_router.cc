#include "server/table_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "namespace/ns_ops.h"
#include "namespace/permissions.h"
#include "namespace/row_ops.h"
#include "namespace/table_map.h"
#include "namespace/table_ops.h"
#include "namespace/tablet_ops.h"
#include "server/backend.h"
#include "server/read_view.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using internal::Command;
using internal::CommandResult;
using internal::TabletInfo;
using internal::TabletRead;
using internal::TabletReadReply;
using internal::Principal;

constexpr int kRead = static_cast<int>(ns::Access::read);
constexpr int kWrite = static_cast<int>(ns::Access::write);
// How long a request keeps retrying a tablet that split under it, or whose
// keys are being copied to a new tablet.
constexpr int64_t kMovedRetryMs = 30000;

// A refusal that proves the write was not applied because the tablet's
// range moved: the key left the tablet (out_of_range) or is being copied
// out of it (unavailable). The map is read again and the write retried.
bool moved(Errc e) { return e == Errc::out_of_range || e == Errc::unavailable; }

class Backoff {
 public:
  Backoff() : deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(kMovedRetryMs)) {}
  // Sleeps before the next attempt; false when the deadline passed.
  bool next() {
    if (std::chrono::steady_clock::now() >= deadline_) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    delay_ms_ = std::min<int64_t>(delay_ms_ * 2, 200);
    return true;
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  int64_t delay_ms_ = 5;
};

uint64_t batch_bytes(const std::string& key, const std::vector<v1::RowOp>& ops) {
  uint64_t n = key.size();
  for (const auto& op : ops) {
    if (op.has_put()) n += op.put().document().size();
    if (op.has_update()) n += op.update().set().size();
  }
  return n;
}

}  // namespace

TableRouter::TableRouter(Backend& backend)
    : b_(backend), splitter_([this] { splitter_loop(); }) {}

TableRouter::~TableRouter() { stop(); }

void TableRouter::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (splitter_.joinable()) splitter_.join();
}

Result<ns::TableTablets> TableRouter::open(const Principal& who, const std::string& path, int want,
                                           bool barrier) {
  // A create, chmod or split made through another node may not be here yet.
  return read_caught_up(b_, b_.route(path).shard, barrier, [&](const ns::VolumeView& view) {
    return ns::open_table(view, who, path, want);
  });
}

Status TableRouter::bring_up(uint64_t shard, const TabletInfo& info) {
  ShardId id(shard);
  if (!b_.host().has_shard(id)) TESSERA_TRY(b_.host().add_shard(id, {b_.host().self()}));
  Command init;
  *init.mutable_init_tablet()->mutable_tablet() = info;
  TESSERA_TRY(status_done_if_exists(b_.propose(id, init, b_.node_principal())));
  // Short of replicas is not fatal: the shard works, placement heals it.
  if (Status st = b_.grow_shard(id, info.volume_id()); !st.is_ok()) {
    spdlog::warn("tablet shard {}: {}", shard, st.to_string());
  }
  return Status::ok();
}

Result<v1::Stat> TableRouter::create_table(const Principal& who, const std::string& path, uint32_t mode) {
  Route route = b_.route(path);
  // Refusals that need no shard come first: the parent must let `who`
  // create here, and the name must be free.
  TESSERA_TRY(b_.read_barrier(route.shard));
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, route.shard);
    ns::VolumeView view(sr);
    if (ns::stat_path(view, who, path).is_ok()) return error(Errc::already_exists, path);
  }
  TESSERA_ASSIGN_OR_RETURN(auto vol, b_.volume_state(route.shard));
  Command reserve;
  reserve.mutable_reserve_inode();
  TESSERA_ASSIGN_OR_RETURN(auto reserved, b_.propose_ok(route.shard, reserve, b_.node_principal()));
  const uint64_t ino = reserved.inode().id();

  Command alloc;
  auto* op = alloc.mutable_create_shards();
  op->set_volume_id(route.volume.id());
  op->set_count(1);
  op->set_replication(route.volume.replication() == 0 ? cluster::kDefaultReplication
                                                      : route.volume.replication());
  op->set_initial_node(b_.host().self().value);
  op->set_table_ino(ino);
  TESSERA_ASSIGN_OR_RETURN(auto shards, b_.propose_ok(ShardId(cluster::kMetaShard), alloc, b_.node_principal()));
  const uint64_t shard = shards.shards(0);

  TabletInfo info;
  info.set_volume_id(route.volume.id());
  info.set_table_ino(ino);
  info.set_subject(path);
  info.set_grant(vol.quota_bytes() == 0 ? std::numeric_limits<uint64_t>::max() : 0);
  Status st = bring_up(shard, info);
  if (st.is_ok()) {
    Command ready;
    ready.mutable_mark_ready()->add_shards(shard);
    st = b_.propose_ok(ShardId(cluster::kMetaShard), ready, b_.node_principal()).status();
  }
  if (st.is_ok()) {
    internal::CreateObjectOp extra;
    extra.set_tablet_shard(shard);
    extra.set_ino(ino);
    auto stat = b_.create_object(who, path, v1::KIND_TABLE, mode, extra);
    if (stat.is_ok()) return stat;
    st = stat.status();
  }
  b_.release_shards({shard});
  return st;
}

Status TableRouter::grow_grant(const ns::TableTablets& t, size_t index, const TabletInfo& refused,
                               uint64_t want) {
  const auto& ref = t.tablets[index];
  Command ask;
  auto* g = ask.mutable_table_grant();
  g->set_table_ino(t.table.inode.id());
  g->set_start_key(ref.start_key());
  g->set_shard(ref.shard());
  g->set_held(refused.bytes());
  g->set_want(want);
  TESSERA_ASSIGN_OR_RETURN(auto granted, b_.propose_ok(b_.route(t.table.path).shard, ask, b_.node_principal()));
  Command grow;
  grow.mutable_tablet_grant()->set_grant(granted.tablet().grant());
  return b_.propose_ok(ShardId(ref.shard()), grow, b_.node_principal()).status();
}

Result<CommandResult> TableRouter::write(const Principal& who, const std::string& path,
                                         const std::string& key, const std::vector<v1::RowOp>& ops) {
  Command cmd;
  auto* batch = cmd.mutable_row_batch();
  batch->set_path(path);
  batch->set_key(key);
  for (const auto& op : ops) *batch->add_ops() = op;
  TESSERA_TRY(ns::check_row_key(path, key));
  Backoff backoff;
  int grants = 0;
  for (bool barrier = false;; barrier = true) {
    TESSERA_ASSIGN_OR_RETURN(auto t, open(who, path, kWrite, barrier));
    if (t.tablets.empty()) {  // a table from before tablets: rows in the name shard
      return b_.propose_ok(b_.route(path).shard, cmd, who);
    }
    const size_t i = ns::tablet_index(t.tablets, key);
    auto r = b_.propose(ShardId(t.tablets[i].shard()), cmd, who);
    const auto e = static_cast<Errc>(r.errc());
    if (e == Errc::quota_exceeded && r.has_tablet() && grants++ < 3) {
      TESSERA_TRY(grow_grant(t, i, r.tablet(), batch_bytes(key, ops)));
      continue;
    }
    if (moved(e) && r.has_tablet() && backoff.next()) continue;
    TESSERA_TRY(status_of(r));
    return r;
  }
}

Result<TabletReadReply> TableRouter::read_local(const TabletRead& req) {
  const ShardId shard(req.shard());
  TESSERA_TRY(b_.read_barrier(shard));
  auto snap = b_.snapshot();
  storage::SnapshotReader sr(*snap, shard);
  TESSERA_ASSIGN_OR_RETURN(auto info, ns::tablet_info(sr));
  TabletReadReply reply;
  reply.set_start_key(info.start_key());
  reply.set_end_key(info.end_key());
  if (req.scan()) {
    TESSERA_ASSIGN_OR_RETURN(*reply.mutable_scan(), ns::tablet_scan(sr, req.scan_request()));
  } else {
    TESSERA_ASSIGN_OR_RETURN(auto row, ns::tablet_get(sr, req.key()));
    reply.set_found(row.has_value());
    if (row) *reply.mutable_row() = std::move(*row);
  }
  return reply;
}

Result<TabletReadReply> TableRouter::read(const TabletRead& req) {
  if (b_.host().has_shard(ShardId(req.shard()))) return read_local(req);
  Forwarder* f = b_.forwarder();
  auto loc = f != nullptr ? f->locate(ShardId(req.shard())) : std::nullopt;
  if (!loc) {
    return Status(Errc::unavailable, "tablet shard " + std::to_string(req.shard()) +
                                         ": no node holding it is known yet; retry");
  }
  auto reply = f->tablet_read(loc->node, req);
  if (!reply.is_ok() && reply.status().code() == Errc::not_leader) {
    // The replica moved since the last heartbeat reply: a retry finds it.
    return Status(Errc::unavailable, "tablet shard " + std::to_string(req.shard()) + ": " +
                                         reply.status().message());
  }
  return reply;
}

Result<v1::GetRowResponse> TableRouter::get(const Principal& who, const v1::GetRowRequest& req) {
  TESSERA_TRY(ns::check_row_key(req.path(), req.key()));
  Backoff backoff;
  for (;;) {
    TESSERA_ASSIGN_OR_RETURN(auto t, open(who, req.path(), kRead, true));
    if (t.tablets.empty()) {
      auto snap = b_.snapshot();
      storage::SnapshotReader sr(*snap, b_.route(req.path()).shard);
      return ns::get_row(ns::VolumeView(sr), who, req);
    }
    TabletRead tr;
    tr.set_shard(t.tablets[ns::tablet_index(t.tablets, req.key())].shard());
    tr.set_key(req.key());
    auto reply = read(tr);
    if (!reply.is_ok()) {
      // out_of_range: the tablet split after the map was read.
      if (moved(reply.status().code()) && backoff.next()) continue;
      return reply.status();
    }
    const std::string subject = ns::row_subject(req.path(), req.key());
    if (!reply->found()) return error(Errc::not_found, subject);
    v1::GetRowResponse resp;
    resp.mutable_row()->set_key(req.key());
    resp.mutable_row()->set_version(reply->row().version());
    resp.mutable_row()->set_document(std::move(*reply->mutable_row()->mutable_document()));
    return resp;
  }
}

Result<v1::ScanResponse> TableRouter::scan(const Principal& who, const v1::ScanRequest& req) {
  const uint32_t limit = req.limit() == 0 ? ns::kScanLimitDefault : std::min(req.limit(), ns::kScanLimitMax);
  v1::ScanResponse resp;
  size_t bytes = 0;
  v1::ScanRequest sub = req;  // the rest of the scan: from after the last row returned
  Backoff backoff;
  for (bool stale = false;;) {
    TESSERA_ASSIGN_OR_RETURN(auto t, open(who, req.path(), kRead, true));
    if (t.tablets.empty()) {
      auto snap = b_.snapshot();
      storage::SnapshotReader sr(*snap, b_.route(req.path()).shard);
      return ns::scan_rows(ns::VolumeView(sr), who, req);
    }
    // The first tablet that may hold a key of the scan.
    std::string lower = std::max(sub.start(), sub.prefix());
    size_t i = ns::tablet_index(t.tablets, lower);
    stale = false;
    for (; i < t.tablets.size(); ++i) {
      sub.set_limit(limit - static_cast<uint32_t>(resp.rows_size()));
      TabletRead tr;
      tr.set_shard(t.tablets[i].shard());
      tr.set_scan(true);
      *tr.mutable_scan_request() = sub;
      auto reply = read(tr);
      if (!reply.is_ok()) {
        if (moved(reply.status().code())) { stale = true; break; }
        return reply.status();
      }
      const bool last = i + 1 == t.tablets.size();
      const std::string next_start = last ? std::string() : t.tablets[i + 1].start_key();
      for (auto& row : *reply->mutable_scan()->mutable_rows()) {
        bytes += row.key().size() + row.document().size();
        sub.set_page_token(ns::encode_page_token(row.key()));
        *resp.add_rows() = std::move(row);
      }
      if (!reply->scan().next_page_token().empty()) {
        resp.set_next_page_token(reply->scan().next_page_token());
        return resp;
      }
      // The tablet no longer ends where the map says: it split meanwhile.
      if (reply->end_key() != next_start) { stale = true; break; }
      if (last) return resp;
      const bool past_end = !req.end().empty() && next_start >= req.end();
      const bool past_prefix = !req.prefix().empty() && !next_start.starts_with(req.prefix()) &&
                               next_start > req.prefix();
      if (past_end || past_prefix) return resp;
      if (static_cast<uint32_t>(resp.rows_size()) >= limit || bytes >= ns::kScanBytesMax) {
        if (resp.rows_size() > 0) resp.set_next_page_token(ns::encode_page_token(resp.rows(resp.rows_size() - 1).key()));
        return resp;
      }
    }
    if (!stale) return resp;
    if (!backoff.next()) return Status(Errc::unavailable, req.path() + ": tablets kept moving during the scan; retry");
  }
}

}  // namespace tessera::server
