#pragma once
// Backend: what every gateway (gRPC today; Kafka, S3 later) calls — it
// authenticates access keys, routes a path to the volume shard that holds it,
// proposes commands and opens read snapshots. It owns the volume table cache
// and the multi-step volume lifecycle (meta record → shard → mount entry).
//
// A node may hold no replica of a shard (volumes live on `replication` of N
// nodes). Proposals for such a shard are forwarded to its leader as the
// Forwarder last located it; reads and authentication refuse with a redirect
// (server/redirect.h) naming a node that holds it.
//
// Thread safety: every method may be called from any request thread.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/ids.h"
#include "base/metrics.h"
#include "base/status.h"
#include "shard/shard_host.h"
#include "tessera/internal/state.pb.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::cluster {
class MetaReader;
}

namespace tessera::server {

class StreamRouter;
class TableRouter;
class FileRouter;

struct Route {
  internal::VolumeRecord volume;
  ShardId shard;
};

// Another node that holds a replica of a shard.
struct ReplicaRef {
  raft::NodeId node;
  std::string address;  // its gRPC host:port, for peers and clients alike
  bool leader = false;  // it led the shard when last reported
};

// Reaches other nodes on the Backend's behalf (implemented by the node over
// the peer transport). Calls block up to their own deadline.
class Forwarder {
 public:
  virtual ~Forwarder() = default;
  // Proposes `cmd` on `node`, which should lead `shard`. An error Result means
  // the outcome is unknown (the call may have reached the leader).
  virtual Result<internal::CommandResult> propose(raft::NodeId node, ShardId shard,
                                                  const internal::Command& cmd) = 0;
  // The read index of `shard` from its leader `node`.
  virtual Result<LogIndex> read_index(raft::NodeId node, ShardId shard) = 0;
  // A node other than this one holding `shard`: its leader when known, else
  // one of its replicas (voters before learners). From the meta leader's
  // latest heartbeat reply, so about a heartbeat period old; nullopt when
  // nothing is known yet. Never blocks on the network.
  virtual std::optional<ReplicaRef> locate(ShardId shard) = 0;
  // The shard's leader and replicas as the meta leader last answered
  // (leader 0 when none was reported); nullopt when nothing is known.
  virtual std::optional<internal::ShardLocation> location(ShardId shard) = 0;
  // A read of a partition shard on `node`, which holds a replica of it.
  virtual Result<internal::PartitionReadReply> partition_read(raft::NodeId node,
                                                              const internal::PartitionRead& req) = 0;
  // A read of a file data shard on `node`, which holds a replica of it.
  virtual Result<internal::ChunkReadReply> chunk_read(raft::NodeId node,
                                                      const internal::ChunkRead& req) = 0;
  // A read of a tablet shard on `node`, which holds a replica of it.
  virtual Result<internal::TabletReadReply> tablet_read(raft::NodeId node,
                                                        const internal::TabletRead& req) = 0;
};

struct AdminCredentials {
  std::string key_id;
  std::string secret;
};

class Backend {
 public:
  Backend(storage::Engine& engine, shard::ShardHost& host, Metrics& metrics);
  ~Backend();

  void set_forwarder(Forwarder* f) { forwarder_ = f; }
  // File data shards of each new volume (the root volume included, when
  // set before bootstrap); 0 keeps file data in the volume shard.
  void set_data_shards(uint32_t n) { data_shards_ = n; }
  Forwarder* forwarder() const { return forwarder_; }
  // Streams over partition shards (server/stream_router.h).
  StreamRouter& streams() { return *streams_; }
  // Tables over tablet shards (server/table_router.h).
  TableRouter& tables() { return *tables_; }
  // File data over data shards (server/file_router.h).
  FileRouter& files() { return *files_; }

  // Brings up a new cluster on this node: the meta shard, the root volume,
  // the admin user and this node's record. Returns fresh admin credentials.
  Result<AdminCredentials> bootstrap(const std::string& cluster_id, const std::string& address,
                                     const std::map<std::string, std::string>& labels);
  // Opens the shards this node holds and finishes any half-done volume
  // creation it started. Waits up to `timeout_ms` for the meta shard (a
  // joining node receives it from the meta leader).
  Status start(int64_t timeout_ms);
  bool ready() const { return ready_.load(); }

  // Checks an access key against this node's replica of the meta shard (a
  // redirect when it holds none).
  Result<internal::Principal> authenticate(std::string_view key_id, std::string_view secret) const;

  // The volume holding `path` (already normalised).
  Route route(std::string_view path) const;
  // Validates and normalises a client path ("/a/b/" → "/a/b").
  static Result<std::string> normalise(std::string_view path);

  // Proposes `cmd` as `who` with the node's clock and waits for the result.
  // Forwards to the shard's leader when this node does not lead it, and
  // retries, within the command timeout, refusals that prove the command
  // was not applied (no leader yet, leadership moved).
  internal::CommandResult propose(ShardId shard, internal::Command cmd, const internal::Principal& who);
  // Proposes an already stamped command (principal and clock set), as the
  // leader's end of a forwarded proposal does.
  internal::CommandResult propose_stamped(ShardId shard, const internal::Command& cmd);
  // How many proposals the calling thread has made through this class. A
  // request handler compares it before and after to tell a refusal before
  // anything was proposed from a failure after one (rpc.h serve()).
  static uint64_t proposals_on_this_thread();
  // Waits until this node's replica of `shard` has applied every write
  // acknowledged before the call (ReadIndex, through the leader). A redirect
  // (Errc::not_leader, server/redirect.h) when this node holds no replica.
  Status read_barrier(ShardId shard) const;
  // The same, converting a failed result into a Status.
  Result<internal::CommandResult> propose_ok(ShardId shard, internal::Command cmd,
                                             const internal::Principal& who);

  std::unique_ptr<storage::Snapshot> snapshot() const { return host_.snapshot(); }
  shard::ShardHost& host() { return host_; }
  Metrics& metrics() { return metrics_; }
  RequestMetrics& requests() { return requests_; }

  // Proposes `cmd` to the volume of `path` and returns the Stat of the inode
  // its result carries (create, link, chmod, truncate, ...).
  Result<tessera::v1::Stat> propose_stat(const std::string& path, internal::Command cmd,
                                         const internal::Principal& who);
  // Creates an object of `kind` (exclusive) at `path` as `who`.
  Result<tessera::v1::Stat> create_object(const internal::Principal& who, std::string_view path,
                                          tessera::v1::ObjectKind kind, uint32_t mode,
                                          internal::CreateObjectOp extra = {});

  // A Stat for `inode` at `path` (owner and group by name).
  tessera::v1::Stat to_stat(const internal::Inode& inode, const std::string& path,
                            const cluster::MetaReader& meta, const Route& route) const;

  Result<internal::VolumeRecord> create_volume(const internal::Principal& who, std::string_view path,
                                               uint64_t quota_bytes, uint32_t replication);
  Status remove_volume(const internal::Principal& who, std::string_view path);
  Result<std::vector<tessera::v1::Volume>> list_volumes() const;
  Result<internal::VolumeState> volume_state(ShardId shard) const;
  std::optional<internal::VolumeRecord> volume_by_id(uint64_t id) const;
  bool is_volume_shard(uint64_t shard) const;

  // Grows a shard this node just created (its sole voter and leader) to
  // the replication factor of volume `volume_id` (capped by the active
  // nodes): adds each other node as a learner, promotes it once caught up
  // (a node that does not catch up within seconds is skipped), then hands
  // leadership to the member the shard id picks, so leaders spread.
  // Placement heals whatever this leaves short.
  Status grow_shard(ShardId shard, uint64_t volume_id);
  // Removes the meta records of shards nothing refers to any more (a
  // removed stream's partitions, a removed table's tablets, a creation
  // that failed); the meta leader then drops every replica of them.
  void release_shards(const std::vector<uint64_t>& shards);

  // A CreateKeyOp for a new key: the secret's digest (native API) and its
  // SCRAM-SHA-256 verifier (Kafka SASL/SCRAM), never the secret itself.
  static internal::CreateKeyOp key_op(const std::string& user, const std::string& key_id,
                                      const std::string& secret);
  // The key's record and the principal it acts as (not_found when unknown).
  Result<std::pair<internal::KeyRecord, internal::Principal>> access_key(std::string_view key_id) const;

  // The principal of the node's own commands (an administrator).
  internal::Principal node_principal() const;

 private:
  Status bring_up_volume(const internal::VolumeRecord& v);
  Status refresh_routes() const;
  // The refusal for a shard this node holds no replica of: a redirect to
  // the located replica, else a plain not_leader.
  Status not_hosted(ShardId shard) const;
  void maybe_refresh_routes() const;

  storage::Engine& engine_;
  shard::ShardHost& host_;
  Metrics& metrics_;
  RequestMetrics requests_;
  // Authenticated keys, valid while the meta shard's applied index is
  // unchanged (any user, group or key change invalidates every entry).
  struct CachedKey {
    std::string secret_sha256;
    internal::Principal principal;
  };
  static constexpr size_t kAuthCacheEntriesMax = 4096;
  mutable std::mutex auth_mu_;
  mutable std::unordered_map<std::string, CachedKey> auth_cache_;
  mutable LogIndex auth_cache_index_;
  mutable std::shared_mutex routes_mu_;
  mutable std::map<std::string, internal::VolumeRecord> routes_;  // mount path → volume
  mutable LogIndex routes_index_;  // meta applied index routes_ was read at
  Forwarder* forwarder_ = nullptr;
  std::atomic<bool> ready_{false};
  std::atomic<uint32_t> data_shards_{0};
  std::mutex volume_ops_mu_;  // serialises volume create/remove
  std::unique_ptr<StreamRouter> streams_;
  std::unique_ptr<TableRouter> tables_;
  std::unique_ptr<FileRouter> files_;
};

int64_t now_ms();

// Status of a command result.
inline Status status_of(const internal::CommandResult& r) {
  return r.errc() == 0 ? Status::ok() : Status(static_cast<Errc>(r.errc()), r.message());
}
// The same, counting already_exists as done: for the idempotent steps of a
// creation that a restart or a retry runs again.
inline Status status_done_if_exists(const internal::CommandResult& r) {
  return static_cast<Errc>(r.errc()) == Errc::already_exists ? Status::ok() : status_of(r);
}

}  // namespace tessera::server
