// ShardHost: snapshots (send, receive, install), log compaction and the
// removal of replicas that left their group.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "shard/shard_host_internal.h"

namespace tessera::shard {

Status ShardHost::remove_replica(ShardId id) {
  {
    std::lock_guard lk(mu_);
    if (shards_.count(id) == 0) return Status::ok();
    to_remove_.push_back(id);
  }
  loop_cv_.notify_one();
  return Status::ok();
}

void ShardHost::collect_removed(std::vector<Shard*>& shards) {
  std::vector<ShardId> asked;
  {
    std::lock_guard lk(mu_);
    asked.swap(to_remove_);
  }
  for (Shard*& s : shards) {
    if (!s) continue;
    const raft::Raft& r = *s->raft;
    if (r.conf().voters.end() != std::find(r.conf().voters.begin(), r.conf().voters.end(), opts_.self) ||
        r.conf().learners.end() != std::find(r.conf().learners.begin(), r.conf().learners.end(), opts_.self)) {
      s->was_member = true;
    }
    if (std::find(asked.begin(), asked.end(), s->id) != asked.end()) s->remove_requested = true;
    bool wanted = s->remove_requested;
    if (!wanted && !(s->was_member && r.removed())) continue;
    // Idle only: nothing staged, streaming or waiting for the applier; the
    // next round (at the latest the next tick) tries again.
    if (s->staged || !s->sending.empty() || s->compacting) continue;
    std::vector<Callback> failed;
    {
      std::lock_guard lk(mu_);
      bool queued = false;
      auto uses = [&](const ApplyBatch& b) {
        if (b.shard == s) return true;
        for (const auto& it : b.items) {
          if (it.shard == s) return true;
        }
        return false;
      };
      for (const auto& b : to_apply_) queued = queued || uses(*b);
      if (applying_ != nullptr) queued = queued || uses(*applying_);
      if (queued) continue;
      for (auto& [index, p] : s->pending) failed.push_back(std::move(p.done));
      s->pending.clear();
      auto node = shards_.extract(s->id);
      retired_.push_back(std::move(node.mapped()));
    }
    spdlog::info("{}: removing this node's replica ({})", shard_name(s->id),
                 wanted ? "asked to" : "removed from the group");
    storage::WriteBatch wb;
    std::string prefix = storage::shard_prefix(s->id);
    wb.del_range(storage::Cf::log, prefix, prefix_successor(prefix));
    wb.del_range(storage::Cf::state, prefix, prefix_successor(prefix));
    wb.del(storage::Cf::state, replica_key(s->id));
    Status st = engine_.write(wb, opts_.sync);
    if (!st.is_ok()) spdlog::warn("{}: deleting the removed replica: {}", shard_name(s->id), st.to_string());
    for (auto& cb : failed) cb(error_result(not_leader(s->id, raft::kNoNode)));
    s = nullptr;
  }
  shards.erase(std::remove(shards.begin(), shards.end(), nullptr), shards.end());
}


Status ShardHost::on_snapshot(const std::string& header_bytes, ChunkSource& chunks) {
  TESSERA_ASSIGN_OR_RETURN(SnapshotHeader header, decode_snapshot_header(header_bytes));
  const std::string what = shard_name(header.shard) + ": snapshot " + std::to_string(header.meta.index.value) +
                           " from node " + std::to_string(header.from.value);
  std::string path;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return Status(Errc::unavailable, "node is shutting down");
    auto it = shards_.find(header.shard);
    if (it != shards_.end() && it->second->status.commit >= header.meta.index) {
      return Status::ok();  // already past it; raft tells the leader
    }
    ++snapshot_receivers_;
    path = engine_.dir() + "/snapshots/shard-" + std::to_string(header.shard.value) + "-" +
           std::to_string(header.meta.index.value) + "-" + std::to_string(next_staging_++) + ".sst";
  }
  auto leave = [&] {
    std::lock_guard lk(mu_);
    --snapshot_receivers_;
    receivers_cv_.notify_all();
  };
  auto fail = [&](Status st) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    spdlog::warn("{}: not installed: {}", what, st.to_string());
    leave();
    return st;
  };

  // 1. Stage the stream in an SST file, checking every key is the shard's.
  std::error_code ec;
  std::filesystem::create_directories(engine_.dir() + "/snapshots", ec);
  if (ec) return fail(Status(Errc::io_error, engine_.dir() + "/snapshots: " + ec.message()));
  auto writer = engine_.sst_writer(storage::Cf::state, path);
  if (!writer.is_ok()) return fail(writer.status());
  const std::string lo = data_start(header.shard), hi = data_end(header.shard);
  std::string chunk;
  for (;;) {
    auto more = chunks.next(chunk);
    if (!more.is_ok()) return fail(more.status());
    if (!*more) break;
    std::string_view in(chunk);
    while (!in.empty()) {
      if (in.size() < 4 || in.size() - 4 < get_be32(in)) return fail(Status(Errc::corruption, what + ": truncated record"));
      std::string_view key = in.substr(4, get_be32(in));
      in.remove_prefix(4 + key.size());
      if (in.size() < 4 || in.size() - 4 < get_be32(in)) return fail(Status(Errc::corruption, what + ": truncated record"));
      std::string_view value = in.substr(4, get_be32(in));
      in.remove_prefix(4 + value.size());
      if (key < lo || key >= hi) return fail(Status(Errc::corruption, what + ": a key outside the shard"));
      Status st = (*writer)->put(key, value);
      if (!st.is_ok()) return fail(st);
    }
  }
  if (Status st = (*writer)->finish(); !st.is_ok()) return fail(st);
  if ((*writer)->entries() == 0) path.clear();

  // 2. Hand it to the raft loop, which installs it in log order.
  struct Wait {
    std::mutex m;
    std::condition_variable cv;
    std::optional<Status> result;
  };
  auto wait = std::make_shared<Wait>();
  {
    std::lock_guard lk(mu_);
    if (stopping_) return fail(Status(Errc::unavailable, "node is shutting down"));
    auto in = std::make_unique<Install>();
    in->header = header;
    in->path = path;
    in->done = [wait](Status st) {
      std::lock_guard lk(wait->m);
      if (!wait->result) wait->result = std::move(st);
      wait->cv.notify_all();
    };
    installs_.push_back(std::move(in));
  }
  loop_cv_.notify_one();
  std::unique_lock lk(wait->m);
  bool answered = wait->cv.wait_for(lk, std::chrono::milliseconds(opts_.snapshot_install_timeout_ms),
                                    [&] { return wait->result.has_value(); });
  Status result = answered ? *wait->result : Status(Errc::unavailable, what + ": install timed out");
  lk.unlock();
  leave();
  return result;
}

ShardHost::Shard* ShardHost::create_on_demand_locked(ShardId id) {
  Status st = open_shard_locked(id, {});
  if (!st.is_ok()) {
    spdlog::warn("{}: cannot create replica: {}", shard_name(id), st.to_string());
    return nullptr;
  }
  return shards_.at(id).get();
}

void ShardHost::start_snapshot(Shard& s, NodeId to) {
  // A peer that just failed one (down, or refusing) is not sent another at
  // every heartbeat.
  if (auto it = s.snapshot_retry.find(to); it != s.snapshot_retry.end() && Clock::now() < it->second) {
    s.raft->report_snapshot(to, false);
    return;
  }
  // The applied state, not raft's compacted meta: a consistent RocksDB
  // snapshot and the applied index recorded in it.
  std::shared_ptr<storage::Snapshot> snap = engine_.snapshot();
  auto applied = snap->get(state_key(s.id, kAppliedKey));
  LogIndex index = applied.is_ok() && applied->has_value() ? LogIndex(get_be64(**applied)) : LogIndex();
  auto meta = index.value > 0 ? s.raft->snapshot_meta_at(index) : std::nullopt;
  if (!meta) {
    s.raft->report_snapshot(to, false);  // nothing applied yet: retried later
    return;
  }
  s.sending.insert(to);
  spdlog::info("{}: sending snapshot {} to node {}", shard_name(s.id), index.value, to.value);
  std::string header = encode_snapshot_header({s.id, s.raft->term(), opts_.self, *meta});
  ShardId id = s.id;
  opts_.transport->send_snapshot(
      to, std::move(header), std::make_unique<StateChunks>(std::move(snap), s.id, opts_.snapshot_chunk_bytes,
                                               snapshot_limiter_),
      [this, id, to](Status st) {
        if (!st.is_ok()) spdlog::warn("{}: snapshot to node {} failed: {}", shard_name(id), to.value, st.to_string());
        {
          std::lock_guard lk(mu_);
          snapshot_reports_.emplace_back(id, to, st.is_ok());
          if (st.is_ok()) ++stats_.snapshots_sent;
        }
        loop_cv_.notify_one();
      });
}

Status ShardHost::install_data(ShardId id, const std::string& path, LogIndex index) {
  std::error_code ec;
  // The file disappears once ingested: if it is gone, the ingest happened
  // and clearing again would delete its keys.
  if (path.empty() || std::filesystem::exists(path, ec)) {
    storage::WriteBatch clear;
    clear.del_range(storage::Cf::state, data_start(id), data_end(id));
    TESSERA_TRY(engine_.write(clear, true));
    if (!path.empty()) TESSERA_TRY(engine_.ingest(storage::Cf::state, path));
  }
  storage::WriteBatch done;
  std::string v;
  put_be64(v, index.value);
  done.put(storage::Cf::state, state_key(id, kAppliedKey), std::move(v));
  done.del(storage::Cf::state, state_key(id, kInstallingKey));
  return engine_.write(done, true);
}


void ShardHost::install(ApplyBatch& b) {
  Shard* s = b.shard;
  const raft::SnapshotMeta& meta = b.install->header.meta;
  Status st = install_data(s->id, b.install->path, meta.index);
  // Raft already moved past the snapshot: a replica that cannot install it
  // must not go on (a restart finishes the install from the marker).
  TESSERA_ASSERT_MSG(st.is_ok(), st.to_string().c_str());
  spdlog::info("{}: installed snapshot {} from node {}", shard_name(s->id), meta.index.value,
               b.install->header.from.value);
  std::vector<Callback> unknown;
  {
    std::lock_guard lk(mu_);
    s->applied = meta.index;
    s->compacted = meta.index;
    ++stats_.snapshots_installed;
    while (!s->pending.empty() && s->pending.begin()->first <= meta.index) {
      unknown.push_back(std::move(s->pending.begin()->second.done));
      s->pending.erase(s->pending.begin());
    }
  }
  applied_cv_.notify_all();
  for (auto& cb : unknown) {
    cb(error_result(Status(Errc::unavailable, shard_name(s->id) +
                                                  ": replaced by a leader's snapshot before it was applied "
                                                  "here; the outcome is unknown")));
  }
  b.install->done(Status::ok());
}

void ShardHost::maybe_compact(Shard& s) {
  if (s.compacting || s.staged) return;
  LogIndex applied;
  {
    std::lock_guard lk(mu_);
    applied = s.applied;
  }
  applied = std::min(applied, s.raft->applied_index());
  LogIndex first = s.raft->log().snapshot_index();
  bool by_bytes = s.log_bytes >= opts_.compact_bytes && applied > first;
  if (applied.value < first.value + opts_.compact_entries && !by_bytes) return;
  // Keep what a healthy follower still needs, unless it is so far behind
  // that a snapshot is cheaper.
  LogIndex index = applied;
  bool log_too_big = s.log_bytes >= 4 * opts_.compact_bytes;
  for (const auto& [peer, p] : s.raft->progress()) {
    if (log_too_big) break;
    if (peer == opts_.self || !p.recently_active || p.snapshot_pending) continue;
    if (p.match < index && applied.value - p.match.value < 4 * opts_.compact_entries) index = p.match;
  }
  if (index <= first || (!by_bytes && index.value < first.value + opts_.compact_entries / 2)) return;
  auto meta = s.raft->snapshot_meta_at(index);
  if (!meta) return;
  // Approximate: what stays in the log is counted again from here.
  s.log_bytes = index == s.raft->log().last_index() ? 0 : s.log_bytes / 2;
  auto b = std::make_unique<ApplyBatch>();
  b->shard = &s;
  b->compaction = *meta;
  s.compacting = true;
  {
    std::lock_guard lk(mu_);
    to_apply_.push_back(std::move(b));
  }
  apply_cv_.notify_one();
}

void ShardHost::compact(ApplyBatch& b) {
  Shard* s = b.shard;
  const raft::SnapshotMeta& meta = *b.compaction;
  LogIndex from;
  {
    std::lock_guard lk(mu_);
    from = s->compacted;
  }
  if (meta.index > from) {
    // Unlogged, like the applies: see apply().
    auto txn = engine_.begin();
    for (uint64_t i = from.value + 1; i <= meta.index.value; ++i) {
      txn->del_raw(storage::Cf::log, log_key(s->id, LogIndex(i)));
    }
    txn->put_raw(storage::Cf::state, state_key(s->id, kSnapshotKey), raft::encode_snapshot_meta(meta));
    Status st = engine_.commit(*txn, false, /*wal=*/false);
    TESSERA_ASSERT_MSG(st.is_ok(), st.to_string().c_str());
  }
  {
    std::lock_guard lk(mu_);
    if (meta.index > s->compacted) {
      s->compacted = meta.index;
      ++stats_.compactions;
    }
    compacted_.emplace_back(s->id, meta.index);
  }
  loop_cv_.notify_one();
}


}  // namespace tessera::shard
