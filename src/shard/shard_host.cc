#include "shard/shard_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>

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
// Present while a received snapshot is being installed: the staged file.
constexpr std::string_view kInstallingKey("\0installing", 11);
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

// The state machine's keys of a shard: everything under its prefix except
// the shard-level keys, which start with '\0'.
std::string data_start(ShardId shard) { return storage::shard_prefix(shard) + "\x01"; }
std::string data_end(ShardId shard) { return prefix_successor(storage::shard_prefix(shard)); }

void put_be32(std::string& out, uint32_t n) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}
uint32_t get_be32(std::string_view in) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in[i]);
  return n;
}

// A snapshot stream's header: shard be64, leader term be64, leader be64,
// then the encoded SnapshotMeta.
struct SnapshotHeader {
  ShardId shard;
  raft::Term term;
  NodeId from;
  raft::SnapshotMeta meta;
};

std::string encode_snapshot_header(const SnapshotHeader& h) {
  std::string out;
  put_be64(out, h.shard.value);
  put_be64(out, h.term.value);
  put_be64(out, h.from.value);
  out += raft::encode_snapshot_meta(h.meta);
  return out;
}

Result<SnapshotHeader> decode_snapshot_header(std::string_view in) {
  if (in.size() < 24) return Status(Errc::corruption, "snapshot header: truncated");
  SnapshotHeader h;
  h.shard = ShardId(get_be64(in.substr(0, 8)));
  h.term = raft::Term(get_be64(in.substr(8, 8)));
  h.from = NodeId(get_be64(in.substr(16, 8)));
  TESSERA_ASSIGN_OR_RETURN(h.meta, raft::decode_snapshot_meta(in.substr(24)));
  return h;
}

// The chunks of a snapshot stream: records {key be32 length, key, value be32
// length, value} of one shard's state, in key order, read from one RocksDB
// snapshot.
class StateChunks final : public ChunkSource {
 public:
  StateChunks(std::shared_ptr<storage::Snapshot> snap, ShardId shard, size_t chunk_bytes)
      : snap_(std::move(snap)), cursor_(data_start(shard)), end_(data_end(shard)), chunk_bytes_(chunk_bytes) {}

  Result<bool> next(std::string& chunk) override {
    if (done_) return false;
    chunk.clear();
    std::string last;
    bool more = false;
    TESSERA_TRY(snap_->scan(cursor_, end_, [&](std::string_view k, std::string_view v) {
      if (chunk.size() >= chunk_bytes_) {
        more = true;
        return false;
      }
      put_be32(chunk, static_cast<uint32_t>(k.size()));
      chunk.append(k);
      put_be32(chunk, static_cast<uint32_t>(v.size()));
      chunk.append(v);
      last.assign(k);
      return true;
    }));
    if (!more) done_ = true;
    if (chunk.empty()) return false;
    cursor_ = last + std::string(1, '\0');  // the next key after `last`
    return true;
  }

 private:
  std::shared_ptr<storage::Snapshot> snap_;
  std::string cursor_;
  const std::string end_;
  const size_t chunk_bytes_;
  bool done_ = false;
};

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

// A snapshot received from a leader, staged as an SST file, on its way to
// the applier.
struct ShardHost::Install {
  SnapshotHeader header;
  std::string path;  // empty: the shard's state is empty
  std::function<void(Status)> done;
};

struct ShardHost::Shard {
  ShardId id;
  std::unique_ptr<StateMachine> sm;
  // Raft loop only.
  std::unique_ptr<raft::Raft> raft;
  LogIndex persisted_last;               // last index in storage
  std::set<NodeId> sending;              // snapshot streams running
  std::map<NodeId, Clock::time_point> snapshot_retry;  // after a failed stream
  std::unique_ptr<Install> staged;       // stepped into raft, not yet installed
  bool compacting = false;               // a compaction is queued
  bool was_member = false;               // seen itself in the config
  bool remove_requested = false;         // remove_replica() asked; done once idle
  uint64_t log_bytes = 0;                // entry bytes written since the last compaction
  // Guarded by mu_.
  LogIndex compacted;  // log entries up to here are deleted from storage
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

// Work for the applier, in log order: committed entries, or one snapshot
// install, or one log compaction.
struct ShardHost::ApplyBatch {
  struct Item {
    Shard* shard = nullptr;
    raft::Entry entry;
  };
  std::vector<Item> items;
  size_t bytes = 0;
  Shard* shard = nullptr;  // of the install or compaction
  std::unique_ptr<Install> install;
  std::optional<raft::SnapshotMeta> compaction;
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
      to, std::move(header), std::make_unique<StateChunks>(std::move(snap), s.id, opts_.snapshot_chunk_bytes),
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
      s->pending.emplace(*index, Pending{s->raft->term(), std::move(p.done)});
    }
    proposals.clear();

    auto now = Clock::now();
    if (now >= next_tick) {
      for (Shard* s : shards) {
        s->raft->tick();
        maybe_compact(*s);
      }
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

void ShardHost::handle_ready(std::vector<std::pair<Shard*, raft::Ready>>& readies) {
  // 1. One durable write for every shard's entries and hard state.
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
