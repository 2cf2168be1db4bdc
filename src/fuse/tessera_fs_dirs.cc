// TesseraFs: directories (paged listings), statfs and extended attributes.

#include <cerrno>

#include "client/connection.h"
#include "fuse/attributes.h"
#include "fuse/dir_handle.h"
#include "fuse/errno_map.h"
#include "fuse/tessera_fs.h"

namespace tessera::fuse {
namespace {

// A volume's root directory is inode 1 of its own shard (namespace/keys.h).
constexpr uint64_t kVolumeRootInode = 1;
// statfs of a volume without quota: this much free space.
constexpr uint64_t kUnlimitedFreeBytes = 1ull << 50;
constexpr uint64_t kStatfsBlockBytes = 4096;
constexpr uint64_t kStatfsFiles = 1ull << 32;

}  // namespace

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
