#include "server/backend.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "cluster/meta_keys.h"
#include "cluster/meta_machine.h"
#include "cluster/meta_reader.h"
#include "gateway/kafka/protocol/sasl_mechanisms.h"
#include "namespace/ns_ops.h"
#include "namespace/paths.h"
#include "namespace/volume_machine.h"
#include "namespace/volume_store.h"
#include "server/redirect.h"
#include "server/stream_router.h"
#include "server/file_router.h"
#include "server/table_router.h"

namespace tessera::server {

using tessera::v1::ObjectKind;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

constexpr int64_t kCommandTimeoutMs = 10000;

internal::CommandResult error_result(const Status& st) {
  internal::CommandResult r;
  r.set_errc(static_cast<uint32_t>(st.code()));
  r.set_message(st.message());
  return r;
}

const ShardId kMeta(cluster::kMetaShard);

thread_local uint64_t t_proposals = 0;

}  // namespace

uint64_t Backend::proposals_on_this_thread() { return t_proposals; }

Backend::Backend(storage::Engine& engine, shard::ShardHost& host, Metrics& metrics)
    : engine_(engine),
      host_(host),
      metrics_(metrics),
      requests_(metrics),
      streams_(std::make_unique<StreamRouter>(*this)),
      tables_(std::make_unique<TableRouter>(*this)),
      files_(std::make_unique<FileRouter>(*this)) {}

Backend::~Backend() = default;

internal::Principal Backend::node_principal() const {
  internal::Principal p;
  p.set_uid(cluster::kAdminUid);
  p.add_gids(cluster::kAdminGid);
  p.set_admin(true);
  p.set_name("tesserad");
  return p;
}

Result<std::string> Backend::normalise(std::string_view path) {
  TESSERA_ASSIGN_OR_RETURN(auto parts, ns::split_path(path));
  return ns::join_path(parts);
}

internal::CommandResult Backend::propose(ShardId shard, internal::Command cmd,
                                         const internal::Principal& who) {
  *cmd.mutable_principal() = who;
  cmd.set_now_ms(now_ms());
  return propose_stamped(shard, cmd);
}

internal::CommandResult Backend::propose_stamped(ShardId shard, const internal::Command& cmd) {
  ++t_proposals;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kCommandTimeoutMs);
  for (;;) {
    auto r = host_.propose_wait(shard, cmd);
    if (static_cast<Errc>(r.errc()) != Errc::not_leader) return r;
    // Refused before it was proposed: safe to send to the leader or retry.
    raft::NodeId leader = host_.leader(shard);
    if (leader == raft::kNoNode && forwarder_ != nullptr && !host_.has_shard(shard)) {
      auto loc = forwarder_->locate(shard);
      if (loc && loc->leader) leader = loc->node;
    }
    if (leader != raft::kNoNode && leader != host_.self() && forwarder_ != nullptr) {
      auto fr = forwarder_->propose(leader, shard, cmd);
      if (!fr.is_ok()) return error_result(fr.status());
      if (static_cast<Errc>(fr->errc()) != Errc::not_leader) return *fr;
      r = *fr;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      // Still refused before proposal: the client may try a replica itself.
      return host_.has_shard(shard) ? r : error_result(not_hosted(shard));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status Backend::not_hosted(ShardId shard) const {
  if (forwarder_ != nullptr) {
    if (auto loc = forwarder_->locate(shard); loc && !loc->address.empty()) {
      return redirect_status(shard, loc->address);
    }
  }
  return Status(Errc::not_leader, "shard " + std::to_string(shard.value) +
                                      ": not hosted on this node, and no node holding it is known yet");
}

Status Backend::read_barrier(ShardId shard) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kCommandTimeoutMs);
  auto left = [&] {
    return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
  };
  for (;;) {
    if (!host_.has_shard(shard)) return not_hosted(shard);
    Status st = host_.read_barrier(shard, left());
    if (st.code() != Errc::not_leader) return st;
    raft::NodeId leader = host_.leader(shard);
    if (leader != raft::kNoNode && leader != host_.self() && forwarder_ != nullptr) {
      auto index = forwarder_->read_index(leader, shard);
      if (index.is_ok()) {
        if (index->value == 0 || host_.wait_applied(shard, LogIndex(index->value - 1), left()) >= *index) {
          return Status::ok();
        }
        return Status(Errc::unavailable, "shard " + std::to_string(shard.value) +
                                             ": this replica did not catch up with its leader in time");
      }
      // A leader that does not answer (killed, cut off) is replaced within
      // an election timeout: a read waits for the next one, as it waits
      // for a leader at all.
      if (index.status().code() != Errc::not_leader && index.status().code() != Errc::unavailable) {
        return index.status();
      }
      st = index.status();
    }
    if (left() == 0) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<internal::CommandResult> Backend::propose_ok(ShardId shard, internal::Command cmd,
                                                    const internal::Principal& who) {
  auto r = propose(shard, std::move(cmd), who);
  TESSERA_TRY(status_of(r));
  return r;
}

Result<AdminCredentials> Backend::bootstrap(const std::string& cluster_id, const std::string& address,
                                            const std::map<std::string, std::string>& labels) {
  TESSERA_TRY(host_.add_shard(kMeta, {host_.self()}));
  internal::Command init;
  init.mutable_init_cluster()->set_cluster_id(cluster_id);
  init.mutable_init_cluster()->set_first_node(host_.self().value);
  init.mutable_init_cluster()->set_data_shards(data_shards_.load());
  // Idempotent: a crash during the first start runs this again.
  auto r = propose(kMeta, init, node_principal());
  TESSERA_TRY(status_done_if_exists(r));
  internal::Command reg;
  reg.mutable_register_node()->set_node_id(host_.self().value);
  reg.mutable_register_node()->set_address(address);
  for (const auto& [k, v] : labels) (*reg.mutable_register_node()->mutable_labels())[k] = v;
  TESSERA_TRY(propose_ok(kMeta, reg, node_principal()).status());
  AdminCredentials c{"TK" + cluster::random_hex(10), cluster::random_hex(20)};
  internal::Command key;
  *key.mutable_create_key() = key_op("admin", c.key_id, c.secret);
  TESSERA_TRY(propose_ok(kMeta, key, node_principal()).status());
  return c;
}

Status Backend::start(int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // After a restart the meta replica re-applies what it had committed
  // (applies are not logged): keys and volumes read before that would be
  // missing, so the node waits for it.
  std::optional<LogIndex> commit_at_start;
  for (;;) {
    if (host_.has_shard(kMeta)) {
      if (!commit_at_start) commit_at_start = host_.status(kMeta)->commit;
      auto snap = snapshot();
      storage::SnapshotReader r(*snap, kMeta);
      if (cluster::MetaReader(r).initialised() && host_.applied_index(kMeta) >= *commit_at_start) break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(Errc::unavailable, "the cluster's meta shard did not reach this node in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  TESSERA_TRY(refresh_routes());
  std::vector<internal::VolumeRecord> vols;
  {
    std::shared_lock lk(routes_mu_);
    for (auto& [path, v] : routes_) vols.push_back(v);
  }
  // Volumes this node created and did not finish bringing up. Parents come
  // before children: the map is ordered by path.
  for (const auto& v : vols) {
    if (raft::NodeId(v.initial_node()) == host_.self() && !v.ready()) TESSERA_TRY(bring_up_volume(v));
  }
  ready_ = true;
  return Status::ok();
}

Status Backend::bring_up_volume(const internal::VolumeRecord& v) {
  ShardId shard(v.shard());
  if (!host_.has_shard(shard)) {
    TESSERA_TRY(host_.add_shard(shard, {host_.self()}));
  }
  // The file data shards first: the volume's files need them.
  for (int i = 0; i < v.data_shards_size(); ++i) {
    ShardId data(v.data_shards(i));
    if (!host_.has_shard(data)) TESSERA_TRY(host_.add_shard(data, {host_.self()}));
    internal::Command init_data;
    init_data.mutable_init_data_shard()->mutable_info()->set_volume_id(v.id());
    init_data.mutable_init_data_shard()->mutable_info()->set_index(static_cast<uint32_t>(i));
    TESSERA_TRY(status_done_if_exists(propose(data, init_data, node_principal())));
  }
  internal::Command init;
  auto* op = init.mutable_init_volume();
  *op->mutable_data_shards() = v.data_shards();
  op->set_volume_id(v.id());
  op->set_mount_path(v.path());
  op->set_quota_bytes(v.quota_bytes());
  op->set_owner_uid(v.owner_uid());
  op->set_owner_gid(v.owner_gid());
  auto r = propose(shard, init, node_principal());
  TESSERA_TRY(status_done_if_exists(r));
  internal::Command ready;
  ready.mutable_mark_ready()->set_volume_id(v.id());
  if (v.path() == "/") return propose_ok(kMeta, ready, node_principal()).status();
  // The mount point entry in the parent volume comes last: until it exists
  // the volume is not visible in listings.
  Route parent = route(v.path().substr(0, v.path().rfind('/')).empty()
                           ? std::string("/")
                           : v.path().substr(0, v.path().rfind('/')));
  internal::Command mount;
  auto* c = mount.mutable_create();
  c->set_path(v.path());
  c->set_kind(ObjectKind::KIND_VOLUME);
  c->set_mode(0755);
  c->set_mounted_volume(v.id());
  c->set_exclusive(true);
  r = propose(parent.shard, mount, node_principal());
  TESSERA_TRY(status_done_if_exists(r));
  return propose_ok(kMeta, ready, node_principal()).status();
}

void Backend::maybe_refresh_routes() const {
  // Without a meta replica the last table read stands (requests are
  // redirected at authentication).
  if (!host_.has_shard(kMeta)) return;
  {
    std::shared_lock lk(routes_mu_);
    if (routes_index_ == host_.applied_index(kMeta)) return;
  }
  (void)refresh_routes();
}

Status Backend::refresh_routes() const {
  LogIndex index = host_.applied_index(kMeta);
  auto snap = snapshot();
  storage::SnapshotReader r(*snap, kMeta);
  TESSERA_ASSIGN_OR_RETURN(auto vols, cluster::MetaReader(r).volumes());
  std::unique_lock lk(routes_mu_);
  routes_.clear();
  for (auto& v : vols) routes_.emplace(v.path(), v);
  routes_index_ = index;
  return Status::ok();
}

Route Backend::route(std::string_view path) const {
  maybe_refresh_routes();
  std::shared_lock lk(routes_mu_);
  const internal::VolumeRecord* best = nullptr;
  for (const auto& [mount, v] : routes_) {
    if (ns::path_within(path, mount) && (!best || mount.size() > best->path().size())) best = &v;
  }
  TESSERA_ASSERT_MSG(best != nullptr, "no root volume in the volume table");
  return Route{*best, ShardId(best->shard())};
}

internal::CreateKeyOp Backend::key_op(const std::string& user, const std::string& key_id,
                                      const std::string& secret) {
  internal::CreateKeyOp op;
  op.set_user(user);
  op.set_key_id(key_id);
  op.set_secret_sha256(cluster::sha256(secret));
  const std::string salt = cluster::random_hex(16);
  auto scram = kafka::make_scram_credential(secret, salt, kafka::kScramMinIterations);
  op.set_scram_salt(scram.salt);
  op.set_scram_iterations(scram.iterations);
  op.set_scram_stored_key(scram.stored_key);
  op.set_scram_server_key(scram.server_key);
  return op;
}

Result<std::pair<internal::KeyRecord, internal::Principal>> Backend::access_key(
    std::string_view key_id) const {
  if (!host_.has_shard(kMeta)) return not_hosted(kMeta);
  auto lookup = [&]() -> Result<std::pair<internal::KeyRecord, internal::Principal>> {
    auto snap = snapshot();
    storage::SnapshotReader r(*snap, kMeta);
    cluster::MetaReader meta(r);
    TESSERA_ASSIGN_OR_RETURN(auto k, meta.key(key_id));
    if (!k) return Status(Errc::not_found, "no such access key");
    TESSERA_ASSIGN_OR_RETURN(auto u, meta.user_by_uid(k->uid()));
    if (!u) return Status(Errc::not_found, "no such access key");
    return std::make_pair(*std::move(k), cluster::MetaReader::principal_of(*u));
  };
  auto got = lookup();
  if (!got.is_ok() && got.status().code() == Errc::not_found && read_barrier(kMeta).is_ok()) {
    got = lookup();  // made moments ago through another node
  }
  return got;
}

Result<internal::Principal> Backend::authenticate(std::string_view key_id,
                                                  std::string_view secret) const {
  if (!host_.has_shard(kMeta)) return not_hosted(kMeta);
  if (!ready_) return Status(Errc::unavailable, "this node is starting; retry in a moment");
  LogIndex meta_index = host_.applied_index(kMeta);
  std::string digest = cluster::sha256(secret);
  {
    std::lock_guard lk(auth_mu_);
    if (auth_cache_index_ != meta_index) {
      auth_cache_.clear();
      auth_cache_index_ = meta_index;
    }
    auto it = auth_cache_.find(std::string(key_id));
    if (it != auth_cache_.end() && it->second.secret_sha256 == digest) return it->second.principal;
  }
  auto lookup = [&] {
    auto snap = snapshot();
    storage::SnapshotReader r(*snap, kMeta);
    return cluster::MetaReader(r).authenticate(key_id, secret);
  };
  auto who = lookup();
  if (!who.is_ok() && who.status().code() == Errc::unauthenticated && read_barrier(kMeta).is_ok()) {
    // A key created moments ago through another node may not have reached
    // this replica yet: look again once it caught up with the leader.
    who = lookup();
  }
  if (who.is_ok()) {
    std::lock_guard lk(auth_mu_);
    // Only cache what was read at the index the cache stands for.
    if (auth_cache_index_ == meta_index && host_.applied_index(kMeta) == meta_index) {
      if (auth_cache_.size() >= kAuthCacheEntriesMax) auth_cache_.clear();
      auth_cache_[std::string(key_id)] = CachedKey{digest, *who};
    }
  }
  return who;
}

tessera::v1::Stat Backend::to_stat(const internal::Inode& n, const std::string& path,
                                   const cluster::MetaReader& meta, const Route& route) const {
  tessera::v1::Stat s;
  s.set_path(path);
  s.set_kind(n.kind());
  s.set_inode(n.id());
  s.set_mode(n.mode());
  s.set_owner(meta.user_name(n.uid()));
  s.set_group(meta.group_name(n.gid()));
  s.set_size(n.size());
  s.set_mtime_ms(n.mtime_ms());
  s.set_ctime_ms(n.ctime_ms());
  s.set_nlink(n.kind() == ObjectKind::KIND_DIRECTORY ? 2 + static_cast<uint32_t>(n.entries()) : n.nlink());
  s.set_version(n.version());
  s.set_symlink_target(n.symlink_target());
  s.set_volume(route.volume.path());
  s.set_has_acl(n.acl_size() > 0);
  s.set_retention_age_ms(n.retention_age_ms());
  s.set_retention_bytes(n.retention_bytes());
  s.set_topics(n.topics());
  s.set_rows(n.rows());
  return s;
}

Result<tessera::v1::Stat> Backend::propose_stat(const std::string& path, internal::Command cmd,
                                                const internal::Principal& who) {
  Route r = route(path);
  TESSERA_ASSIGN_OR_RETURN(auto res, propose_ok(r.shard, std::move(cmd), who));
  auto snap = snapshot();
  storage::SnapshotReader meta(*snap, kMeta);
  return to_stat(res.inode(), path, cluster::MetaReader(meta), r);
}

Result<tessera::v1::Stat> Backend::create_object(const internal::Principal& who,
                                                 std::string_view raw_path, ObjectKind kind,
                                                 uint32_t mode, internal::CreateObjectOp extra) {
  TESSERA_ASSIGN_OR_RETURN(auto path, normalise(raw_path));
  internal::Command cmd;
  auto* c = cmd.mutable_create();
  *c = std::move(extra);
  c->set_path(path);
  c->set_kind(kind);
  c->set_mode(mode);
  c->set_exclusive(true);
  return propose_stat(path, std::move(cmd), who);
}

Result<internal::VolumeRecord> Backend::create_volume(const internal::Principal& who,
                                                      std::string_view raw_path,
                                                      uint64_t quota_bytes, uint32_t replication) {
  TESSERA_ASSIGN_OR_RETURN(std::string path, normalise(raw_path));
  if (!who.admin()) return Status(Errc::permission_denied, path + ": only administrators create volumes");
  std::lock_guard lk(volume_ops_mu_);
  // The parent must be an existing directory and the name free.
  {
    auto parent_path = path.substr(0, path.rfind('/'));
    if (parent_path.empty()) parent_path = "/";
    Route pr = route(parent_path);
    TESSERA_TRY(read_barrier(pr.shard));  // also redirects when not hosted here
    auto snap = snapshot();
    storage::SnapshotReader r(*snap, pr.shard);
    TESSERA_ASSIGN_OR_RETURN(auto parent, ns::stat_path(ns::VolumeView(r), who, parent_path));
    if (parent.kind() != ObjectKind::KIND_DIRECTORY) return error(Errc::not_a_directory, parent_path);
    if (path != "/") {
      Route here = route(path);
      auto existing = ns::stat_path(ns::VolumeView(r), who, path);
      if (here.volume.path() == path || existing.is_ok()) return error(Errc::already_exists, path);
    }
  }
  internal::Command cmd;
  cmd.mutable_create_volume()->set_path(path);
  cmd.mutable_create_volume()->set_quota_bytes(quota_bytes);
  cmd.mutable_create_volume()->set_replication(replication);
  cmd.mutable_create_volume()->set_initial_node(host_.self().value);
  cmd.mutable_create_volume()->set_data_shards(data_shards_.load());
  TESSERA_ASSIGN_OR_RETURN(auto r, propose_ok(kMeta, cmd, who));
  TESSERA_TRY(read_barrier(kMeta));  // the meta leader may be another node
  TESSERA_TRY(refresh_routes());
  TESSERA_TRY(bring_up_volume(r.volume()));
  // Replicated before the caller uses it; placement finishes what this
  // leaves short.
  std::vector<uint64_t> shards{r.volume().shard()};
  shards.insert(shards.end(), r.volume().data_shards().begin(), r.volume().data_shards().end());
  for (uint64_t id : shards) {
    if (Status st = grow_shard(ShardId(id), r.volume().id()); !st.is_ok()) {
      spdlog::warn("volume {}: shard {}: {}", path, id, st.to_string());
    }
  }
  return r.volume();
}

Status Backend::remove_volume(const internal::Principal& who, std::string_view raw_path) {
  TESSERA_ASSIGN_OR_RETURN(std::string path, normalise(raw_path));
  if (!who.admin()) return Status(Errc::permission_denied, path + ": only administrators remove volumes");
  std::lock_guard lk(volume_ops_mu_);
  Route here = route(path);
  if (here.volume.path() != path) return Status(Errc::not_found, path + ": no volume is mounted here");
  TESSERA_TRY(read_barrier(here.shard));
  {
    auto snap = snapshot();
    storage::SnapshotReader r(*snap, here.shard);
    TESSERA_ASSIGN_OR_RETURN(auto root, ns::stat_path(ns::VolumeView(r), who, path));
    if (root.entries() > 0) {
      return Status(Errc::not_empty, path + ": volume is not empty; remove its contents first");
    }
  }
  internal::Command cmd;
  cmd.mutable_remove_volume()->set_path(path);
  TESSERA_TRY(propose_ok(kMeta, cmd, who).status());
  TESSERA_TRY(read_barrier(kMeta));
  TESSERA_TRY(refresh_routes());
  internal::Command unmount;
  unmount.mutable_unmount()->set_path(path);
  return propose_ok(route(path).shard, unmount, node_principal()).status();
}

Result<internal::VolumeState> Backend::volume_state(ShardId shard) const {
  auto snap = snapshot();
  storage::SnapshotReader r(*snap, shard);
  return ns::VolumeView(r).volume();
}

Result<std::vector<tessera::v1::Volume>> Backend::list_volumes() const {
  std::vector<internal::VolumeRecord> vols;
  {
    std::shared_lock lk(routes_mu_);
    for (auto& [p, v] : routes_) vols.push_back(v);
  }
  std::vector<tessera::v1::Volume> out;
  for (const auto& v : vols) {
    tessera::v1::Volume o;
    o.set_path(v.path());
    o.set_id(v.id());
    o.set_replication(v.replication());
    o.set_shard(v.shard());
    auto st = volume_state(ShardId(v.shard()));
    if (st.is_ok()) {
      o.set_quota_bytes(st->quota_bytes());
      o.set_used_bytes(st->used_bytes());
    } else {
      o.set_quota_bytes(v.quota_bytes());
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::optional<internal::VolumeRecord> Backend::volume_by_id(uint64_t id) const {
  maybe_refresh_routes();
  std::shared_lock lk(routes_mu_);
  for (const auto& [p, v] : routes_) {
    if (v.id() == id) return v;
  }
  return std::nullopt;
}

bool Backend::is_volume_shard(uint64_t shard) const {
  maybe_refresh_routes();
  std::shared_lock lk(routes_mu_);
  for (const auto& [p, v] : routes_) {
    if (v.shard() == shard) return true;
  }
  return false;
}

}  // namespace tessera::server
