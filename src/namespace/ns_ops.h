#pragma once
// Namespace operations of a volume shard: create (directories, files, tables,
// streams, symlinks, volume mount points), remove, rename, link, set
// attributes (mode, owner, group, ACL, size), and the read-side stat and list.
// Creating or removing an entry needs write on the directory that holds it.

#include "base/status.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

inline constexpr size_t kRemoveInodesMax = 100000;  // per recursive remove command
inline constexpr size_t kListLimitMax = 10000;

Status apply_init_volume(storage::StateWriter& state, const internal::Command& cmd,
                         internal::CommandResult& result);
// A table with CreateObjectOp.ino takes that inode number, which must have
// been reserved (below next_inode) and be unused.
Status apply_create(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
// ReserveInodeOp (administrators, i.e. nodes): result.inode.id is a fresh
// inode number no create will allocate.
Status apply_reserve_inode(VolumeTxn& txn, const internal::Command& cmd,
                           internal::CommandResult& result);
Status apply_remove(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
// Removes a volume mount point entry (administrators only).
Status apply_unmount(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
Status apply_rename(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
Status apply_link(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
Status apply_set_attr(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);

// Stat needs traverse on the way, not read on the object (as in POSIX).
Result<internal::Inode> stat_path(const VolumeView& view, const internal::Principal& who,
                                  std::string_view path);
struct ListPage {
  std::vector<std::pair<std::string, internal::Inode>> entries;
  std::string next_after;  // empty when complete
};
// Lists a directory (read permission), or returns the object itself when
// `path` is not a directory.
Result<ListPage> list_path(const VolumeView& view, const internal::Principal& who,
                           std::string_view path, std::string_view after, size_t limit);

}  // namespace tessera::ns
