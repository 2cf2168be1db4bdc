// tessera.v1.Admin: volumes, users, access keys, node status, and the
// cluster's nodes and health.

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "server/node_info.h"
#include "server/rpc.h"
#include "server/services.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
const ShardId kMeta(cluster::kMetaShard);

void fill_user(const cluster::MetaReader& meta, const internal::UserRecord& u, v1::User* out) {
  out->set_name(u.name());
  out->set_uid(u.uid());
  out->set_admin(u.admin());
  for (auto gid : u.gids()) out->add_groups(meta.group_name(gid));
}

std::string node_subject(uint64_t id) { return "node " + std::to_string(id); }

std::string_view node_state_name(internal::NodeRecord::State s) {
  switch (s) {
    case internal::NodeRecord::DRAINING: return "draining";
    case internal::NodeRecord::REMOVED: return "removed";
    default: return "active";
  }
}

void fill_node(const internal::NodeRecord& n, v1::Node* out) {
  out->set_id(n.id());
  out->set_address(n.address());
  for (const auto& [k, v] : n.labels()) (*out->mutable_labels())[k] = v;
  out->set_state(std::string(node_state_name(n.state())));
  out->set_joined_ms(n.joined_ms());
}

// The replicas `node` holds according to the health document `doc` (its
// "shards" entry); nullopt when the document does not list the node.
Result<std::optional<uint64_t>> replicas_in_health(const std::string& doc, uint64_t node) {
  auto bad = Status(Errc::internal, "cluster health: malformed document");
  auto j = nlohmann::json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad;
  auto nodes = j.find("nodes");
  if (nodes == j.end() || !nodes->is_array()) return bad;
  for (const auto& n : *nodes) {
    if (!n.is_object()) return bad;
    auto id = n.find("id");
    auto shards = n.find("shards");
    if (id == n.end() || !id->is_number_unsigned() || shards == n.end() ||
        !shards->is_number_unsigned()) {
      return bad;
    }
    if (id->get<uint64_t>() == node) return std::optional<uint64_t>(shards->get<uint64_t>());
  }
  return std::optional<uint64_t>();
}

class AdminService final : public v1::Admin::Service {
 public:
  AdminService(Backend& b, const NodeInfo& info) : b_(b), info_(info) {}

  grpc::Status CreateVolume(grpc::ServerContext* ctx, const v1::CreateVolumeRequest* req,
                            v1::CreateVolumeResponse* resp) override {
    return serve(b_, ctx, "admin.create_volume", [&](const internal::Principal& who) -> tessera::Status {
      TESSERA_ASSIGN_OR_RETURN(auto v, b_.create_volume(who, req->path(), req->quota_bytes(), req->replication()));
      auto* o = resp->mutable_volume();
      o->set_path(v.path());
      o->set_id(v.id());
      o->set_quota_bytes(v.quota_bytes());
      o->set_replication(v.replication());
      o->set_shard(v.shard());
      return Status::ok();
    });
  }

  grpc::Status ListVolumes(grpc::ServerContext* ctx, const v1::ListVolumesRequest*,
                           v1::ListVolumesResponse* resp) override {
    return serve(b_, ctx, "admin.list_volumes", [&](const internal::Principal&) -> tessera::Status {
      TESSERA_ASSIGN_OR_RETURN(auto vols, b_.list_volumes());
      for (auto& v : vols) *resp->add_volumes() = std::move(v);
      return Status::ok();
    });
  }

  grpc::Status RemoveVolume(grpc::ServerContext* ctx, const v1::RemoveVolumeRequest* req,
                            v1::RemoveVolumeResponse*) override {
    return serve(b_, ctx, "admin.remove_volume", [&](const internal::Principal& who) -> tessera::Status {
      return b_.remove_volume(who, req->path());
    });
  }

  grpc::Status CreateUser(grpc::ServerContext* ctx, const v1::CreateUserRequest* req,
                          v1::CreateUserResponse* resp) override {
    return serve(b_, ctx, "admin.create_user", [&](const internal::Principal& who) -> tessera::Status {
      internal::Command cmd;
      auto* op = cmd.mutable_create_user();
      op->set_name(req->name());
      *op->mutable_groups() = req->groups();
      op->set_admin(req->admin());
      TESSERA_ASSIGN_OR_RETURN(auto res, b_.propose_ok(kMeta, cmd, who));
      with_meta([&](const cluster::MetaReader& m) { fill_user(m, res.user(), resp->mutable_user()); });
      return Status::ok();
    });
  }

  grpc::Status ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest*,
                         v1::ListUsersResponse* resp) override {
    return serve(b_, ctx, "admin.list_users", [&](const internal::Principal&) -> tessera::Status {
      tessera::Status st;
      with_meta([&](const cluster::MetaReader& m) {
        auto users = m.users();
        if (!users.is_ok()) {
          st = users.status();
          return;
        }
        for (const auto& u : *users) fill_user(m, u, resp->add_users());
      });
      return st;
    });
  }

  grpc::Status CreateKey(grpc::ServerContext* ctx, const v1::CreateKeyRequest* req,
                         v1::CreateKeyResponse* resp) override {
    return serve(b_, ctx, "admin.create_key", [&](const internal::Principal& who) -> tessera::Status {
      std::string key_id = "TK" + cluster::random_hex(10);
      std::string secret = cluster::random_hex(20);
      internal::Command cmd;
      auto* op = cmd.mutable_create_key();
      *op = Backend::key_op(req->user().empty() ? who.name() : req->user(), key_id, secret);
      TESSERA_TRY(b_.propose_ok(kMeta, cmd, who).status());
      resp->set_user(op->user());
      resp->set_key_id(key_id);
      resp->set_secret(secret);
      return Status::ok();
    });
  }

  grpc::Status WhoAmI(grpc::ServerContext* ctx, const v1::WhoAmIRequest*, v1::WhoAmIResponse* resp) override {
    return serve(b_, ctx, "admin.whoami", [&](const internal::Principal& who) -> tessera::Status {
      with_meta([&](const cluster::MetaReader& m) {
        auto u = m.user(who.name());
        if (u.is_ok() && u->has_value()) fill_user(m, **u, resp->mutable_user());
      });
      return Status::ok();
    });
  }

  grpc::Status Status(grpc::ServerContext* ctx, const v1::StatusRequest*, v1::StatusResponse* resp) override {
    return serve(b_, ctx, "admin.status", [&](const internal::Principal&) -> tessera::Status {
      resp->set_node_id(info_.node_id);
      resp->set_version(info_.version);
      resp->set_data_dir(info_.data_dir);
      resp->set_grpc_addr(info_.grpc_addr);
      resp->set_http_addr(info_.http_addr);
      resp->set_uptime_ms(now_ms() - info_.started_ms);
      TESSERA_ASSIGN_OR_RETURN(auto vols, b_.list_volumes());
      resp->set_volumes(static_cast<uint32_t>(vols.size()));
      resp->set_shards(static_cast<uint32_t>(vols.size() + 1));
      for (const auto& v : vols) {
        auto st = b_.volume_state(ShardId(v.shard()));
        if (!st.is_ok()) continue;
        resp->set_files_bytes(resp->files_bytes() + st->files_bytes());
        resp->set_tables_bytes(resp->tables_bytes() + st->tables_bytes());
        resp->set_streams_bytes(resp->streams_bytes() + st->streams_bytes());
      }
      return tessera::Status::ok();
    });
  }

  grpc::Status ClusterHealth(grpc::ServerContext* ctx, const v1::ClusterHealthRequest*,
                             v1::ClusterHealthResponse* resp) override {
    return serve(b_, ctx, "admin.cluster_health", [&](const internal::Principal&) -> tessera::Status {
      TESSERA_ASSIGN_OR_RETURN(auto doc, health_json());
      resp->set_json(std::move(doc));
      return Status::ok();
    });
  }

  grpc::Status ListNodes(grpc::ServerContext* ctx, const v1::ListNodesRequest*,
                         v1::ListNodesResponse* resp) override {
    return serve(b_, ctx, "admin.list_nodes", [&](const internal::Principal&) -> tessera::Status {
      TESSERA_ASSIGN_OR_RETURN(auto nodes, read_nodes());
      for (const auto& n : nodes) fill_node(n, resp->add_nodes());
      return Status::ok();
    });
  }

  grpc::Status DrainNode(grpc::ServerContext* ctx, const v1::NodeRequest* req,
                         v1::NodeResponse* resp) override {
    return serve(b_, ctx, "admin.drain_node", [&](const internal::Principal& who) -> tessera::Status {
      return set_node_state(who, req->id(), internal::NodeRecord::DRAINING, resp);
    });
  }

  grpc::Status RemoveNode(grpc::ServerContext* ctx, const v1::NodeRequest* req,
                          v1::NodeResponse* resp) override {
    return serve(b_, ctx, "admin.remove_node", [&](const internal::Principal& who) -> tessera::Status {
      return set_node_state(who, req->id(), internal::NodeRecord::REMOVED, resp);
    });
  }

 private:
  Result<std::string> health_json() const {
    if (!info_.cluster_health_json) {
      return tessera::Status(Errc::unavailable, "cluster health is not available on this node");
    }
    return info_.cluster_health_json();
  }

  // The node table, after this replica of the meta shard caught up with the
  // meta leader (so a drain acknowledged anywhere is visible).
  Result<std::vector<internal::NodeRecord>> read_nodes() {
    TESSERA_TRY(b_.read_barrier(kMeta));
    Result<std::vector<internal::NodeRecord>> nodes =
        tessera::Status(Errc::internal, "node table: not read");
    with_meta([&](const cluster::MetaReader& m) { nodes = m.nodes(); });
    return nodes;
  }

  // DrainNode and RemoveNode: administrators only; the target must exist;
  // asking for the state a node already has changes nothing. Removal also
  // needs the health document to show the node holding no replicas.
  tessera::Status set_node_state(const internal::Principal& who, uint64_t id,
                                 internal::NodeRecord::State state, v1::NodeResponse* resp) {
    bool remove = state == internal::NodeRecord::REMOVED;
    if (!who.admin()) {
      return tessera::Status(Errc::permission_denied,
                             node_subject(id) + ": permission denied (only administrators " +
                                 (remove ? "remove" : "drain") + " nodes)");
    }
    TESSERA_ASSIGN_OR_RETURN(auto nodes, read_nodes());
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const auto& n) { return n.id() == id; });
    if (it == nodes.end()) return error(Errc::not_found, node_subject(id));
    if (it->state() == state) {
      fill_node(*it, resp->mutable_node());
      return Status::ok();
    }
    if (remove) {
      TESSERA_ASSIGN_OR_RETURN(auto doc, health_json());
      TESSERA_ASSIGN_OR_RETURN(auto replicas, replicas_in_health(doc, id));
      if (!replicas) {
        return tessera::Status(Errc::unavailable,
                               node_subject(id) + ": not in the cluster health yet; try again shortly");
      }
      if (*replicas > 0) {
        return tessera::Status(Errc::not_empty,
                               node_subject(id) + " still holds " + std::to_string(*replicas) +
                                   (*replicas == 1 ? " replica" : " replicas") +
                                   "; run `tessera node drain " + std::to_string(id) +
                                   "` and wait until it holds none");
      }
    }
    internal::Command cmd;
    auto* op = cmd.mutable_set_node_state();
    op->set_node_id(id);
    op->set_state(state);
    TESSERA_ASSIGN_OR_RETURN(auto res, b_.propose_ok(kMeta, cmd, who));
    fill_node(res.node(), resp->mutable_node());
    return Status::ok();
  }

  template <typename Fn>
  void with_meta(Fn&& fn) {
    auto snap = b_.snapshot();
    storage::SnapshotReader r(*snap, kMeta);
    fn(cluster::MetaReader(r));
  }

  Backend& b_;
  const NodeInfo& info_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_admin_service(Backend& backend, const NodeInfo& info) {
  return std::make_unique<AdminService>(backend, info);
}

}  // namespace tessera::server
