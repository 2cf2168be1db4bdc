#pragma once
// TesseraFs: the file system a `tessera mount` serves — every FUSE
// operation as a call on the native API (client::Connection), independent
// of libfuse (fuse_ops.cc translates requests and replies).
//
// Identity: the mount acts as the principal of its credentials; the
// server checks every call (access_check.h adds the advisory check that
// open and access need). Nodes: NodeTable (node_table.h). Files: OpenFile
// handles buffer writes and read ahead (open_file.h). Attributes:
// attributes.h. Errors: every failure is a Status whose Errc errno_map.h
// turns into the errno replied; the few answers POSIX wants that no Errc
// names (ENAMETOOLONG, EBUSY for a volume mount point, ENODEV for a table
// or stream opened as a file, ESTALE) are made here.
//
// Cache coherence: attributes and entries are cached by the kernel for the
// mount options' timeouts; open() always refreshes the file's attributes
// (close-to-open: a file closed on another mount is read whole here once
// reopened), and the kernel drops the file's pages on every open. Within
// this mount, reads and truncates first flush every handle of the file,
// and getattr reports the size including bytes still buffered.
//
// Unlinking a file that is still open renames it to `.tessera-hidden-N`
// in its directory and removes it when the last handle closes (as NFS
// clients do), so the open handles keep working.
//
// Thread-safe: FUSE's worker threads call in concurrently. Locks: the
// handle table mutex (never held across calls to the cluster), NodeTable's
// and each OpenFile's own.

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "fuse/access_check.h"
#include "tessera/v1/tessera.pb.h"
#include "fuse/identity_map.h"
#include "fuse/mount_options.h"
#include "fuse/node_table.h"

namespace tessera::client {
class Connection;
}  // namespace tessera::client

namespace tessera::fuse {

class OpenFile;
class DirHandle;

// Longest name and path the server accepts (src/namespace/paths.h).
inline constexpr size_t kNameBytesMax = 255;
inline constexpr size_t kPathBytesMax = 4096;

// A node handed to the kernel with its attributes (st_ino set).
struct Entry {
  uint64_t nodeid = 0;
  struct stat attr {};
};

// Which attributes a setattr changes.
struct AttrChange {
  std::optional<mode_t> mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<uint64_t> size;
  bool times = false;  // atime or mtime: not storable through the native API
};

class TesseraFs {
 public:
  TesseraFs(client::Connection& conn, MountOptions options);
  ~TesseraFs();
  TesseraFs(const TesseraFs&) = delete;
  TesseraFs& operator=(const TesseraFs&) = delete;

  // Resolves the principal, the user table and `root` (a directory) before
  // mounting; fails with what the server said.
  Status start(const std::string& root);

  // Called with a node id whose cached attributes the kernel must drop.
  void set_invalidator(std::function<void(uint64_t nodeid)> fn) { invalidate_ = std::move(fn); }

  const MountOptions& options() const { return options_; }
  const std::string& root() const { return root_; }

  // Every operation returns 0 or the errno to reply, and fills its outputs
  // only on 0. A returned Entry counts one lookup of its node.

  // Namespace.
  int lookup(uint64_t parent, const std::string& name, Entry* out);
  void forget(uint64_t nodeid, uint64_t lookups);
  int getattr(uint64_t nodeid, struct stat* out);
  int setattr(uint64_t nodeid, const AttrChange& change, struct stat* out);
  int readlink(uint64_t nodeid, std::string* out);
  int mkdir(uint64_t parent, const std::string& name, mode_t mode, Entry* out);
  int unlink(uint64_t parent, const std::string& name);
  int rmdir(uint64_t parent, const std::string& name);
  int symlink(const std::string& target, uint64_t parent, const std::string& name, Entry* out);
  int rename(uint64_t parent, const std::string& name, uint64_t new_parent,
             const std::string& new_name, unsigned int flags);
  int link(uint64_t nodeid, uint64_t new_parent, const std::string& new_name, Entry* out);
  int access(uint64_t nodeid, int mask);
  int statfs(struct statvfs* out);
  // The value of xattr `name` (ENODATA when the object has none such).
  int getxattr(uint64_t nodeid, const std::string& name, std::string* out);
  // The names, each NUL-terminated.
  int listxattr(uint64_t nodeid, std::string* out);

  // Directories. Entries are indexed from 0 in the server's order ("." and
  // ".." are the caller's); *out is empty past the end.
  int opendir(uint64_t nodeid, uint64_t* fh);
  int dir_entry(uint64_t fh, size_t index, std::optional<v1::Stat>* out);
  // st_ino and file type of a listed object, without counting a lookup.
  struct stat listed_attr(const v1::Stat& st);
  // st_ino of a node the kernel knows.
  uint64_t st_ino_of(uint64_t nodeid) const { return nodes_->st_ino_of(nodeid); }
  // The Entry of a listed object (counts one lookup).
  int listed_entry(const v1::Stat& st, Entry* out);
  void releasedir(uint64_t fh);

  // Files. open and create hand out the handle id (fuse_file_info::fh).
  int open(uint64_t nodeid, int flags, uint64_t* fh);
  int create(uint64_t parent, const std::string& name, mode_t mode, int flags, Entry* out,
             uint64_t* fh);
  int read(uint64_t fh, uint64_t offset, size_t size, std::string* out);
  int write(uint64_t fh, uint64_t offset, std::string_view data);
  int flush(uint64_t fh);
  // Flushes and forgets the handle; a failure is logged (release has no
  // caller to report to: close() got it from flush).
  void release(uint64_t fh);

  // At unmount (and destroy): flushes every open handle and removes the
  // files unlinked while open, whose handles die with the mount. Returns
  // the first flush failure.
  Status close_all();

 private:
  Result<std::string> path_of(uint64_t nodeid) const;
  // The path of `name` in directory `parent`, or the errno (ENAMETOOLONG,
  // ESTALE for a parent with no path).
  int child_path(uint64_t parent, const std::string& name, std::string* out) const;
  Result<v1::Stat> stat_path(const std::string& path);
  // child_path, then its Stat.
  int stat_child(uint64_t parent, const std::string& name, std::string* path, v1::Stat* out);
  // Removes `path` (not recursively) and forgets it.
  int remove(const std::string& path);
  struct stat attr_of(const v1::Stat& st);
  // Raises the size in `a` to cover bytes still buffered in handles.
  void merge_pending(uint64_t nodeid, struct stat* a) const;
  Entry remember(const v1::Stat& st, const std::string& path);
  void refresh_users_if_unknown(const v1::Stat& st);
  void refresh_users();
  // Whether `path` is the root of a volume (its mount point).
  bool is_volume_root(const std::string& path);
  std::vector<std::shared_ptr<OpenFile>> handles_of(uint64_t nodeid) const;
  std::shared_ptr<OpenFile> file(uint64_t fh) const;
  // Flushes every handle of `nodeid` but `except`.
  Status flush_node(uint64_t nodeid, const OpenFile* except = nullptr);
  // Flushes every handle whose file lies at or below `path`.
  Status flush_below(const std::string& path);
  void drop_caches(uint64_t nodeid);
  // The advisory check (access_check.h) of `want` (R_OK|W_OK|X_OK bits).
  Status check_access(const v1::Stat& st, int want);

  client::Connection& conn_;
  const MountOptions options_;
  std::string root_;
  std::string root_volume_;  // mount path of the volume holding root_
  Principal principal_;
  std::unique_ptr<IdentityMap> ids_;
  std::unique_ptr<NodeTable> nodes_;
  std::function<void(uint64_t)> invalidate_;

  mutable std::mutex mu_;  // guards the members below
  std::map<uint64_t, std::shared_ptr<OpenFile>> files_;
  std::map<uint64_t, std::shared_ptr<DirHandle>> dirs_;
  std::map<uint64_t, std::string> hidden_;  // node → path of its unlinked-while-open file
  std::map<uint64_t, mode_t> final_mode_;   // handle → mode to set once it is released
  uint64_t next_fh_ = 1;
  uint64_t hidden_seq_ = 0;
  int64_t users_refreshed_ms_ = 0;
  std::set<std::string> unknown_owners_;  // owner names the last user table lacked
};

}  // namespace tessera::fuse
