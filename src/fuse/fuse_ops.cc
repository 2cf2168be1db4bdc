#include "fuse/fuse_ops.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fuse/attributes.h"

namespace tessera::fuse {
namespace {

// Largest read or write the kernel is asked to send in one request.
constexpr unsigned kMaxWriteBytes = 1 << 20;
constexpr unsigned kMaxReadaheadBytes = 1 << 20;

FuseContext& ctx(fuse_req_t req) { return *static_cast<FuseContext*>(fuse_req_userdata(req)); }
TesseraFs& fs(fuse_req_t req) { return *ctx(req).fs; }

void reply_entry(fuse_req_t req, const Entry& e) {
  fuse_entry_param p;
  std::memset(&p, 0, sizeof(p));
  p.ino = e.nodeid;
  p.generation = 0;  // node ids are never reused within a mount
  p.attr = e.attr;
  p.attr_timeout = ctx(req).attr_timeout_s;
  p.entry_timeout = ctx(req).entry_timeout_s;
  fuse_reply_entry(req, &p);
}

void reply_attr(fuse_req_t req, int err, const struct stat& a) {
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_attr(req, &a, ctx(req).attr_timeout_s);
}

void reply_entry_or_err(fuse_req_t req, int err, const Entry& e) {
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  reply_entry(req, e);
}

void op_init(void* userdata, fuse_conn_info* conn) {
  (void)userdata;
  conn->max_write = kMaxWriteBytes;  // libfuse lowers it to its buffer when needed
  conn->max_readahead = kMaxReadaheadBytes;
  // O_TRUNC reaches open() (TesseraFs truncates there, after its checks).
  conn->want |= conn->capable & FUSE_CAP_ATOMIC_O_TRUNC;
  // Byte-range and flock locks stay in the kernel: local to this host.
  conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

void op_destroy(void* userdata) {
  auto* c = static_cast<FuseContext*>(userdata);
  (void)c->fs->close_all();
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Entry e;
  int err = fs(req).lookup(parent, name, &e);
  reply_entry_or_err(req, err, e);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  fs(req).forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) fs(req).forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat a {};
  int err = fs(req).getattr(ino, &a);
  reply_attr(req, err, a);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  AttrChange c;
  if (to_set & FUSE_SET_ATTR_MODE) c.mode = attr->st_mode;
  if (to_set & FUSE_SET_ATTR_UID) c.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) c.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) c.size = static_cast<uint64_t>(attr->st_size);
  c.times = (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
                       FUSE_SET_ATTR_MTIME_NOW)) != 0;
  struct stat a {};
  int err = fs(req).setattr(ino, c, &a);
  reply_attr(req, err, a);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  std::string target;
  int err = fs(req).readlink(ino, &target);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_readlink(req, target.c_str());
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Entry e;
  int err = fs(req).mkdir(parent, name, mode, &e);
  reply_entry_or_err(req, err, e);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, fs(req).unlink(parent, name));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, fs(req).rmdir(parent, name));
}

void op_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Entry e;
  int err = fs(req).symlink(link, parent, name, &e);
  reply_entry_or_err(req, err, e);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
               const char* newname, unsigned int flags) {
  fuse_reply_err(req, fs(req).rename(parent, name, newparent, newname, flags));
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Entry e;
  int err = fs(req).link(ino, newparent, newname, &e);
  reply_entry_or_err(req, err, e);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  uint64_t fh = 0;
  int err = fs(req).open(ino, fi->flags, &fh);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  fi->direct_io = ctx(req).direct_io ? 1 : 0;
  fi->keep_cache = 0;  // close-to-open: drop the pages on every open
  if (fuse_reply_open(req, fi) != 0) fs(req).release(fh);  // interrupted: no release will come
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  Entry e;
  uint64_t fh = 0;
  int err = fs(req).create(parent, name, mode, fi->flags, &e, &fh);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  fi->direct_io = ctx(req).direct_io ? 1 : 0;
  fi->keep_cache = 0;
  fuse_entry_param p;
  std::memset(&p, 0, sizeof(p));
  p.ino = e.nodeid;
  p.attr = e.attr;
  p.attr_timeout = ctx(req).attr_timeout_s;
  p.entry_timeout = ctx(req).entry_timeout_s;
  if (fuse_reply_create(req, &p, fi) != 0) fs(req).release(fh);
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  std::string data;
  int err = fs(req).read(fi->fh, static_cast<uint64_t>(off), size, &data);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_buf(req, data.data(), data.size());
}

void op_write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off,
              fuse_file_info* fi) {
  int err = fs(req).write(fi->fh, static_cast<uint64_t>(off), std::string_view(buf, size));
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_write(req, size);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  fuse_reply_err(req, fs(req).flush(fi->fh));
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  fuse_reply_err(req, fs(req).flush(fi->fh));
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  fs(req).release(fi->fh);
  fuse_reply_err(req, 0);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  uint64_t fh = 0;
  int err = fs(req).opendir(ino, &fh);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  if (fuse_reply_open(req, fi) != 0) fs(req).releasedir(fh);
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Fills one readdir / readdirplus reply from position `off`: 0 is ".", 1
// is "..", 2 + i the server's entry i; each entry's offset is the next
// position.
void read_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
              bool plus) {
  TesseraFs& f = fs(req);
  std::vector<char> buf(size);
  size_t used = 0;
  int err = 0;
  struct stat self {};
  self.st_mode = S_IFDIR;
  self.st_ino = f.st_ino_of(ino);
  for (auto pos = static_cast<size_t>(off);; ++pos) {
    std::string name;
    std::optional<v1::Stat> st;
    if (pos < 2) {
      name = pos == 0 ? "." : "..";
    } else {
      err = f.dir_entry(fi->fh, pos - 2, &st);
      if (err != 0 || !st) break;
      name = base_name(st->path());
    }
    auto next = static_cast<off_t>(pos + 1);
    if (!plus) {
      size_t need = fuse_add_direntry(req, nullptr, 0, name.c_str(), nullptr, 0);
      if (used + need > size) break;
      struct stat a = st ? f.listed_attr(*st) : self;
      fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &a, next);
      used += need;
      continue;
    }
    size_t need = fuse_add_direntry_plus(req, nullptr, 0, name.c_str(), nullptr, 0);
    if (used + need > size) break;
    fuse_entry_param p;
    std::memset(&p, 0, sizeof(p));
    if (!st) {
      p.attr = self;  // the kernel takes no reference for "." and ".."
    } else {
      Entry e;
      if (f.listed_entry(*st, &e) == 0) {
        p.ino = e.nodeid;
        p.attr = e.attr;
        p.attr_timeout = ctx(req).attr_timeout_s;
        p.entry_timeout = ctx(req).entry_timeout_s;
      } else {
        p.attr = f.listed_attr(*st);  // node id 0: a name without attributes
      }
    }
    fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &p, next);
    used += need;
  }
  if (err != 0 && used == 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  read_dir(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  read_dir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  fs(req).releasedir(fi->fh);
  fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);  // namespace changes are durable when acknowledged
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs s {};
  int err = fs(req).statfs(&s);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_statfs(req, &s);
}

// getxattr and listxattr: size 0 asks for the length.
void reply_xattr_value(fuse_req_t req, int err, const std::string& value, size_t size) {
  if (err != 0) {
    fuse_reply_err(req, err);
  } else if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (size < value.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  std::string value;
  int err = fs(req).getxattr(ino, name, &value);
  reply_xattr_value(req, err, value, size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  std::string names;
  int err = fs(req).listxattr(ino, &names);
  reply_xattr_value(req, err, names, size);
}

void op_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) {
  fuse_reply_err(req, ENOTSUP);
}

void op_removexattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, ENOTSUP); }

void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  fuse_reply_err(req, fs(req).access(ino, mask));
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops o;
  std::memset(&o, 0, sizeof(o));
  o.init = op_init;
  o.destroy = op_destroy;
  o.lookup = op_lookup;
  o.forget = op_forget;
  o.forget_multi = op_forget_multi;
  o.getattr = op_getattr;
  o.setattr = op_setattr;
  o.readlink = op_readlink;
  o.mkdir = op_mkdir;
  o.unlink = op_unlink;
  o.rmdir = op_rmdir;
  o.symlink = op_symlink;
  o.rename = op_rename;
  o.link = op_link;
  o.open = op_open;
  o.create = op_create;
  o.read = op_read;
  o.write = op_write;
  o.flush = op_flush;
  o.fsync = op_fsync;
  o.release = op_release;
  o.opendir = op_opendir;
  o.readdir = op_readdir;
  o.readdirplus = op_readdirplus;
  o.releasedir = op_releasedir;
  o.fsyncdir = op_fsyncdir;
  o.statfs = op_statfs;
  o.getxattr = op_getxattr;
  o.listxattr = op_listxattr;
  o.setxattr = op_setxattr;
  o.removexattr = op_removexattr;
  o.access = op_access;
  return o;
}

}  // namespace

const fuse_lowlevel_ops& lowlevel_ops() {
  static const fuse_lowlevel_ops ops = make_ops();
  return ops;
}

}  // namespace tessera::fuse
