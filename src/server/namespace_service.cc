// tessera.v1.Namespace: stat, list, mkdir, remove, rename, links, mode,
// owner and ACL — for every object kind alike.

#include "namespace/ns_ops.h"
#include "namespace/paths.h"
#include "server/read_view.h"
#include "server/rpc.h"
#include "server/services.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::server {
namespace {

using tessera::v1::ObjectKind;
namespace v1 = tessera::v1;

Result<internal::AclEntry> acl_to_internal(const cluster::MetaReader& meta, const v1::AclEntry& e,
                                           const std::string& path) {
  internal::AclEntry out;
  out.set_deny(e.deny());
  out.set_read(e.read());
  out.set_write(e.write());
  out.set_admin(e.admin());
  if (e.principal_type() == "user") {
    TESSERA_ASSIGN_OR_RETURN(auto u, meta.user(e.name()));
    if (!u) return Status(Errc::invalid_argument, path + ": ACL names unknown user '" + e.name() + "'");
    out.set_id(u->uid());
  } else if (e.principal_type() == "group") {
    TESSERA_ASSIGN_OR_RETURN(auto g, meta.group(e.name()));
    if (!g) return Status(Errc::invalid_argument, path + ": ACL names unknown group '" + e.name() + "'");
    out.set_is_group(true);
    out.set_id(g->gid());
  } else {
    return Status(Errc::invalid_argument,
                  path + ": ACL principal type must be 'user' or 'group', not '" + e.principal_type() + "'");
  }
  return out;
}

constexpr int kSymlinkHopsMax = 40;  // as Linux's ELOOP limit

// Normalises a symlink target that may contain "." and ".." components.
Result<std::string> resolve_dots(const std::string& target, const std::string& subject) {
  std::vector<std::string> parts;
  size_t pos = 1;
  while (pos <= target.size()) {
    size_t next = target.find('/', pos);
    if (next == std::string::npos) next = target.size();
    std::string name = target.substr(pos, next - pos);
    if (name == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!name.empty() && name != ".") {
      parts.push_back(name);
    }
    pos = next + 1;
  }
  auto joined = ns::join_path(parts);
  auto norm = Backend::normalise(joined);
  if (!norm.is_ok()) {
    return Status(Errc::invalid_argument, subject + ": symbolic link target is not a valid path");
  }
  return norm;
}

class NamespaceService final : public v1::Namespace::Service {
 public:
  explicit NamespaceService(Backend& b) : b_(b) {}

  grpc::Status Stat(grpc::ServerContext* ctx, const v1::StatRequest* req, v1::StatResponse* resp) override {
    return serve(b_, ctx, "namespace.stat", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      for (int hops = 0;; ++hops) {
        ReadView rv(b_, path);
        TESSERA_TRY(rv.ready());
        TESSERA_ASSIGN_OR_RETURN(auto n, ns::stat_path(rv.view(), who, path));
        if (!req->follow_symlinks() || n.kind() != ObjectKind::KIND_SYMLINK) {
          *resp->mutable_stat() = b_.to_stat(n, path, rv.meta(), rv.route());
          return Status::ok();
        }
        if (hops >= kSymlinkHopsMax) {
          return Status(Errc::invalid_argument, req->path() + ": too many levels of symbolic links");
        }
        // A relative target is relative to the directory holding the link.
        std::string target = n.symlink_target();
        if (target.empty() || target[0] != '/') {
          target = path.substr(0, path.rfind('/')) + "/" + target;
        }
        TESSERA_ASSIGN_OR_RETURN(path, resolve_dots(target, req->path()));
      }
    });
  }

  grpc::Status List(grpc::ServerContext* ctx, const v1::ListRequest* req, v1::ListResponse* resp) override {
    return serve(b_, ctx, "namespace.list", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      ReadView rv(b_, path);
      TESSERA_TRY(rv.ready());
      TESSERA_ASSIGN_OR_RETURN(auto page, ns::list_path(rv.view(), who, path, req->page_token(), req->limit()));
      TESSERA_ASSIGN_OR_RETURN(auto self, ns::stat_path(rv.view(), who, path));
      bool is_dir = self.kind() == ObjectKind::KIND_DIRECTORY;
      for (auto& [name, inode] : page.entries) {
        std::string child = !is_dir ? path : (path == "/" ? "/" + name : path + "/" + name);
        *resp->add_entries() = b_.to_stat(inode, child, rv.meta(), rv.route());
      }
      resp->set_next_page_token(page.next_after);
      return Status::ok();
    });
  }

  grpc::Status Mkdir(grpc::ServerContext* ctx, const v1::MkdirRequest* req, v1::MkdirResponse* resp) override {
    return serve(b_, ctx, "namespace.mkdir", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      TESSERA_ASSIGN_OR_RETURN(auto parts, ns::split_path(path));
      // mkdir -p creates each missing ancestor in turn (possibly in other volumes).
      size_t first = req->parents() ? 1 : parts.size();
      for (size_t i = first; i <= parts.size(); ++i) {
        std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<long>(i));
        std::string p = ns::join_path(prefix);
        Route r = b_.route(p);
        if (r.volume.path() == p) continue;  // a volume root exists by definition
        internal::Command cmd;
        auto* c = cmd.mutable_create();
        c->set_path(p);
        c->set_kind(ObjectKind::KIND_DIRECTORY);
        c->set_mode(i == parts.size() ? req->mode() : 0);
        c->set_parents(req->parents());
        if (i == parts.size()) {
          // The Stat comes from the command's result: this node may hold no
          // replica to read it back from.
          TESSERA_ASSIGN_OR_RETURN(*resp->mutable_stat(), b_.propose_stat(p, std::move(cmd), who));
          return Status::ok();
        }
        TESSERA_TRY(status_of(b_.propose(r.shard, cmd, who)));
      }
      // `path` is a volume root: nothing was created there.
      ReadView rv(b_, path);
      TESSERA_TRY(rv.ready());
      TESSERA_ASSIGN_OR_RETURN(auto n, ns::stat_path(rv.view(), who, path));
      *resp->mutable_stat() = b_.to_stat(n, path, rv.meta(), rv.route());
      return Status::ok();
    });
  }

  grpc::Status Remove(grpc::ServerContext* ctx, const v1::RemoveRequest* req, v1::RemoveResponse*) override {
    return serve(b_, ctx, "namespace.remove", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      Route r = b_.route(path);
      if (r.volume.path() == path) {
        return Status(Errc::wrong_kind, path + ": is a volume; use `tessera volume rm`");
      }
      internal::Command cmd;
      *cmd.mutable_remove() = *req;
      cmd.mutable_remove()->set_path(path);
      auto res = b_.propose(r.shard, cmd, who);
      // Removed streams and tables leave their partition and tablet shards
      // behind (one nothing refers to is also found and released later,
      // after a crash).
      b_.release_shards({res.shards().begin(), res.shards().end()});
      return status_of(res);
    });
  }

  grpc::Status Rename(grpc::ServerContext* ctx, const v1::RenameRequest* req, v1::RenameResponse*) override {
    return serve(b_, ctx, "namespace.rename", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto src, Backend::normalise(req->src()));
      TESSERA_ASSIGN_OR_RETURN(auto dst, Backend::normalise(req->dst()));
      Route rs = b_.route(src), rd = b_.route(dst);
      if (rs.volume.id() != rd.volume.id()) {
        return Status(Errc::cross_volume, src + " -> " + dst + ": cross-volume rename is not allowed (EXDEV)");
      }
      if (rs.volume.path() == src) return Status(Errc::wrong_kind, src + ": is a volume mount point");
      internal::Command cmd;
      cmd.mutable_rename()->set_src(src);
      cmd.mutable_rename()->set_dst(dst);
      cmd.mutable_rename()->set_no_replace(req->no_replace());
      auto res = b_.propose(rs.shard, cmd, who);
      b_.release_shards({res.shards().begin(), res.shards().end()});  // a replaced stream's or table's
      return status_of(res);
    });
  }

  grpc::Status Symlink(grpc::ServerContext* ctx, const v1::SymlinkRequest* req, v1::SymlinkResponse* resp) override {
    return serve(b_, ctx, "namespace.symlink", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      internal::Command cmd;
      auto* c = cmd.mutable_create();
      c->set_path(path);
      c->set_kind(ObjectKind::KIND_SYMLINK);
      c->set_mode(0777);
      c->set_symlink_target(req->target());
      c->set_exclusive(true);
      return created(path, cmd, who, resp->mutable_stat());
    });
  }

  grpc::Status Link(grpc::ServerContext* ctx, const v1::LinkRequest* req, v1::LinkResponse* resp) override {
    return serve(b_, ctx, "namespace.link", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto src, Backend::normalise(req->src()));
      TESSERA_ASSIGN_OR_RETURN(auto dst, Backend::normalise(req->dst()));
      Route rs = b_.route(src), rd = b_.route(dst);
      if (rs.volume.id() != rd.volume.id()) {
        return Status(Errc::cross_volume, src + " -> " + dst + ": cross-volume link is not allowed (EXDEV)");
      }
      internal::Command cmd;
      cmd.mutable_link()->set_src(src);
      cmd.mutable_link()->set_dst(dst);
      return created(dst, cmd, who, resp->mutable_stat());
    });
  }

  grpc::Status Chmod(grpc::ServerContext* ctx, const v1::ChmodRequest* req, v1::ChmodResponse* resp) override {
    return serve(b_, ctx, "namespace.chmod", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      internal::Command cmd;
      cmd.mutable_set_attr()->set_path(path);
      cmd.mutable_set_attr()->set_set_mode(true);
      cmd.mutable_set_attr()->set_mode(req->mode());
      return created(path, cmd, who, resp->mutable_stat());
    });
  }

  grpc::Status Chown(grpc::ServerContext* ctx, const v1::ChownRequest* req, v1::ChownResponse* resp) override {
    return serve(b_, ctx, "namespace.chown", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      internal::Command cmd;
      auto* op = cmd.mutable_set_attr();
      op->set_path(path);
      {
        ReadView rv(b_, path);
        TESSERA_TRY(rv.ready());
        if (!req->owner().empty()) {
          TESSERA_ASSIGN_OR_RETURN(auto u, rv.meta().user(req->owner()));
          if (!u) return Status(Errc::invalid_argument, path + ": unknown user '" + req->owner() + "'");
          op->set_set_uid(true);
          op->set_uid(u->uid());
        }
        if (!req->group().empty()) {
          TESSERA_ASSIGN_OR_RETURN(auto g, rv.meta().group(req->group()));
          if (!g) return Status(Errc::invalid_argument, path + ": unknown group '" + req->group() + "'");
          op->set_set_gid(true);
          op->set_gid(g->gid());
        }
      }
      return created(path, cmd, who, resp->mutable_stat());
    });
  }

  grpc::Status GetAcl(grpc::ServerContext* ctx, const v1::GetAclRequest* req, v1::GetAclResponse* resp) override {
    return serve(b_, ctx, "namespace.get_acl", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      ReadView rv(b_, path);
      TESSERA_TRY(rv.ready());
      TESSERA_ASSIGN_OR_RETURN(auto n, ns::stat_path(rv.view(), who, path));
      for (const auto& e : n.acl()) {
        auto* o = resp->add_entries();
        o->set_deny(e.deny());
        o->set_principal_type(e.is_group() ? "group" : "user");
        o->set_name(e.is_group() ? rv.meta().group_name(e.id()) : rv.meta().user_name(e.id()));
        o->set_read(e.read());
        o->set_write(e.write());
        o->set_admin(e.admin());
      }
      return Status::ok();
    });
  }

  grpc::Status SetAcl(grpc::ServerContext* ctx, const v1::SetAclRequest* req, v1::SetAclResponse*) override {
    return serve(b_, ctx, "namespace.set_acl", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      internal::Command cmd;
      auto* op = cmd.mutable_set_attr();
      op->set_path(path);
      op->set_set_acl(true);
      {
        ReadView rv(b_, path);
        TESSERA_TRY(rv.ready());
        for (const auto& e : req->entries()) {
          TESSERA_ASSIGN_OR_RETURN(auto ie, acl_to_internal(rv.meta(), e, path));
          *op->add_acl() = ie;
        }
      }
      return status_of(b_.propose(b_.route(path).shard, cmd, who));
    });
  }

 private:
  // Proposes `cmd` to the volume of `path` and fills `out` from the result.
  Status created(const std::string& path, const internal::Command& cmd, const internal::Principal& who,
                 v1::Stat* out) {
    TESSERA_ASSIGN_OR_RETURN(*out, b_.propose_stat(path, cmd, who));
    return Status::ok();
  }

  Backend& b_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_namespace_service(Backend& backend) {
  return std::make_unique<NamespaceService>(backend);
}

}  // namespace tessera::server
