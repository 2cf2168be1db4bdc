// TesseraFs: construction and node and handle bookkeeping. The operations
// are in tessera_fs_names.cc (namespace), tessera_fs_dirs.cc (directories,
// statfs, xattrs) and tessera_fs_files.cc (files).

#include "fuse/tessera_fs.h"

#include <unistd.h>

#include <chrono>

#include "client/connection.h"
#include "fuse/attributes.h"
#include "fuse/errno_map.h"
#include "fuse/open_file.h"

namespace tessera::fuse {
namespace {

// The user table is fetched again on an unknown owner at most this often.
constexpr int64_t kUsersRefreshMs = 5'000;
constexpr size_t kUnknownOwnersMax = 1024;

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

Status TesseraFs::close_all() {
  Status flushed = flush_below("/");
  std::map<uint64_t, std::string> hidden;
  {
    std::lock_guard lk(mu_);
    hidden.swap(hidden_);
  }
  for (const auto& [node, path] : hidden) (void)remove(path);
  return flushed;
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

}  // namespace tessera::fuse
