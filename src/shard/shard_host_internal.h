#pragma once
// Internal to src/shard: shard-level keys, wire helpers and the private
// structs of ShardHost, shared by shard_host.cc (raft loop, applier,
// proposals) and shard_snapshot.cc (snapshots, compaction, replica removal).

#include "shard/shard_host.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include "base/assert.h"
#include "base/coding.h"
#include "base/rate_limiter.h"
#include "raft/codec.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::shard {
namespace detail {

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

inline std::string replica_key(ShardId shard) {
  std::string k = storage::shard_prefix(ShardId(0)) + std::string(kReplicaPrefix);
  put_be64(k, shard.value);
  return k;
}

// Apply batches queued between the raft loop and the applier; beyond this
// the loop stops taking proposals (raft keeps running).
constexpr size_t kApplyBatchesMax = 4;

inline std::string state_key(ShardId shard, std::string_view key) {
  return storage::shard_prefix(shard) + std::string(key);
}

inline std::string log_key(ShardId shard, LogIndex index) {
  std::string k = storage::shard_prefix(shard);
  put_be64(k, index.value);
  return k;
}

inline internal::CommandResult error_result(const Status& st) {
  internal::CommandResult r;
  r.set_errc(static_cast<uint32_t>(st.code()));
  r.set_message(st.message());
  return r;
}

inline std::string shard_name(ShardId id) { return "shard " + std::to_string(id.value); }

inline Status not_leader(ShardId id, NodeId leader) {
  return Status(Errc::not_leader,
                shard_name(id) + ": this node is not the leader" +
                    (leader == raft::kNoNode ? std::string(" (no leader elected yet)")
                                             : " (leader is node " + std::to_string(leader.value) + ")"));
}

// A batch of raft messages on the wire, for several shards:
//   repeated { shard be64, length be32, raft::encode_messages bytes }.
inline void append_envelope(std::string& out, ShardId shard, const std::string& payload) {
  put_be64(out, shard.value);
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += payload;
}

inline Result<std::vector<std::pair<ShardId, std::vector<raft::Message>>>> decode_envelope(
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
inline std::string data_start(ShardId shard) { return storage::shard_prefix(shard) + "\x01"; }
inline std::string data_end(ShardId shard) { return prefix_successor(storage::shard_prefix(shard)); }

inline void put_be32(std::string& out, uint32_t n) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}
inline uint32_t get_be32(std::string_view in) {
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

inline std::string encode_snapshot_header(const SnapshotHeader& h) {
  std::string out;
  put_be64(out, h.shard.value);
  put_be64(out, h.term.value);
  put_be64(out, h.from.value);
  out += raft::encode_snapshot_meta(h.meta);
  return out;
}

inline Result<SnapshotHeader> decode_snapshot_header(std::string_view in) {
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
  StateChunks(std::shared_ptr<storage::Snapshot> snap, ShardId shard, size_t chunk_bytes,
              RateLimiter& limiter)
      : snap_(std::move(snap)),
        cursor_(data_start(shard)),
        end_(data_end(shard)),
        chunk_bytes_(chunk_bytes),
        limiter_(limiter) {}

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
    limiter_.acquire(chunk.size());
    return true;
  }

 private:
  std::shared_ptr<storage::Snapshot> snap_;
  std::string cursor_;
  const std::string end_;
  const size_t chunk_bytes_;
  RateLimiter& limiter_;  // the host's, shared by every snapshot it sends
  bool done_ = false;
};

inline uint64_t random_seed(NodeId self, ShardId shard) {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ (self.value * 0x9e3779b97f4a7c15ULL) ^
         shard.value;
}

}  // namespace detail

using namespace detail;

struct ShardHost::Pending {
  raft::Term term;
  Callback done;
  Clock::time_point since;  // when it was proposed
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

}  // namespace tessera::shard
