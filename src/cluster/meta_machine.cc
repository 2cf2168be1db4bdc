#include "cluster/meta_machine.h"

#include <optional>

#include "cluster/meta_keys.h"
#include "namespace/paths.h"
#include "namespace/volume_machine.h"
#include "namespace/volume_store.h"
#include "tessera/internal/state.pb.h"

namespace tessera::cluster {
namespace {

using ns::parse_record;

Result<internal::MetaCounters> load_counters(const storage::StateReader& state) {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(counters_key()));
  if (!raw) return Status(Errc::unavailable, "cluster not initialised");
  return parse_record<internal::MetaCounters>(*raw, "meta counters");
}

Status check_user_name(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 32 && (std::islower(name[0]) || name[0] == '_');
  for (char c : name) ok = ok && (std::islower(c) || std::isdigit(c) || c == '_' || c == '-');
  if (!ok) {
    return Status(Errc::invalid_argument,
                  std::string(what) + " '" + std::string(name.substr(0, 64)) +
                      "': must be 1-32 of a-z, 0-9, '_', '-', starting with a letter or '_'");
  }
  return Status::ok();
}

// The gid of group `name`, creating the group when missing.
Result<uint32_t> ensure_group(storage::StateWriter& state, internal::MetaCounters& c,
                              std::string_view name) {
  TESSERA_TRY(check_user_name(name, "group"));
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(group_key(name)));
  if (raw) {
    TESSERA_ASSIGN_OR_RETURN(auto g, parse_record<internal::GroupRecord>(*raw, "group"));
    return g.gid();
  }
  internal::GroupRecord g;
  g.set_name(std::string(name));
  g.set_gid(c.next_gid());
  c.set_next_gid(c.next_gid() + 1);
  state.put(group_key(name), g.SerializeAsString());
  state.put(gid_key(g.gid()), g.name());
  return g.gid();
}

// Allocates `count` file data shards of volume `v` (their ShardRecords,
// not ready until the volume is) and records them in v.data_shards.
void allocate_data_shards(storage::StateWriter& state, internal::MetaCounters& c,
                          internal::VolumeRecord& v, uint32_t count, int64_t now_ms) {
  for (uint32_t i = 0; i < count; ++i) {
    internal::ShardRecord s;
    s.set_id(c.next_shard());
    s.set_volume_id(v.id());
    s.set_replication(v.replication());
    s.set_created_ms(now_ms);
    s.set_initial_node(v.initial_node());
    s.set_file_data(true);
    c.set_next_shard(c.next_shard() + 1);
    state.put(shard_key(s.id()), s.SerializeAsString());
    v.add_data_shards(s.id());
  }
}

void put_user(storage::StateWriter& state, const internal::UserRecord& u) {
  state.put(user_key(u.name()), u.SerializeAsString());
  state.put(uid_key(u.uid()), u.name());
}

Status init_cluster(storage::StateWriter& state, const internal::Command& cmd) {
  TESSERA_ASSIGN_OR_RETURN(auto existing, state.get(counters_key()));
  if (existing) return Status(Errc::already_exists, "cluster already initialised");
  internal::MetaCounters c;
  c.set_cluster_id(cmd.init_cluster().cluster_id());
  c.set_next_uid(kFirstUid);
  c.set_next_gid(kFirstUid);
  c.set_next_volume(kRootVolume + 1);
  c.set_next_shard(kRootVolumeShard + 1);
  c.set_next_node(cmd.init_cluster().first_node() + 1);
  internal::GroupRecord g;
  g.set_name("admin");
  g.set_gid(kAdminGid);
  state.put(group_key(g.name()), g.SerializeAsString());
  state.put(gid_key(g.gid()), g.name());
  internal::UserRecord admin;
  admin.set_name("admin");
  admin.set_uid(kAdminUid);
  admin.add_gids(kAdminGid);
  admin.set_admin(true);
  put_user(state, admin);
  internal::VolumeRecord root;
  root.set_id(kRootVolume);
  root.set_path("/");
  root.set_shard(kRootVolumeShard);
  root.set_replication(kDefaultReplication);
  root.set_created_ms(cmd.now_ms());
  root.set_initial_node(cmd.init_cluster().first_node());
  allocate_data_shards(state, c, root, std::min(cmd.init_cluster().data_shards(), kDataShardsMax),
                       cmd.now_ms());
  state.put(mount_key("/"), root.SerializeAsString());
  state.put(counters_key(), c.SerializeAsString());
  return Status::ok();
}

Status create_user(storage::StateWriter& state, const internal::Command& cmd,
                   internal::CommandResult& result) {
  const auto& op = cmd.create_user();
  if (!cmd.principal().admin()) {
    return Status(Errc::permission_denied, "user " + op.name() + ": only administrators create users");
  }
  TESSERA_TRY(check_user_name(op.name(), "user"));
  TESSERA_ASSIGN_OR_RETURN(auto c, load_counters(state));
  TESSERA_ASSIGN_OR_RETURN(auto existing, state.get(user_key(op.name())));
  if (existing) return error(Errc::already_exists, "user " + op.name());
  internal::UserRecord u;
  u.set_name(op.name());
  u.set_uid(c.next_uid());
  c.set_next_uid(c.next_uid() + 1);
  u.set_admin(op.admin());
  // The primary group is named after the user, as on most Unix systems.
  TESSERA_ASSIGN_OR_RETURN(uint32_t primary, ensure_group(state, c, op.name()));
  u.add_gids(primary);
  for (const auto& g : op.groups()) {
    TESSERA_ASSIGN_OR_RETURN(uint32_t gid, ensure_group(state, c, g));
    if (gid != primary) u.add_gids(gid);
  }
  put_user(state, u);
  state.put(counters_key(), c.SerializeAsString());
  *result.mutable_user() = u;
  return Status::ok();
}

Status create_key(storage::StateWriter& state, const internal::Command& cmd,
                  internal::CommandResult& result) {
  const auto& op = cmd.create_key();
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(user_key(op.user())));
  if (!raw) return error(Errc::not_found, "user " + op.user());
  TESSERA_ASSIGN_OR_RETURN(auto u, parse_record<internal::UserRecord>(*raw, "user"));
  if (!cmd.principal().admin() && cmd.principal().uid() != u.uid()) {
    return Status(Errc::permission_denied,
                  "user " + op.user() + ": only administrators create keys for other users");
  }
  if (op.key_id().empty() || op.secret_sha256().size() != 32) {
    return Status(Errc::invalid_argument, "key: malformed key id or secret digest");
  }
  TESSERA_ASSIGN_OR_RETURN(auto dup, state.get(access_key(op.key_id())));
  if (dup) return error(Errc::already_exists, "key " + op.key_id());
  internal::KeyRecord k;
  k.set_key_id(op.key_id());
  k.set_secret_sha256(op.secret_sha256());
  if (!op.scram_salt().empty()) {
    if (op.scram_iterations() < 4096 || op.scram_stored_key().size() != 32 ||
        op.scram_server_key().size() != 32) {
      return Status(Errc::invalid_argument, "key: malformed SCRAM verifier");
    }
    k.set_scram_salt(op.scram_salt());
    k.set_scram_iterations(op.scram_iterations());
    k.set_scram_stored_key(op.scram_stored_key());
    k.set_scram_server_key(op.scram_server_key());
  }
  k.set_uid(u.uid());
  k.set_created_ms(cmd.now_ms());
  state.put(access_key(op.key_id()), k.SerializeAsString());
  *result.mutable_user() = u;
  return Status::ok();
}

Status create_volume(storage::StateWriter& state, const internal::Command& cmd,
                     internal::CommandResult& result) {
  const auto& op = cmd.create_volume();
  TESSERA_ASSIGN_OR_RETURN(auto parts, ns::split_path(op.path()));
  std::string path = ns::join_path(parts);
  if (!cmd.principal().admin()) {
    return Status(Errc::permission_denied, path + ": only administrators create volumes");
  }
  if (parts.empty()) return error(Errc::already_exists, path);
  if (op.replication() > 7) {
    return Status(Errc::invalid_argument, path + ": replication must be 1..7");
  }
  if (op.data_shards() > kDataShardsMax) {
    return Status(Errc::invalid_argument, path + ": data shards must be 0.." + std::to_string(kDataShardsMax));
  }
  TESSERA_ASSIGN_OR_RETURN(auto existing, state.get(mount_key(path)));
  if (existing) return error(Errc::already_exists, path);
  TESSERA_ASSIGN_OR_RETURN(auto c, load_counters(state));
  internal::VolumeRecord v;
  v.set_id(c.next_volume());
  v.set_path(path);
  v.set_shard(c.next_shard());
  v.set_quota_bytes(op.quota_bytes());
  v.set_replication(op.replication() == 0 ? kDefaultReplication : op.replication());
  v.set_initial_node(op.initial_node());
  v.set_owner_uid(cmd.principal().uid());
  v.set_owner_gid(cmd.principal().gids_size() > 0 ? cmd.principal().gids(0) : 0);
  v.set_created_ms(cmd.now_ms());
  c.set_next_volume(c.next_volume() + 1);
  c.set_next_shard(c.next_shard() + 1);
  allocate_data_shards(state, c, v, op.data_shards(), cmd.now_ms());
  state.put(mount_key(path), v.SerializeAsString());
  state.put(counters_key(), c.SerializeAsString());
  *result.mutable_volume() = v;
  return Status::ok();
}

Status remove_volume(storage::StateWriter& state, const internal::Command& cmd,
                     internal::CommandResult& result) {
  TESSERA_ASSIGN_OR_RETURN(auto parts, ns::split_path(cmd.remove_volume().path()));
  std::string path = ns::join_path(parts);
  if (!cmd.principal().admin()) {
    return Status(Errc::permission_denied, path + ": only administrators remove volumes");
  }
  if (parts.empty()) return Status(Errc::invalid_argument, "/: the root volume cannot be removed");
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(mount_key(path)));
  if (!raw) return Status(Errc::not_found, path + ": no volume is mounted here");
  TESSERA_ASSIGN_OR_RETURN(auto v, parse_record<internal::VolumeRecord>(*raw, "volume"));
  // Volumes mounted inside this one must go first.
  bool nested = false;
  TESSERA_TRY(state.scan(mount_key(path + "/"), mount_key(path + "0"),
                         [&](std::string_view, std::string_view) {
                           nested = true;
                           return false;
                         }));
  if (nested) return Status(Errc::not_empty, path + ": other volumes are mounted inside it");
  state.del(mount_key(path));
  for (uint64_t id : v.data_shards()) state.del(shard_key(id));  // their replicas are dropped
  *result.mutable_volume() = v;
  return Status::ok();
}

// Partition counts are bounded by ns::kPartitionsMax (1024) per request.
constexpr uint32_t kShardsPerRequestMax = 1024;

Status create_shards(storage::StateWriter& state, const internal::Command& cmd,
                     internal::CommandResult& result) {
  const auto& op = cmd.create_shards();
  if (!cmd.principal().admin()) return Status(Errc::permission_denied, "only nodes create shards");
  if (op.count() < 1 || op.count() > kShardsPerRequestMax) {
    return Status(Errc::invalid_argument,
                  "shards: count must be 1.." + std::to_string(kShardsPerRequestMax));
  }
  if (op.replication() < 1 || op.replication() > 7) {
    return Status(Errc::invalid_argument, "shards: replication must be 1..7");
  }
  if (op.table_ino() != 0 && op.stream_ino() != 0) {
    return Status(Errc::invalid_argument,
                  "shards: for stream inode " + std::to_string(op.stream_ino()) +
                      " and table inode " + std::to_string(op.table_ino()) + "; a shard has one");
  }
  TESSERA_ASSIGN_OR_RETURN(auto c, load_counters(state));
  for (uint32_t i = 0; i < op.count(); ++i) {
    internal::ShardRecord s;
    s.set_id(c.next_shard());
    s.set_volume_id(op.volume_id());
    s.set_replication(op.replication());
    s.set_created_ms(cmd.now_ms());
    s.set_initial_node(op.initial_node());
    if (op.table_ino() != 0) {
      s.set_table_ino(op.table_ino());  // a tablet shard: no partition fields
    } else {
      s.set_stream_ino(op.stream_ino());
      s.set_topic(op.topic());
      s.set_partition(op.first_partition() + i);
    }
    c.set_next_shard(c.next_shard() + 1);
    state.put(shard_key(s.id()), s.SerializeAsString());
    result.add_shards(s.id());
  }
  state.put(counters_key(), c.SerializeAsString());
  return Status::ok();
}

// Removing an unknown shard is not an error: removal is retried after
// crashes and must be idempotent.
Status remove_shards(storage::StateWriter& state, const internal::Command& cmd,
                     internal::CommandResult& result) {
  if (!cmd.principal().admin()) return Status(Errc::permission_denied, "only nodes remove shards");
  for (uint64_t id : cmd.remove_shards().shards()) {
    TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(shard_key(id)));
    if (!raw) continue;
    state.del(shard_key(id));
    result.add_shards(id);
  }
  return Status::ok();
}

Status mark_ready(storage::StateWriter& state, const internal::Command& cmd) {
  const auto& op = cmd.mark_ready();
  if (!cmd.principal().admin()) return Status(Errc::permission_denied, "only nodes mark shards ready");
  if (op.volume_id() != 0) {
    // Volumes are keyed by path: find it by id.
    std::optional<std::pair<std::string, internal::VolumeRecord>> found;
    Status inner;
    TESSERA_TRY(state.scan(mount_key(""), "N", [&](std::string_view k, std::string_view v) {
      auto rec = parse_record<internal::VolumeRecord>(v, "volume");
      if (!rec.is_ok()) {
        inner = rec.status();
        return false;
      }
      if (rec->id() != op.volume_id()) return true;
      found.emplace(std::string(k), std::move(rec).value());
      return false;
    }));
    TESSERA_TRY(inner);
    if (!found) return Status(Errc::not_found, "volume " + std::to_string(op.volume_id()) + ": no such volume");
    found->second.set_ready(true);
    state.put(found->first, found->second.SerializeAsString());
    // The volume's data shards are ready with it.
    for (uint64_t id : found->second.data_shards()) {
      TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(shard_key(id)));
      if (!raw) continue;
      TESSERA_ASSIGN_OR_RETURN(auto rec, parse_record<internal::ShardRecord>(*raw, "shard"));
      rec.set_ready(true);
      state.put(shard_key(id), rec.SerializeAsString());
    }
  }
  for (uint64_t id : op.shards()) {
    TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(shard_key(id)));
    if (!raw) return Status(Errc::not_found, "shard " + std::to_string(id) + ": no such shard");
    TESSERA_ASSIGN_OR_RETURN(auto rec, parse_record<internal::ShardRecord>(*raw, "shard"));
    rec.set_ready(true);
    state.put(shard_key(id), rec.SerializeAsString());
  }
  return Status::ok();
}

Status register_node(storage::StateWriter& state, const internal::Command& cmd,
                     internal::CommandResult& result) {
  const auto& op = cmd.register_node();
  if (!cmd.principal().admin()) return Status(Errc::permission_denied, "only nodes register nodes");
  if (op.address().empty() || op.address().size() > 256) {
    return Status(Errc::invalid_argument, "node: address must be host:port");
  }
  TESSERA_ASSIGN_OR_RETURN(auto c, load_counters(state));
  internal::NodeRecord n;
  uint64_t id = op.node_id();
  if (id != 0) {
    TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(node_key(id)));
    if (raw) {
      TESSERA_ASSIGN_OR_RETURN(n, parse_record<internal::NodeRecord>(*raw, "node"));
    }
    if (n.state() == internal::NodeRecord::REMOVED) {
      return Status(Errc::permission_denied, "node " + std::to_string(id) + " was removed from the cluster");
    }
  } else {
    id = c.next_node() == 0 ? 1 : c.next_node();
  }
  if (id >= c.next_node()) {
    c.set_next_node(id + 1);
    state.put(counters_key(), c.SerializeAsString());
  }
  if (n.id() == 0) n.set_joined_ms(cmd.now_ms());
  n.set_id(id);
  n.set_address(op.address());
  n.set_kafka_address(op.kafka_address());
  *n.mutable_labels() = op.labels();
  state.put(node_key(id), n.SerializeAsString());
  *result.mutable_node() = n;
  return Status::ok();
}

Status set_node_state(storage::StateWriter& state, const internal::Command& cmd,
                      internal::CommandResult& result) {
  const auto& op = cmd.set_node_state();
  if (!cmd.principal().admin()) return Status(Errc::permission_denied, "only administrators change nodes");
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(node_key(op.node_id())));
  if (!raw) return Status(Errc::not_found, "node " + std::to_string(op.node_id()) + ": no such node");
  TESSERA_ASSIGN_OR_RETURN(auto n, parse_record<internal::NodeRecord>(*raw, "node"));
  if (n.state() == internal::NodeRecord::REMOVED && op.state() != internal::NodeRecord::REMOVED) {
    return Status(Errc::invalid_argument, "node " + std::to_string(op.node_id()) + " was removed");
  }
  n.set_state(op.state());
  state.put(node_key(n.id()), n.SerializeAsString());
  *result.mutable_node() = n;
  return Status::ok();
}

Status dispatch(storage::StateWriter& state, const internal::Command& cmd,
                internal::CommandResult& result) {
  using C = internal::Command;
  switch (cmd.op_case()) {
    case C::kInitCluster: return init_cluster(state, cmd);
    case C::kCreateUser: return create_user(state, cmd, result);
    case C::kCreateKey: return create_key(state, cmd, result);
    case C::kCreateVolume: return create_volume(state, cmd, result);
    case C::kRemoveVolume: return remove_volume(state, cmd, result);
    case C::kRegisterNode: return register_node(state, cmd, result);
    case C::kSetNodeState: return set_node_state(state, cmd, result);
    case C::kCreateShards: return create_shards(state, cmd, result);
    case C::kRemoveShards: return remove_shards(state, cmd, result);
    case C::kMarkReady: return mark_ready(state, cmd);
    default:
      return Status(Errc::invalid_argument,
                    "command " + std::to_string(cmd.op_case()) + " is not a meta command");
  }
}

}  // namespace

void MetaMachine::apply(LogIndex, const internal::Command& cmd, storage::StateWriter& state,
                        internal::CommandResult& result) {
  Status st = dispatch(state, cmd, result);
  if (!st.is_ok()) ns::set_error(result, st);
}

}  // namespace tessera::cluster
