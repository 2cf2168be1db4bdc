// TesseraFs: the namespace operations (lookup, attributes, create and
// remove names, rename, links, access).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "client/connection.h"
#include "fuse/attributes.h"
#include "fuse/errno_map.h"
#include "fuse/tessera_fs.h"

namespace tessera::fuse {
namespace {

// chmod(2) and chown(2) say EPERM where the caller lacks the right to
// change the attribute (not being the owner or the superuser).
int attr_change_errno(const Status& s) {
  return s.code() == Errc::permission_denied ? EPERM : errno_of(s);
}

}  // namespace

int TesseraFs::lookup(uint64_t parent, const std::string& name, Entry* out) {
  std::string path;
  if (int e = child_path(parent, name, &path)) return e;
  auto st = stat_path(path);
  if (!st.is_ok()) return errno_of(st.status());
  *out = remember(*st, path);
  return 0;
}

void TesseraFs::forget(uint64_t nodeid, uint64_t lookups) { nodes_->forget(nodeid, lookups); }

int TesseraFs::getattr(uint64_t nodeid, struct stat* out) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  auto st = stat_path(*path);
  if (!st.is_ok()) return errno_of(st.status());
  // The path now names another object (replaced through another client):
  // the kernel looks the name up again.
  if (!nodes_->is(nodeid, st->volume(), st->inode())) {
    nodes_->drop_path(nodeid, *path);
    return ESTALE;
  }
  *out = attr_of(*st);
  merge_pending(nodeid, out);
  return 0;
}

int TesseraFs::setattr(uint64_t nodeid, const AttrChange& change, struct stat* out) {
  // The native API has no call that sets times; a truncate sets mtime itself.
  if (change.times && !change.size) return ENOSYS;
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  std::optional<v1::Stat> last;
  if (change.mode) {
    v1::ChmodRequest req;
    req.set_path(*path);
    req.set_mode(*change.mode & 07777);
    auto r = conn_.chmod(req);
    if (!r.is_ok()) return attr_change_errno(r.status());
    last = r->stat();
  }
  if (change.uid || change.gid) {
    v1::ChownRequest req;
    req.set_path(*path);
    if (change.uid) {
      auto owner = ids_->owner_of(*change.uid);
      if (!owner) {
        refresh_users();  // a user made since the table was fetched
        owner = ids_->owner_of(*change.uid);
      }
      if (!owner) return EINVAL;
      req.set_owner(*owner);
    }
    if (change.gid) {
      auto group = ids_->group_of(*change.gid);
      if (!group) return EINVAL;
      req.set_group(*group);
    }
    auto r = conn_.chown(req);
    if (!r.is_ok()) return attr_change_errno(r.status());
    last = r->stat();
  }
  if (change.size) {
    if (Status s = flush_node(nodeid); !s.is_ok()) return errno_of(s);
    v1::TruncateRequest req;
    req.set_path(*path);
    req.set_size(*change.size);
    auto r = conn_.truncate(req);
    drop_caches(nodeid);
    if (!r.is_ok()) return errno_of(r.status());
    last = r->stat();
  }
  if (!last) {
    auto st = stat_path(*path);
    if (!st.is_ok()) return errno_of(st.status());
    last = std::move(*st);
  }
  *out = attr_of(*last);
  merge_pending(nodeid, out);
  return 0;
}

int TesseraFs::readlink(uint64_t nodeid, std::string* out) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  auto st = stat_path(*path);
  if (!st.is_ok()) return errno_of(st.status());
  if (st->kind() != v1::KIND_SYMLINK) return EINVAL;
  *out = st->symlink_target();
  return 0;
}

int TesseraFs::mkdir(uint64_t parent, const std::string& name, mode_t mode, Entry* out) {
  std::string path;
  if (int e = child_path(parent, name, &path)) return e;
  v1::MkdirRequest req;
  req.set_path(path);
  req.set_mode(mode & 07777);
  auto r = conn_.mkdir(req);
  if (!r.is_ok()) return errno_of(r.status());
  *out = remember(r->stat(), path);
  return 0;
}

int TesseraFs::stat_child(uint64_t parent, const std::string& name, std::string* path,
                          v1::Stat* out) {
  if (int e = child_path(parent, name, path)) return e;
  auto st = stat_path(*path);
  if (!st.is_ok()) return errno_of(st.status());
  *out = std::move(*st);
  return 0;
}

int TesseraFs::remove(const std::string& path) {
  v1::RemoveRequest req;
  req.set_path(path);
  auto r = conn_.remove(req);
  if (!r.is_ok()) return errno_of(r.status());
  nodes_->unlinked(path);
  return 0;
}

int TesseraFs::unlink(uint64_t parent, const std::string& name) {
  std::string path;
  v1::Stat st;
  if (int e = stat_child(parent, name, &path, &st)) return e;
  if (is_directory(st.kind())) return EISDIR;
  auto node = nodes_->find(st.volume(), st.inode());
  if (node && st.nlink() <= 1 && !handles_of(*node).empty()) {
    // Still open here: keep it under a hidden name until the last close.
    std::string dir = path.substr(0, path.rfind('/'));
    if (dir.empty()) dir = "/";
    std::string hidden;
    {
      std::lock_guard lk(mu_);
      hidden = join_path(dir, ".tessera-hidden-" + std::to_string(*node) + "-" +
                                  std::to_string(++hidden_seq_));
    }
    if (Status s = flush_node(*node); !s.is_ok()) return errno_of(s);
    v1::RenameRequest req;
    req.set_src(path);
    req.set_dst(hidden);
    req.set_no_replace(true);
    auto r = conn_.rename(req);
    if (!r.is_ok()) return errno_of(r.status());
    nodes_->renamed(path, hidden);
    std::lock_guard lk(mu_);
    hidden_[*node] = hidden;
    return 0;
  }
  return remove(path);
}

int TesseraFs::rmdir(uint64_t parent, const std::string& name) {
  std::string path;
  v1::Stat st;
  if (int e = stat_child(parent, name, &path, &st)) return e;
  if (!is_directory(st.kind())) return ENOTDIR;
  if (st.volume() == path) return EBUSY;  // a volume's mount point
  return remove(path);
}

int TesseraFs::symlink(const std::string& target, uint64_t parent, const std::string& name,
                       Entry* out) {
  std::string path;
  if (int e = child_path(parent, name, &path)) return e;
  if (target.empty()) return ENOENT;
  if (target.size() > kPathBytesMax) return ENAMETOOLONG;
  v1::SymlinkRequest req;
  req.set_path(path);
  req.set_target(target);
  auto r = conn_.symlink(req);
  if (!r.is_ok()) return errno_of(r.status());
  *out = remember(r->stat(), path);
  return 0;
}

int TesseraFs::rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                      const std::string& new_name, unsigned int flags) {
  // RENAME_EXCHANGE needs an atomic swap the native API does not offer.
  if ((flags & ~static_cast<unsigned int>(RENAME_NOREPLACE)) != 0) return EINVAL;
  std::string src, dst;
  if (int e = child_path(parent, name, &src)) return e;
  if (int e = child_path(new_parent, new_name, &dst)) return e;
  // Write streams name their file by path: finish those the rename moves
  // or replaces first.
  if (Status s = flush_below(src); !s.is_ok()) return errno_of(s);
  if (Status s = flush_below(dst); !s.is_ok()) return errno_of(s);
  v1::RenameRequest req;
  req.set_src(src);
  req.set_dst(dst);
  req.set_no_replace((flags & RENAME_NOREPLACE) != 0);
  auto r = conn_.rename(req);
  if (!r.is_ok()) {
    Errc code = r.status().code();
    // A volume's mount point cannot move (EBUSY, as for any mount point).
    // The server says wrong_kind within its volume, cross_volume when the
    // mount point itself is the source or the destination.
    if (code == Errc::wrong_kind) return EBUSY;
    if (code == Errc::cross_volume && (is_volume_root(src) || is_volume_root(dst))) return EBUSY;
    return errno_of(r.status());
  }
  nodes_->renamed(src, dst);
  return 0;
}

bool TesseraFs::is_volume_root(const std::string& path) {
  auto st = stat_path(path);
  return st.is_ok() && st->volume() == path;
}

int TesseraFs::link(uint64_t nodeid, uint64_t new_parent, const std::string& new_name,
                    Entry* out) {
  auto src = path_of(nodeid);
  if (!src.is_ok()) return ESTALE;
  std::string dst;
  if (int e = child_path(new_parent, new_name, &dst)) return e;
  v1::LinkRequest req;
  req.set_src(*src);
  req.set_dst(dst);
  auto r = conn_.link(req);
  if (!r.is_ok()) {
    // is_a_directory: hard links to directories are refused (EPERM in POSIX).
    return r.status().code() == Errc::is_a_directory ? EPERM : errno_of(r.status());
  }
  *out = remember(r->stat(), dst);
  return 0;
}

int TesseraFs::access(uint64_t nodeid, int mask) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  auto st = stat_path(*path);
  if (!st.is_ok()) return errno_of(st.status());
  int want = mask & (R_OK | W_OK | X_OK);
  return errno_of(check_access(*st, want));
}
}  // namespace tessera::fuse
