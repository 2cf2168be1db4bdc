#include "shard/shard_host.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "base/assert.h"
#include "base/coding.h"
#include "raft/codec.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::shard {
namespace {

using Clock = std::chrono::steady_clock;

// Shard-level keys in the state column family start with '\0', which no
// state machine key does.
constexpr std::string_view kAppliedKey("\0applied", 8);      // be64 applied index
constexpr std::string_view kHardStateKey("\0hardstate", 10);  // raft HardState
constexpr std::string_view kConfKey("\0conf", 5);             // bootstrap members
constexpr std::string_view kSnapshotKey("\0snapshot", 9);     // last snapshot's meta
// Under shard 0 (no shard has id 0): one key per replica this node holds.
constexpr std::string_view kReplicaPrefix("\0replica", 8);

std::string replica_key(ShardId shard) {
  std::string k = storage::shard_prefix(ShardId(0)) + std::string(kReplicaPrefix);
  put_be64(k, shard.value);
  return k;
}

// Apply batches queued between the raft loop and the applier; beyond this
// the loop stops taking proposals (raft keeps running).
constexpr size_t kApplyBatchesMax = 4;

std::string state_key(ShardId shard, std::string_view key) {
  return storage::shard_prefix(shard) + std::string(key);
}

std::string log_key(ShardId shard, LogIndex index) {
  std::string k = storage::shard_prefix(shard);
  put_be64(k, index.value);
  return k;
}

internal::CommandResult error_result(const Status& st) {
  internal::CommandResult r;
  r.set_errc(static_cast<uint32_t>(st.code()));
  r.set_message(st.message());
  return r;
}

std::string shard_name(ShardId id) { return "shard " + std::to_string(id.value); }

Status not_leader(ShardId id, NodeId leader) {
  return Status(Errc::not_leader,
                shard_name(id) + ": this node is not the leader" +
                    (leader == raft::kNoNode ? std::string(" (no leader elected yet)")
                                             : " (leader is node " + std::to_string(leader.value) + ")"));
}

// A batch of raft messages on the wire, for several shards:
//   repeated { shard be64, length be32, raft::encode_messages bytes }.
void append_envelope(std::string& out, ShardId shard, const std::string& payload) {
  put_be64(out, shard.value);
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += payload;
}

Result<std::vector<std::pair<ShardId, std::vector<raft::Message>>>> decode_envelope(
    std::string_view in) {
  std::vector<std::pair<ShardId, std::vector<raft::Message>>> out;
  while (!in.empty()) {
    if (in.size() < 12) return error(Errc::corruption, "raft batch: truncated header");
    ShardId shard(get_be64(in.substr(0, 8)));
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in[8 + i]);
    in.remove_prefix(12);
    if (in.size() < n) return error(Errc::corruption, "raft batch: truncated payload");
    TESSERA_ASSIGN_OR_RETURN(auto msgs, raft::decode_messages(in.substr(0, n)));
    in.remove_prefix(n);
    out.emplace_back(shard, std::move(msgs));
  }
  return out;
}

uint64_t random_seed(NodeId self, ShardId shard) {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ (self.value * 0x9e3779b97f4a7c15ULL) ^
         shard.value;
}

}  // namespace

struct ShardHost::Pending {
  raft::Term term;
  Callback done;
};

struct ShardHost::Shard {
  ShardId id;
  std::unique_ptr<StateMachine> sm;
  std::unique_ptr<raft::Raft> raft;  // raft loop only
  LogIndex persisted_last;           // raft loop only: last index in storage
  // Guarded by mu_.
  LogIndex applied;
  ShardStatus status;
  std::map<LogIndex, Pending> pending;  // proposals waiting to be applied
};

struct ShardHost::Proposal {
  ShardId shard;
  std::string bytes;  // serialized command
  Callback done;
};

// Work for the raft loop from other threads.
struct ShardHost::Request {
  enum class Kind { read_index, conf_change, transfer } kind;
  ShardId shard;
  raft::ConfChange change;
  NodeId node;
  // Result of the request: for read_index the index to wait for, for
  // conf_change the index of the change's entry.
  std::function<void(Status, LogIndex)> done;
};

struct ShardHost::ApplyBatch {
  struct Item {
    Shard* shard = nullptr;
    raft::Entry entry;
  };
  std::vector<Item> items;
  size_t bytes = 0;
};

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

Status ShardHost::on_snapshot(const std::string& header, ChunkSource& chunks) {
  (void)header;
  (void)chunks;
  return Status(Errc::unavailable, "snapshot install is not supported by this node yet");
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

  for (;;) {
    {
      std::unique_lock lk(mu_);
      loop_cv_.wait_until(lk, next_tick, [&] {
        return stopping_ || !requests_.empty() || !messages_.empty() ||
               (!proposals_.empty() && to_apply_.size() < kApplyBatchesMax);
      });
      if (stopping_) break;
      if (to_apply_.size() < kApplyBatchesMax) {
        proposals.swap(proposals_);
        proposal_bytes_ = 0;
      }
      requests.swap(requests_);
      messages.swap(messages_);
      shards.clear();
      for (auto& [id, s] : shards_) shards.push_back(s.get());
      // A leader contacting this node about a shard it lacks makes it a new
      // (empty) member; the leader's log or snapshot brings it up to date.
      for (auto& [id, msgs] : messages) {
        if (shards_.count(id) != 0 || msgs.empty()) continue;
        auto type = msgs.front().type;
        if (type != raft::MessageType::append && type != raft::MessageType::snapshot) continue;
        Status st = open_shard_locked(id, {});
        if (!st.is_ok()) {
          spdlog::warn("{}: cannot create replica: {}", shard_name(id), st.to_string());
          continue;
        }
        shards.push_back(shards_.at(id).get());
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
      s->pending.emplace(*index, Pending{s->raft->term(), std::move(p.done)});
    }
    proposals.clear();

    auto now = Clock::now();
    if (now >= next_tick) {
      for (Shard* s : shards) s->raft->tick();
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
  }

  for (auto& [ctx, done] : reads) done(Status(Errc::unavailable, "node is shutting down"), LogIndex());
  for (auto& r : requests) r.done(Status(Errc::unavailable, "node is shutting down"), LogIndex());
  std::lock_guard lk(mu_);
  for (auto& r : requests_) r.done(Status(Errc::unavailable, "node is shutting down"), LogIndex());
  requests_.clear();
  for (auto& p : proposals) proposals_.push_back(std::move(p));
  loop_done_ = true;
  apply_cv_.notify_all();
}

void ShardHost::handle_ready(std::vector<std::pair<Shard*, raft::Ready>>& readies) {
  // 1. One durable write for every shard's entries and hard state.
  storage::WriteBatch wb;
  for (auto& [s, rd] : readies) {
    if (rd.snapshot) s->persisted_last = rd.snapshot->index;
    if (!rd.entries.empty()) {
      LogIndex first = rd.entries.front().index;
      // Entries replaced by a new leader's (never committed ones).
      for (uint64_t i = first.value; i <= s->persisted_last.value; ++i) {
        wb.del(storage::Cf::log, log_key(s->id, LogIndex(i)));
      }
      for (const auto& e : rd.entries) {
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

  // 2. Messages, one batch per destination node.
  std::map<NodeId, std::map<ShardId, std::vector<raft::Message>>> out;
  for (auto& [s, rd] : readies) {
    for (auto& m : rd.messages) {
      if (m.type == raft::MessageType::snapshot) {
        // Snapshot streaming is not built yet; the follower stays behind.
        spdlog::warn("{}: node {} needs a snapshot, which this node cannot send yet", shard_name(s->id),
                     m.to.value);
        s->raft->report_snapshot(m.to, false);
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
  if (!batch->items.empty()) {
    {
      std::lock_guard lk(mu_);
      to_apply_.push_back(std::move(batch));
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
    }
    loop_cv_.notify_one();  // room for more proposals
    apply(*b);
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
