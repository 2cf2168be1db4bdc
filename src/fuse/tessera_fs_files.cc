// TesseraFs: the file operations (open, create, read, write, flush,
// release).

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "client/connection.h"
#include "fuse/attributes.h"
#include "fuse/errno_map.h"
#include "fuse/open_file.h"
#include "fuse/tessera_fs.h"

namespace tessera::fuse {
namespace {

// The rights an open(2) with `flags` needs (access(2) mask bits).
int rights_for(int flags) {
  switch (flags & O_ACCMODE) {
    case O_WRONLY: return W_OK;
    case O_RDWR: return R_OK | W_OK;
    default: return R_OK;
  }
}

}  // namespace

int TesseraFs::open(uint64_t nodeid, int flags, uint64_t* fh) {
  auto path = path_of(nodeid);
  if (!path.is_ok()) return ESTALE;
  auto st = stat_path(*path);
  if (!st.is_ok()) return errno_of(st.status());
  if (is_directory(st->kind())) return EISDIR;
  if (st->kind() == v1::KIND_SYMLINK) return ELOOP;  // the kernel follows links itself
  if (!is_file(st->kind())) return kOpenRefusedErrno;
  if (Status s = check_access(*st, rights_for(flags)); !s.is_ok()) return errno_of(s);
  if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY) {
    // O_TRUNC arrives here (FUSE_CAP_ATOMIC_O_TRUNC). Bytes other handles
    // still buffer belong before the truncate.
    bool buffered = false;
    for (const auto& h : handles_of(nodeid)) buffered |= h->pending_end() > 0;
    if (Status s = flush_node(nodeid); !s.is_ok()) return errno_of(s);
    if (st->size() > 0 || buffered) {
      v1::TruncateRequest req;
      req.set_path(*path);
      req.set_size(0);
      auto r = conn_.truncate(req);
      drop_caches(nodeid);
      if (!r.is_ok()) return errno_of(r.status());
    }
  }
  {
    std::lock_guard lk(mu_);
    *fh = next_fh_++;
    files_.emplace(*fh, std::make_shared<OpenFile>(conn_, nodeid, (flags & O_APPEND) != 0));
  }
  // Close-to-open: what another client wrote and closed is visible from
  // this open on, so the kernel must not keep serving older attributes.
  if (invalidate_) invalidate_(nodeid);
  return 0;
}

int TesseraFs::create(uint64_t parent, const std::string& name, mode_t mode, int flags,
                      Entry* out, uint64_t* fh) {
  std::string path;
  if (int e = child_path(parent, name, &path)) return e;
  mode_t perm = mode & 07777;
  // POSIX lets the creator write through this descriptor whatever the mode
  // (git writes its 0444 objects so); the server checks the mode on every
  // write, so the file is created writable by its owner and gets its mode
  // once this handle is released.
  bool defer_mode = (flags & O_ACCMODE) != O_RDONLY && (perm & S_IWUSR) == 0;
  v1::CreateFileRequest req;
  req.set_path(path);
  req.set_mode(defer_mode ? perm | S_IWUSR : perm);
  req.set_exclusive((flags & O_EXCL) != 0);
  req.set_truncate((flags & O_TRUNC) != 0);
  auto r = conn_.create_file(req);
  if (!r.is_ok()) return errno_of(r.status());
  *out = remember(r->stat(), path);
  std::lock_guard lk(mu_);
  *fh = next_fh_++;
  files_.emplace(*fh, std::make_shared<OpenFile>(conn_, out->nodeid, (flags & O_APPEND) != 0));
  if (defer_mode) final_mode_[*fh] = perm;
  return 0;
}

int TesseraFs::read(uint64_t fh, uint64_t offset, size_t size, std::string* out) {
  auto h = file(fh);
  if (!h) return EBADF;
  auto path = path_of(h->nodeid());
  if (!path.is_ok()) return ESTALE;
  // Bytes other handles of this file still buffer must be readable here.
  if (Status s = flush_node(h->nodeid(), h.get()); !s.is_ok()) return errno_of(s);
  auto r = h->read(offset, size, *path);
  if (!r.is_ok()) return errno_of(r.status());
  *out = std::move(*r);
  return 0;
}

int TesseraFs::write(uint64_t fh, uint64_t offset, std::string_view data) {
  auto h = file(fh);
  if (!h) return EBADF;
  auto path = path_of(h->nodeid());
  if (!path.is_ok()) return ESTALE;
  if (Status s = h->write(offset, data, *path); !s.is_ok()) return errno_of(s);
  drop_caches(h->nodeid());
  return 0;
}

int TesseraFs::flush(uint64_t fh) {
  auto h = file(fh);
  if (!h) return EBADF;
  auto path = path_of(h->nodeid());
  if (!path.is_ok()) return ESTALE;
  Status s = h->flush(*path);
  // Appends land where the server's end of file was: the kernel's idea of
  // the size may be behind.
  if (h->append() && invalidate_) invalidate_(h->nodeid());
  return errno_of(s);
}

void TesseraFs::release(uint64_t fh) {
  auto h = file(fh);
  if (!h) return;
  auto path = path_of(h->nodeid());
  if (path.is_ok()) {
    if (Status s = h->flush(*path); !s.is_ok()) {
      spdlog::warn("tessera mount: {}: buffered writes lost at release: {}", *path, s.message());
    }
  }
  std::optional<mode_t> mode;
  std::optional<std::string> hidden;
  {
    std::lock_guard lk(mu_);
    if (auto it = final_mode_.find(fh); it != final_mode_.end()) {
      mode = it->second;
      final_mode_.erase(it);
    }
    files_.erase(fh);
    bool last = true;
    for (const auto& [other, f] : files_) last &= f->nodeid() != h->nodeid();
    auto it = hidden_.find(h->nodeid());
    if (last && it != hidden_.end()) {
      hidden = it->second;
      hidden_.erase(it);
    }
  }
  if (mode && path.is_ok() && !hidden) {
    v1::ChmodRequest req;
    req.set_path(*path);
    req.set_mode(*mode);
    if (auto r = conn_.chmod(req); !r.is_ok()) {
      spdlog::warn("tessera mount: {}: mode not set at release: {}", *path, r.status().message());
    }
  }
  if (hidden) {
    if (int e = remove(*hidden); e != 0) {
      spdlog::warn("tessera mount: {}: unlinked file not removed: {}", *hidden, std::strerror(e));
    }
  }
}

}  // namespace tessera::fuse
