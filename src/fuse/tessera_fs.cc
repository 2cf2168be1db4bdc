// TesseraFs: construction, node bookkeeping and the namespace operations.
// The file operations are in tessera_fs_files.cc.

#include "fuse/tessera_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "client/connection.h"
#include "fuse/attributes.h"
#include "fuse/dir_handle.h"
#include "fuse/errno_map.h"
#include "fuse/open_file.h"

namespace tessera::fuse {
namespace {

// Longest name and path the server accepts (src/namespace/paths.h).
constexpr size_t kNameBytesMax = 255;
constexpr size_t kPathBytesMax = 4096;
// A volume's root directory is inode 1 of its own shard (namespace/keys.h).
constexpr uint64_t kVolumeRootInode = 1;
// The user table is fetched again on an unknown owner at most this often.
constexpr int64_t kUsersRefreshMs = 5'000;
constexpr size_t kUnknownOwnersMax = 1024;
// statfs of a volume without quota: this much free space.
constexpr uint64_t kUnlimitedFreeBytes = 1ull << 50;
constexpr uint64_t kStatfsBlockBytes = 4096;
constexpr uint64_t kStatfsFiles = 1ull << 32;

// chmod(2) and chown(2) say EPERM where the caller lacks the right to
// change the attribute (not being the owner or the superuser).
int attr_change_errno(const Status& s) {
  return s.code() == Errc::permission_denied ? EPERM : errno_of(s);
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TesseraFs::TesseraFs(client::Connection& conn, MountOptions options)
    : conn_(conn), options_(std::move(options)) {}

TesseraFs::~TesseraFs() = default;

Status TesseraFs::start(const std::string& root) {
  TESSERA_ASSIGN_OR_RETURN(v1::WhoAmIResponse who, conn_.who_am_i({}));
  principal_.name = who.user().name();
  principal_.groups.assign(who.user().groups().begin(), who.user().groups().end());
  principal_.admin = who.user().admin();
  ids_ = std::make_unique<IdentityMap>(principal_.name, principal_.groups, ::getuid(), ::getgid());
  refresh_users();
  users_refreshed_ms_ = steady_ms();
  v1::StatRequest req;
  req.set_path(root);
  req.set_follow_symlinks(true);
  TESSERA_ASSIGN_OR_RETURN(v1::StatResponse resp, conn_.stat(req));
  const v1::Stat& st = resp.stat();
  if (!is_directory(st.kind())) return error(Errc::not_a_directory, st.path());
  root_ = st.path();
  root_volume_ = st.volume();
  nodes_ = std::make_unique<NodeTable>(st.volume(), st.inode(), root_);
  return Status::ok();
}

// ------------------------------------------------------------- helpers ---

Result<std::string> TesseraFs::path_of(uint64_t nodeid) const {
  auto p = nodes_->path_of(nodeid);
  // A node whose every path went (removed through this mount) or one the
  // kernel should not know: its handle is stale.
  if (!p) return Status(Errc::not_found, "node " + std::to_string(nodeid) + ": no path");
  return *p;
}

int TesseraFs::child_path(uint64_t parent, const std::string& name, std::string* out) const {
  if (name.size() > kNameBytesMax) return ENAMETOOLONG;
  auto dir = nodes_->path_of(parent);
  if (!dir) return ESTALE;
  *out = join_path(*dir, name);
  if (out->size() > kPathBytesMax) return ENAMETOOLONG;
  return 0;
}

Result<v1::Stat> TesseraFs::stat_path(const std::string& path) {
  v1::StatRequest req;
  req.set_path(path);
  TESSERA_ASSIGN_OR_RETURN(v1::StatResponse resp, conn_.stat(req));
  return std::move(*resp.mutable_stat());
}

void TesseraFs::refresh_users_if_unknown(const v1::Stat& st) {
  if (!ids_->unknown_owner(st.owner())) return;
  {
    // A name not met since the last fetch is fetched at once (a user made
    // after the mount started); names still unknown after it, at most every
    // kUsersRefreshMs.
    std::lock_guard lk(mu_);
    int64_t now = steady_ms();
    bool met = unknown_owners_.count(st.owner()) != 0;
    if (met && now - users_refreshed_ms_ < kUsersRefreshMs) return;
    users_refreshed_ms_ = now;
  }
  refresh_users();
  if (ids_->unknown_owner(st.owner())) {
    std::lock_guard lk(mu_);
    if (unknown_owners_.size() >= kUnknownOwnersMax) unknown_owners_.clear();
    unknown_owners_.insert(st.owner());
  }
}

void TesseraFs::refresh_users() {
  auto users = conn_.list_users({});
  if (!users.is_ok()) return;
  std::vector<std::pair<std::string, uint32_t>> table;
  for (const auto& u : users->users()) table.emplace_back(u.name(), u.uid());
  ids_->set_users(table);
}

struct stat TesseraFs::attr_of(const v1::Stat& st) {
  refresh_users_if_unknown(st);
  struct stat a = to_attr(st, *ids_);
  a.st_ino = nodes_->st_ino(st.volume(), st.inode());
  return a;
}

void TesseraFs::merge_pending(uint64_t nodeid, struct stat* a) const {
  for (const auto& h : handles_of(nodeid)) {
    uint64_t end = h->pending_end();
    if (end > static_cast<uint64_t>(a->st_size)) {
      a->st_size = static_cast<off_t>(end);
      a->st_blocks = static_cast<blkcnt_t>((end + 511) / 512);
    }
  }
}

Entry TesseraFs::remember(const v1::Stat& st, const std::string& path) {
  Entry e;
  e.nodeid = nodes_->remember(st.volume(), st.inode(), path, 1);
  e.attr = attr_of(st);
  merge_pending(e.nodeid, &e.attr);
  return e;
}

std::vector<std::shared_ptr<OpenFile>> TesseraFs::handles_of(uint64_t nodeid) const {
  std::vector<std::shared_ptr<OpenFile>> out;
  std::lock_guard lk(mu_);
  for (const auto& [fh, h] : files_) {
    if (h->nodeid() == nodeid) out.push_back(h);
  }
  return out;
}

std::shared_ptr<OpenFile> TesseraFs::file(uint64_t fh) const {
  std::lock_guard lk(mu_);
  auto it = files_.find(fh);
  return it == files_.end() ? nullptr : it->second;
}

Status TesseraFs::flush_node(uint64_t nodeid, const OpenFile* except) {
  Status first;
  for (const auto& h : handles_of(nodeid)) {
    if (h.get() == except) continue;
    auto path = path_of(nodeid);
    if (!path.is_ok()) return path.status();
    Status s = h->flush(*path);
    if (!s.is_ok() && first.is_ok()) first = std::move(s);
  }
  return first;
}

Status TesseraFs::flush_below(const std::string& path) {
  std::vector<std::shared_ptr<OpenFile>> all;
  {
    std::lock_guard lk(mu_);
    for (const auto& [fh, h] : files_) all.push_back(h);
  }
  Status first;
  for (const auto& h : all) {
    auto p = nodes_->path_of(h->nodeid());
    if (!p || !path_within(*p, path)) continue;
    Status s = h->flush(*p);
    if (!s.is_ok() && first.is_ok()) first = std::move(s);
  }
  return first;
}

void TesseraFs::drop_caches(uint64_t nodeid) {
  for (const auto& h : handles_of(nodeid)) h->drop_cache();
}

Status TesseraFs::flush_all() { return flush_below("/"); }

// ----------------------------------------------------------- namespace ---

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
  // The path now names another object (replaced through another client).
  if (!nodes_->is(nodeid, st->volume(), st->inode())) return ESTALE;
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

Status TesseraFs::check_access(const v1::Stat& st, int want) {
  if (want == 0 || principal_.admin) return Status::ok();
  std::vector<v1::AclEntry> acl;
  if (st.has_acl()) {
    v1::GetAclRequest req;
    req.set_path(st.path());
    TESSERA_ASSIGN_OR_RETURN(v1::GetAclResponse resp, conn_.get_acl(req));
    acl.assign(resp.entries().begin(), resp.entries().end());
  }
  if (!may_access(principal_, st, acl, want)) return error(Errc::permission_denied, st.path());
  return Status::ok();
}

int TesseraFs::access(uint64_t nodeid, int mask) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  auto st = stat_path(*path);
  if (!st.is_ok()) return errno_of(st.status());
  int want = mask & (R_OK | W_OK | X_OK);
  return errno_of(check_access(*st, want));
}

int TesseraFs::statfs(struct statvfs* out) {
  struct statvfs s {};
  s.f_bsize = kStatfsBlockBytes;
  s.f_frsize = kStatfsBlockBytes;
  s.f_namemax = kNameBytesMax;
  s.f_files = kStatfsFiles;
  s.f_ffree = kStatfsFiles;
  s.f_favail = kStatfsFiles;
  uint64_t quota = 0, used = 0;
  auto vols = conn_.list_volumes({});
  if (!vols.is_ok()) return errno_of(vols.status());
  for (const auto& v : vols->volumes()) {
    if (v.path() == root_volume_) {
      quota = v.quota_bytes();
      used = v.used_bytes();
    }
  }
  uint64_t total = quota > 0 ? quota : used + kUnlimitedFreeBytes;
  uint64_t free = total > used ? total - used : 0;
  s.f_blocks = total / kStatfsBlockBytes;
  s.f_bfree = free / kStatfsBlockBytes;
  s.f_bavail = s.f_bfree;
  *out = s;
  return 0;
}

int TesseraFs::getxattr(uint64_t nodeid, const std::string& name, std::string* out) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  auto st = stat_path(*path);
  if (!st.is_ok()) return errno_of(st.status());
  if (name != kKindXattr) return ENODATA;
  bool volume_root = st->volume() == st->path();
  *out = kind_name(volume_root ? v1::KIND_VOLUME : st->kind());
  return 0;
}

int TesseraFs::listxattr(uint64_t nodeid, std::string* out) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  out->assign(kKindXattr);
  out->push_back('\0');
  return 0;
}

// ---------------------------------------------------------- directories ---

int TesseraFs::opendir(uint64_t nodeid, uint64_t* fh) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  std::lock_guard lk(mu_);
  *fh = next_fh_++;
  dirs_.emplace(*fh, std::make_shared<DirHandle>(*path));
  return 0;
}

int TesseraFs::dir_entry(uint64_t fh, size_t index, std::optional<v1::Stat>* out) {
  std::shared_ptr<DirHandle> d;
  {
    std::lock_guard lk(mu_);
    auto it = dirs_.find(fh);
    if (it == dirs_.end()) return EBADF;
    d = it->second;
  }
  auto r = d->entry(conn_, index);
  if (!r.is_ok()) return errno_of(r.status());
  *out = std::move(*r);
  return 0;
}

struct stat TesseraFs::listed_attr(const v1::Stat& st) {
  struct stat a = attr_of(st);
  // A mount point listed in its parent volume: the kernel will meet it as
  // the other volume's root directory.
  if (st.kind() == v1::KIND_VOLUME) a.st_ino = nodes_->st_ino(st.path(), kVolumeRootInode);
  return a;
}

int TesseraFs::listed_entry(const v1::Stat& st, Entry* out) {
  if (st.kind() != v1::KIND_VOLUME) {
    *out = remember(st, st.path());
    return 0;
  }
  auto root = stat_path(st.path());
  if (!root.is_ok()) return errno_of(root.status());
  *out = remember(*root, st.path());
  return 0;
}

void TesseraFs::releasedir(uint64_t fh) {
  std::lock_guard lk(mu_);
  dirs_.erase(fh);
}

}  // namespace tessera::fuse
