#include "shard/shard_host.h"

#include <spdlog/spdlog.h>

#include "shard/shard_host_internal.h"

namespace tessera::shard {

ShardHost::ShardHost(storage::Engine& engine, ShardHostOptions opts, MachineFactory factory)
    : engine_(engine), opts_(std::move(opts)), factory_(std::move(factory)) {
  applier_ = std::thread([this] { run_applier(); });
  loop_ = std::thread([this] { run_loop(); });
}

ShardHost::~ShardHost() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  space_cv_.notify_all();
  loop_.join();
  applier_.join();
  {
    // Snapshot receivers were answered by the loop; wait until they return.
    std::unique_lock lk(mu_);
    for (auto& in : installs_) in->done(Status(Errc::unavailable, "node is shutting down"));
    installs_.clear();
    receivers_cv_.wait(lk, [&] { return snapshot_receivers_ == 0; });
  }
  // Whatever is still waiting will not be applied by this process.
  std::vector<Callback> failed;
  {
    std::lock_guard lk(mu_);
    for (auto& p : proposals_) failed.push_back(std::move(p.done));
    proposals_.clear();
    for (auto& [id, s] : shards_) {
      for (auto& [index, p] : s->pending) failed.push_back(std::move(p.done));
      s->pending.clear();
    }
  }
  for (auto& f : failed) f(error_result(Status(Errc::unavailable, "node is shutting down")));
}

Status ShardHost::add_shard(ShardId id, std::vector<NodeId> bootstrap) {
  std::lock_guard lk(mu_);
  if (shards_.count(id) != 0) return Status::ok();
  return open_shard_locked(id, std::move(bootstrap));
}

Status ShardHost::open_shard_locked(ShardId id, std::vector<NodeId> bootstrap) {
  auto shard = std::make_unique<Shard>();
  shard->id = id;
  shard->sm = factory_(id);
  if (!shard->sm) return Status(Errc::internal, shard_name(id) + ": no state machine for it");

  raft::RestoredState restored;
  auto read = [&](std::string_view key) { return engine_.get(storage::Cf::state, state_key(id, key)); };
  TESSERA_ASSIGN_OR_RETURN(auto installing, read(kInstallingKey));
  if (installing) {
    // A crash interrupted a snapshot install: finish it.
    TESSERA_ASSIGN_OR_RETURN(auto snap_bytes, read(kSnapshotKey));
    if (!snap_bytes) return Status(Errc::corruption, shard_name(id) + ": snapshot install without a snapshot");
    TESSERA_ASSIGN_OR_RETURN(auto meta, raft::decode_snapshot_meta(*snap_bytes));
    spdlog::info("{}: finishing the install of snapshot {} interrupted by a restart", shard_name(id),
                 meta.index.value);
    TESSERA_TRY(install_data(id, *installing, meta.index));
  }
  TESSERA_ASSIGN_OR_RETURN(auto applied, read(kAppliedKey));
  if (applied) restored.applied = LogIndex(get_be64(*applied));
  TESSERA_ASSIGN_OR_RETURN(auto hs, read(kHardStateKey));
  if (hs) {
    TESSERA_ASSIGN_OR_RETURN(restored.hard_state, raft::decode_hard_state(*hs));
  }
  TESSERA_ASSIGN_OR_RETURN(auto snap, read(kSnapshotKey));
  if (snap) {
    TESSERA_ASSIGN_OR_RETURN(restored.snapshot, raft::decode_snapshot_meta(*snap));
  }
  LogIndex durable_commit = std::max(restored.hard_state.commit,
                                     restored.snapshot ? restored.snapshot->index : LogIndex());
  if (restored.applied > durable_commit) {
    if (hs || snap) {
      return Status(Errc::corruption, shard_name(id) + ": applied index " + std::to_string(restored.applied.value) +
                                          " is past the recorded commit index " +
                                          std::to_string(durable_commit.value));
    }
    // State without any raft record: left over from a replica of this shard
    // that was deleted. Start empty; the leader's snapshot fills it.
    spdlog::warn("{}: discarding state left over from a deleted replica (applied index {})", shard_name(id),
                 restored.applied.value);
    storage::WriteBatch wb;
    wb.del_range(storage::Cf::state, data_start(id), data_end(id));
    wb.del(storage::Cf::state, state_key(id, kAppliedKey));
    TESSERA_TRY(engine_.write(wb, true));
    restored.applied = LogIndex();
  }
  TESSERA_ASSIGN_OR_RETURN(auto conf, read(kConfKey));
  if (conf) {
    TESSERA_ASSIGN_OR_RETURN(auto meta, raft::decode_snapshot_meta(*conf));
    restored.conf = meta.conf;
  } else if (!hs && !snap) {
    // A new replica. The first members of a new group are fixed here,
    // durably, once; a replica joining a group learns them from its leader.
    std::sort(bootstrap.begin(), bootstrap.end());
    restored.conf.voters = bootstrap;
    storage::WriteBatch wb;
    wb.put(storage::Cf::state, state_key(id, kConfKey),
           raft::encode_snapshot_meta(raft::SnapshotMeta{.conf = restored.conf}));
    wb.put(storage::Cf::state, replica_key(id), "");
    TESSERA_TRY(engine_.write(wb, opts_.sync));
  }

  LogIndex first(restored.snapshot ? restored.snapshot->index.value + 1 : 1);
  Status decode_status;
  TESSERA_TRY(engine_.scan(storage::Cf::log, log_key(id, first),
                           prefix_successor(storage::shard_prefix(id)),
                           [&](std::string_view k, std::string_view v) {
                             LogIndex index(get_be64(k.substr(8)));
                             auto e = raft::decode_entry(v, index);
                             if (!e.is_ok()) {
                               decode_status = e.status();
                               return false;
                             }
                             if (index != LogIndex(first.value + restored.entries.size())) {
                               decode_status = Status(Errc::corruption,
                                                      shard_name(id) + ": log gap before entry " +
                                                          std::to_string(index.value));
                               return false;
                             }
                             restored.entries.push_back(std::move(*e));
                             return true;
                           }));
  TESSERA_TRY(decode_status);
  shard->persisted_last = LogIndex(first.value - 1 + restored.entries.size());
  shard->applied = restored.applied;
  shard->compacted = LogIndex(first.value - 1);

  shard->raft = std::make_unique<raft::Raft>(opts_.self, opts_.raft, random_seed(opts_.self, id),
                                             std::move(restored));
  // The only voter need not wait an election timeout to lead.
  const auto& voters = shard->raft->conf().voters;
  if (voters.size() == 1 && voters.front() == opts_.self) {
    for (uint32_t i = 0; i < 2 * opts_.raft.election_ticks && shard->raft->role() != raft::Role::leader; ++i) {
      shard->raft->tick();
    }
  }
  refresh_status(*shard);
  shards_.emplace(id, std::move(shard));
  loop_cv_.notify_one();
  return Status::ok();
}

Status ShardHost::open_existing() {
  std::vector<ShardId> ids;
  std::string prefix = storage::shard_prefix(ShardId(0)) + std::string(kReplicaPrefix);
  TESSERA_TRY(engine_.scan(storage::Cf::state, prefix, prefix_successor(prefix),
                           [&](std::string_view k, std::string_view) {
                             ids.emplace_back(get_be64(k.substr(prefix.size())));
                             return true;
                           }));
  for (ShardId id : ids) TESSERA_TRY(add_shard(id, {}));
  return Status::ok();
}

bool ShardHost::has_shard(ShardId id) const {
  std::lock_guard lk(mu_);
  return shards_.count(id) != 0;
}

void ShardHost::propose(ShardId shard, const internal::Command& cmd, Callback done) {
  Proposal p{shard, cmd.SerializeAsString(), std::move(done)};
  if (p.bytes.size() > opts_.command_bytes_max) {
    p.done(error_result(Status(Errc::too_large, "request of " + std::to_string(p.bytes.size()) +
                                                    " bytes: too large (limit " +
                                                    std::to_string(opts_.command_bytes_max) + ")")));
    return;
  }
  std::unique_lock lk(mu_);
  auto it = shards_.find(shard);
  if (it == shards_.end()) {
    lk.unlock();
    p.done(error_result(Status(Errc::not_leader, shard_name(shard) + ": not hosted on this node")));
    return;
  }
  if (it->second->status.role != raft::Role::leader) {
    Status st = not_leader(shard, it->second->status.leader);
    lk.unlock();
    p.done(error_result(st));
    return;
  }
  space_cv_.wait(lk, [&] { return stopping_ || proposal_bytes_ < opts_.queue_bytes_max; });
  if (stopping_) {
    lk.unlock();
    p.done(error_result(Status(Errc::unavailable, "node is shutting down")));
    return;
  }
  proposal_bytes_ += p.bytes.size();
  proposals_.push_back(std::move(p));
  lk.unlock();
  loop_cv_.notify_one();
}

namespace {
// A result slot shared by a waiting caller and a callback that may outlive
// the wait.
template <typename T>
struct Slot {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  T value{};

  void set(T v) {
    std::lock_guard lk(m);
    value = std::move(v);
    ready = true;
    cv.notify_all();
  }
  bool wait(int64_t timeout_ms) {
    std::unique_lock lk(m);
    return cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return ready; });
  }
};
}  // namespace

internal::CommandResult ShardHost::propose_wait(ShardId shard, const internal::Command& cmd) {
  auto slot = std::make_shared<Slot<internal::CommandResult>>();
  propose(shard, cmd, [slot](internal::CommandResult&& r) { slot->set(std::move(r)); });
  if (!slot->wait(opts_.command_timeout_ms)) {
    return error_result(Status(Errc::unavailable,
                               shard_name(shard) + ": no answer within " +
                                   std::to_string(opts_.command_timeout_ms) +
                                   " ms; the outcome is unknown (the write may still apply)"));
  }
  std::lock_guard lk(slot->m);
  return std::move(slot->value);
}

void ShardHost::enqueue(Request r) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      requests_.push_back(std::move(r));
      r.done = nullptr;
    }
  }
  if (r.done) {
    r.done(Status(Errc::unavailable, "node is shutting down"), LogIndex());
    return;
  }
  loop_cv_.notify_one();
}

Status ShardHost::change_replicas(ShardId shard, raft::ConfChange change, int64_t timeout_ms) {
  auto slot = std::make_shared<Slot<std::pair<Status, LogIndex>>>();
  enqueue(Request{.kind = Request::Kind::conf_change, .shard = shard, .change = change,
                  .done = [slot](Status st, LogIndex i) { slot->set({std::move(st), i}); }});
  auto start = Clock::now();
  if (!slot->wait(timeout_ms)) return Status(Errc::unavailable, shard_name(shard) + ": membership change timed out");
  auto [st, index] = slot->value;
  TESSERA_TRY(st);
  int64_t left = timeout_ms - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  if (wait_applied(shard, LogIndex(index.value - 1), std::max<int64_t>(left, 0)) < index) {
    return Status(Errc::unavailable, shard_name(shard) + ": membership change not committed in time");
  }
  return Status::ok();
}

Status ShardHost::transfer_leader(ShardId shard, NodeId to) {
  auto slot = std::make_shared<Slot<Status>>();
  enqueue(Request{.kind = Request::Kind::transfer, .shard = shard, .node = to,
                  .done = [slot](Status st, LogIndex) { slot->set(std::move(st)); }});
  if (!slot->wait(opts_.command_timeout_ms)) return Status(Errc::unavailable, "leader transfer timed out");
  std::lock_guard lk(slot->m);
  return slot->value;
}

Result<LogIndex> ShardHost::read_index(ShardId shard, int64_t timeout_ms) {
  auto slot = std::make_shared<Slot<std::pair<Status, LogIndex>>>();
  enqueue(Request{.kind = Request::Kind::read_index, .shard = shard,
                  .done = [slot](Status st, LogIndex i) { slot->set({std::move(st), i}); }});
  if (!slot->wait(timeout_ms)) {
    return Status(Errc::unavailable, shard_name(shard) + ": leadership not confirmed within " +
                                         std::to_string(timeout_ms) + " ms");
  }
  std::lock_guard lk(slot->m);
  TESSERA_TRY(slot->value.first);
  return slot->value.second;
}

Status ShardHost::read_barrier(ShardId shard, int64_t timeout_ms) {
  auto start = Clock::now();
  TESSERA_ASSIGN_OR_RETURN(LogIndex index, read_index(shard, timeout_ms));
  int64_t left = timeout_ms - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  if (index.value > 0 && wait_applied(shard, LogIndex(index.value - 1), std::max<int64_t>(left, 0)) < index) {
    return Status(Errc::unavailable, shard_name(shard) + ": not caught up within " +
                                         std::to_string(timeout_ms) + " ms");
  }
  return Status::ok();
}

LogIndex ShardHost::applied_index(ShardId shard) const {
  std::lock_guard lk(mu_);
  auto it = shards_.find(shard);
  return it == shards_.end() ? LogIndex() : it->second->applied;
}

LogIndex ShardHost::wait_applied(ShardId shard, LogIndex seen, int64_t timeout_ms) const {
  std::unique_lock lk(mu_);
  auto it = shards_.find(shard);
  if (it == shards_.end()) return LogIndex();
  const Shard* s = it->second.get();
  applied_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                       [&] { return stopping_ || s->applied > seen; });
  return s->applied;
}

void ShardHost::wait_any_applied(const std::vector<std::pair<ShardId, LogIndex>>& seen,
                                 int64_t timeout_ms) const {
  std::unique_lock lk(mu_);
  applied_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] {
    if (stopping_) return true;
    for (const auto& [shard, index] : seen) {
      auto it = shards_.find(shard);
      if (it == shards_.end() || it->second->applied > index) return true;
    }
    return false;
  });
}

NodeId ShardHost::leader(ShardId shard) const {
  std::lock_guard lk(mu_);
  auto it = shards_.find(shard);
  return it == shards_.end() ? raft::kNoNode : it->second->status.leader;
}

std::optional<ShardStatus> ShardHost::status(ShardId shard) const {
  std::lock_guard lk(mu_);
  auto it = shards_.find(shard);
  if (it == shards_.end()) return std::nullopt;
  ShardStatus st = it->second->status;
  st.applied = it->second->applied;
  return st;
}

std::vector<ShardStatus> ShardHost::status_all() const {
  std::lock_guard lk(mu_);
  std::vector<ShardStatus> out;
  for (const auto& [id, s] : shards_) {
    out.push_back(s->status);
    out.back().applied = s->applied;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

ShardHost::Stats ShardHost::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void ShardHost::on_raft(std::string batch) {
  auto decoded = decode_envelope(batch);
  if (!decoded.is_ok()) {
    spdlog::warn("dropping raft batch: {}", decoded.status().to_string());
    return;
  }
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    for (auto& m : *decoded) messages_.push_back(std::move(m));
  }
  loop_cv_.notify_one();
}

void ShardHost::refresh_status(Shard& s) {
  const raft::Raft& r = *s.raft;
  s.status.id = s.id;
  s.status.role = r.role();
  s.status.leader = r.leader();
  s.status.term = r.term();
  s.status.commit = r.commit_index();
  s.status.conf = r.conf();
  s.status.progress = r.progress();
}

void ShardHost::run_loop() {
  const auto tick = std::chrono::milliseconds(opts_.tick_ms);
  auto next_tick = Clock::now() + tick;
  std::deque<Proposal> proposals;
  std::deque<Request> requests;
  std::deque<std::pair<ShardId, std::vector<raft::Message>>> messages;
  std::vector<Shard*> shards;
  std::unordered_map<uint64_t, std::function<void(Status, LogIndex)>> reads;  // by context
  std::vector<std::pair<Shard*, raft::Ready>> readies;
  std::deque<std::unique_ptr<Install>> installs;
  std::deque<std::tuple<ShardId, NodeId, bool>> reports;
  std::deque<std::pair<ShardId, LogIndex>> compactions;

  for (;;) {
    {
      std::unique_lock lk(mu_);
      loop_cv_.wait_until(lk, next_tick, [&] {
        return stopping_ || !requests_.empty() || !messages_.empty() || !installs_.empty() ||
               !to_remove_.empty() ||
               !snapshot_reports_.empty() || !compacted_.empty() ||
               (!proposals_.empty() && to_apply_.size() < kApplyBatchesMax);
      });
      if (stopping_) break;
      if (to_apply_.size() < kApplyBatchesMax) {
        proposals.swap(proposals_);
        proposal_bytes_ = 0;
      }
      requests.swap(requests_);
      messages.swap(messages_);
      installs.swap(installs_);
      reports.swap(snapshot_reports_);
      compactions.swap(compacted_);
      shards.clear();
      for (auto& [id, s] : shards_) shards.push_back(s.get());
      // A leader contacting this node about a shard it lacks makes it a new
      // (empty) member; the leader's log or snapshot brings it up to date.
      for (auto& [id, msgs] : messages) {
        if (shards_.count(id) != 0 || msgs.empty()) continue;
        auto type = msgs.front().type;
        if (type != raft::MessageType::append && type != raft::MessageType::snapshot) continue;
        if (Shard* s = create_on_demand_locked(id)) shards.push_back(s);
      }
      for (auto& in : installs) {
        if (shards_.count(in->header.shard) != 0) continue;
        if (Shard* s = create_on_demand_locked(in->header.shard)) shards.push_back(s);
      }
    }
    space_cv_.notify_all();

    auto find = [&](ShardId id) -> Shard* {
      for (Shard* s : shards) {
        if (s->id == id) return s;
      }
      return nullptr;
    };
    for (auto& [id, msgs] : messages) {
      Shard* s = find(id);
      if (!s) continue;
      for (auto& m : msgs) {
        if (m.to != opts_.self) continue;
        s->raft->step(m);
      }
    }
    messages.clear();

    for (auto& [id, to, ok] : reports) {
      if (Shard* s = find(id)) {
        s->sending.erase(to);
        if (ok) {
          s->snapshot_retry.erase(to);
        } else {
          s->snapshot_retry[to] = Clock::now() + std::chrono::seconds(1);
        }
        s->raft->report_snapshot(to, ok);
      }
    }
    reports.clear();
    for (auto& [id, index] : compactions) {
      if (Shard* s = find(id)) {
        s->raft->compact(std::min(index, s->raft->applied_index()));
        s->compacting = false;
      }
    }
    compactions.clear();
    for (auto& in : installs) {
      Shard* s = find(in->header.shard);
      if (!s) {
        in->done(Status(Errc::unavailable, shard_name(in->header.shard) + ": cannot create the replica"));
        continue;
      }
      if (s->staged) {
        std::error_code ec;
        if (!s->staged->path.empty()) std::filesystem::remove(s->staged->path, ec);
        s->staged->done(Status(Errc::unavailable, "superseded by a newer snapshot"));
      }
      const auto& h = in->header;
      s->staged = std::move(in);
      // raft decides: it accepts the snapshot (Ready.snapshot) or finds it
      // stale (see the end of this iteration).
      s->raft->step(raft::Message{.type = raft::MessageType::snapshot, .from = h.from, .to = opts_.self,
                                  .term = h.term, .snapshot = h.meta});
    }
    installs.clear();

    for (auto& r : requests) {
      Shard* s = find(r.shard);
      if (!s) {
        r.done(Status(Errc::not_leader, shard_name(r.shard) + ": not hosted on this node"), LogIndex());
        continue;
      }
      switch (r.kind) {
        case Request::Kind::read_index: {
          uint64_t ctx = next_context_++;
          reads.emplace(ctx, std::move(r.done));
          s->raft->read_index(ctx);
          break;
        }
        case Request::Kind::conf_change: {
          auto index = s->raft->propose_conf_change(r.change);
          if (!index.is_ok()) {
            Status st = index.status();
            if (s->raft->role() != raft::Role::leader) st = not_leader(s->id, s->raft->leader());
            r.done(st, LogIndex());
          } else {
            r.done(Status::ok(), *index);
          }
          break;
        }
        case Request::Kind::transfer:
          if (s->raft->role() != raft::Role::leader) {
            r.done(not_leader(s->id, s->raft->leader()), LogIndex());
          } else {
            s->raft->transfer_leadership(r.node);
            r.done(Status::ok(), LogIndex());
          }
          break;
      }
    }
    requests.clear();

    for (auto& p : proposals) {
      Shard* s = find(p.shard);
      if (!s) {
        p.done(error_result(Status(Errc::not_leader, shard_name(p.shard) + ": not hosted on this node")));
        continue;
      }
      auto index = s->raft->propose(std::move(p.bytes));
      if (!index.is_ok()) {
        p.done(error_result(not_leader(s->id, s->raft->leader())));
        continue;
      }
      std::lock_guard lk(mu_);
      s->pending.emplace(*index, Pending{s->raft->term(), std::move(p.done), Clock::now()});
    }
    proposals.clear();

    auto now = Clock::now();
    if (now >= next_tick) {
      for (Shard* s : shards) {
        s->raft->tick();
        maybe_compact(*s);
      }
      fail_expired(shards);
      next_tick += tick;
      if (next_tick < now) next_tick = now + tick;
    }

    for (Shard* s : shards) {
      if (s->raft->has_ready()) readies.emplace_back(s, s->raft->take_ready());
    }
    if (!readies.empty()) {
      for (auto& [s, rd] : readies) {
        for (auto& rs : rd.read_states) {
          auto it = reads.find(rs.context);
          if (it == reads.end()) continue;
          if (rs.index.value == 0) {
            it->second(not_leader(s->id, s->raft->leader()), LogIndex());
          } else {
            it->second(Status::ok(), rs.index);
          }
          reads.erase(it);
        }
      }
      handle_ready(readies);
      std::lock_guard lk(mu_);
      for (auto& [s, rd] : readies) {
        s->raft->advance();
        refresh_status(*s);
      }
    } else if (now >= next_tick - tick) {
      std::lock_guard lk(mu_);
      for (Shard* s : shards) refresh_status(*s);
    }
    readies.clear();
    collect_removed(shards);
    // A staged snapshot raft did not take (stale, or from an old term).
    for (Shard* s : shards) {
      if (!s->staged) continue;
      std::error_code ec;
      if (!s->staged->path.empty()) std::filesystem::remove(s->staged->path, ec);
      s->staged->done(Status::ok());
      s->staged.reset();
    }
  }

  for (auto& [ctx, done] : reads) done(Status(Errc::unavailable, "node is shutting down"), LogIndex());
  for (auto& in : installs) in->done(Status(Errc::unavailable, "node is shutting down"));
  for (auto& r : requests) r.done(Status(Errc::unavailable, "node is shutting down"), LogIndex());
  std::lock_guard lk(mu_);
  for (auto& r : requests_) r.done(Status(Errc::unavailable, "node is shutting down"), LogIndex());
  requests_.clear();
  for (auto& p : proposals) proposals_.push_back(std::move(p));
  loop_done_ = true;
  apply_cv_.notify_all();
}

void ShardHost::fail_replaced(Shard& s, const std::vector<raft::Entry>& entries,
                              std::vector<Callback>& failed) {
  // This replica's log lost entries it proposed as leader: a new leader's
  // replace them from entries.front() on. Their proposers would otherwise
  // wait for an apply at their index that may never come (nothing more is
  // written). Another node may still hold such an entry and commit it, so
  // the outcome is unknown, not "not applied".
  const LogIndex first = entries.front().index;
  std::lock_guard lk(mu_);
  for (auto it = s.pending.lower_bound(first); it != s.pending.end();) {
    const uint64_t offset = it->first.value - first.value;
    if (offset < entries.size() && entries[offset].term == it->second.term) {
      ++it;
      continue;
    }
    failed.push_back(std::move(it->second.done));
    it = s.pending.erase(it);
  }
}

void ShardHost::fail_expired(std::vector<Shard*>& shards) {
  // A safety net under fail_replaced and the apply-time check: no proposer
  // waits much longer than the command timeout.
  const auto cutoff = Clock::now() - std::chrono::milliseconds(opts_.command_timeout_ms);
  std::vector<std::pair<ShardId, Callback>> expired;
  {
    std::lock_guard lk(mu_);
    for (Shard* s : shards) {
      for (auto it = s->pending.begin(); it != s->pending.end();) {
        if (it->second.since > cutoff) {
          ++it;
          continue;
        }
        expired.emplace_back(s->id, std::move(it->second.done));
        it = s->pending.erase(it);
      }
    }
  }
  for (auto& [id, done] : expired) {
    done(error_result(Status(Errc::unavailable, shard_name(id) + ": no commit within " +
                                                    std::to_string(opts_.command_timeout_ms) +
                                                    " ms; the outcome is unknown (the write may still apply)")));
  }
}

void ShardHost::handle_ready(std::vector<std::pair<Shard*, raft::Ready>>& readies) {
  // 1. One durable write for every shard's entries and hard state.
  std::vector<Callback> replaced;
  storage::WriteBatch wb;
  std::vector<std::unique_ptr<ApplyBatch>> installs;
  for (auto& [s, rd] : readies) {
    if (rd.snapshot) {
      // The snapshot replaces the whole log; its data is installed by the
      // applier, after the entries committed before it. The marker makes
      // a crash before that finish the install at the next start.
      TESSERA_ASSERT_MSG(s->staged && s->staged->header.meta.index == rd.snapshot->index,
                         "raft accepted a snapshot the driver did not stage");
      wb.del_range(storage::Cf::log, storage::shard_prefix(s->id), prefix_successor(storage::shard_prefix(s->id)));
      wb.put(storage::Cf::state, state_key(s->id, kSnapshotKey), raft::encode_snapshot_meta(*rd.snapshot));
      wb.put(storage::Cf::state, state_key(s->id, kInstallingKey), s->staged->path);
      s->persisted_last = rd.snapshot->index;
      auto b = std::make_unique<ApplyBatch>();
      b->shard = s;
      b->install = std::move(s->staged);
      installs.push_back(std::move(b));
    }
    if (!rd.entries.empty()) {
      LogIndex first = rd.entries.front().index;
      // Entries replaced by a new leader's (never committed ones).
      for (uint64_t i = first.value; i <= s->persisted_last.value; ++i) {
        wb.del(storage::Cf::log, log_key(s->id, LogIndex(i)));
      }
      if (first <= s->persisted_last) fail_replaced(*s, rd.entries, replaced);
      for (const auto& e : rd.entries) {
        s->log_bytes += e.data.size();
        wb.put(storage::Cf::log, log_key(s->id, e.index), raft::encode_entry(e));
      }
      s->persisted_last = rd.entries.back().index;
    }
    if (rd.hard_state) {
      wb.put(storage::Cf::state, state_key(s->id, kHardStateKey), raft::encode_hard_state(*rd.hard_state));
    }
  }
  if (wb.count() > 0) {
    Status st = engine_.write(wb, opts_.sync);
    // A replica that cannot persist its log must not vote or acknowledge:
    // stop the process rather than run on with a diverged memory and disk.
    TESSERA_ASSERT_MSG(st.is_ok(), st.to_string().c_str());
    std::lock_guard lk(mu_);
    stats_.batches++;
  }
  for (auto& done : replaced) {
    done(error_result(Status(Errc::unavailable,
                             "leadership changed and a new leader's entries replaced this write's in the "
                             "log of the replica that proposed it; the outcome is unknown")));
  }

  // 2. Messages, one batch per destination node.
  std::map<NodeId, std::map<ShardId, std::vector<raft::Message>>> out;
  for (auto& [s, rd] : readies) {
    for (auto& m : rd.messages) {
      if (m.type == raft::MessageType::snapshot) {
        // Streamed from the applied state; one stream per peer at a time.
        if (opts_.transport && s->sending.count(m.to) == 0) start_snapshot(*s, m.to);
        continue;
      }
      out[m.to][s->id].push_back(std::move(m));
    }
  }
  if (opts_.transport) {
    for (auto& [to, by_shard] : out) {
      std::string batch;
      for (auto& [id, msgs] : by_shard) append_envelope(batch, id, raft::encode_messages(msgs));
      opts_.transport->send(to, std::move(batch));
    }
  }

  // 3. Committed entries to the applier, in order.
  auto batch = std::make_unique<ApplyBatch>();
  for (auto& [s, rd] : readies) {
    for (auto& e : rd.committed) {
      batch->bytes += e.data.size();
      batch->items.push_back(ApplyBatch::Item{s, std::move(e)});
    }
  }
  if (!batch->items.empty() || !installs.empty()) {
    {
      std::lock_guard lk(mu_);
      for (auto& b : installs) to_apply_.push_back(std::move(b));
      if (!batch->items.empty()) to_apply_.push_back(std::move(batch));
    }
    apply_cv_.notify_one();
  }
}

void ShardHost::run_applier() {
  for (;;) {
    std::unique_ptr<ApplyBatch> b;
    {
      std::unique_lock lk(mu_);
      apply_cv_.wait(lk, [&] { return loop_done_ || !to_apply_.empty(); });
      if (to_apply_.empty()) return;  // the loop is done and nothing is left
      b = std::move(to_apply_.front());
      to_apply_.pop_front();
      applying_ = b.get();
    }
    loop_cv_.notify_one();  // room for more proposals
    if (b->install) {
      install(*b);
    } else if (b->compaction) {
      compact(*b);
    } else {
      apply(*b);
    }
    std::lock_guard lk(mu_);
    applying_ = nullptr;
  }
}

void ShardHost::apply(ApplyBatch& b) {
  // Apply, in log order, into one transaction.
  auto txn = engine_.begin();
  std::vector<internal::CommandResult> results(b.items.size());
  std::unordered_map<Shard*, LogIndex> last;
  for (size_t i = 0; i < b.items.size(); ++i) {
    auto& it = b.items[i];
    last[it.shard] = it.entry.index;
    // Membership changes live in raft; a leader's no-op entry is empty.
    if (it.entry.type != raft::EntryType::normal || it.entry.data.empty()) continue;
    internal::Command cmd;
    if (!cmd.ParseFromString(it.entry.data)) {
      results[i] = error_result(Status(Errc::corruption, shard_name(it.shard->id) + ": unparsable entry " +
                                                             std::to_string(it.entry.index.value)));
      continue;
    }
    storage::TxnWriter writer(*txn, it.shard->id);
    txn->set_save_point();
    it.shard->sm->apply(it.entry.index, cmd, writer, results[i]);
    if (results[i].errc() != 0) {
      txn->rollback_to_save_point();
    } else {
      txn->pop_save_point();
    }
  }
  for (auto& [s, index] : last) {
    std::string v;
    put_be64(v, index.value);
    txn->put_raw(storage::Cf::state, state_key(s->id, kAppliedKey), v);
  }
  // Neither synced nor logged: every entry it applies is durable in the
  // raft log, which is truncated only by writes that are themselves not
  // logged, and the engine flushes `log` and `state` atomically — so after a
  // crash either this write is on disk whole, or raft re-delivers the
  // entries past the older applied index and they are applied again.
  Status st = engine_.commit(*txn, false, /*wal=*/false);
  TESSERA_ASSERT_MSG(st.is_ok(), st.to_string().c_str());

  std::vector<std::pair<Callback, internal::CommandResult>> done;
  {
    std::lock_guard lk(mu_);
    for (size_t i = 0; i < b.items.size(); ++i) {
      auto& it = b.items[i];
      it.shard->applied = it.entry.index;
      auto& pending = it.shard->pending;
      // Proposals at or below this index are settled: applied when the
      // entry is theirs (same term), otherwise replaced by another leader's.
      while (!pending.empty() && pending.begin()->first <= it.entry.index) {
        auto node = pending.extract(pending.begin());
        if (node.key() == it.entry.index && node.mapped().term == it.entry.term) {
          done.emplace_back(std::move(node.mapped().done), std::move(results[i]));
        } else {
          done.emplace_back(std::move(node.mapped().done),
                            error_result(Status(Errc::unavailable,
                                                shard_name(it.shard->id) +
                                                    ": leadership changed before the write committed; "
                                                    "it was not applied")));
        }
      }
    }
    stats_.entries += b.items.size();
    stats_.bytes += b.bytes;
  }
  applied_cv_.notify_all();
  for (auto& [cb, r] : done) cb(std::move(r));
}

}  // namespace tessera::shard
