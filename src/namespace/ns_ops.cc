#include "namespace/ns_ops.h"

#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "namespace/paths.h"
#include "namespace/permissions.h"
#include "namespace/stream_ops.h"
#include "namespace/table_map.h"

namespace tessera::ns {

using internal::Inode;
using tessera::v1::ObjectKind;

namespace {

uint32_t default_mode(ObjectKind kind) {
  return kind == ObjectKind::KIND_DIRECTORY || kind == ObjectKind::KIND_VOLUME ? 0755 : 0644;
}

void touch(Inode& n, int64_t now_ms) {
  n.set_mtime_ms(now_ms);
  n.set_ctime_ms(now_ms);
  n.set_version(n.version() + 1);
}

// Adds `delta` entries to directory `dir` and stores it.
void adjust_entries(VolumeTxn& txn, Inode& dir, int64_t delta, int64_t now_ms) {
  dir.set_entries(static_cast<uint64_t>(static_cast<int64_t>(dir.entries()) + delta));
  touch(dir, now_ms);
  txn.put_inode(dir);
}

// Frees an inode's data and the inode itself (its last link is gone). The
// partition shards of a stream and the tablet shards of a table go to
// *released.
Status destroy(VolumeTxn& txn, const Inode& n, std::vector<uint64_t>* released) {
  switch (n.kind()) {
    case ObjectKind::KIND_FILE: TESSERA_TRY(purge_file(txn, n)); break;
    case ObjectKind::KIND_TABLE: TESSERA_TRY(purge_table_data(txn, n, released)); break;
    case ObjectKind::KIND_STREAM: TESSERA_TRY(purge_stream(txn, n, released)); break;
    default: break;
  }
  txn.del_inode(n.id());
  return Status::ok();
}

// Drops one link to `n` (whose entry was already removed).
Status unlink_inode(VolumeTxn& txn, Inode n, int64_t now_ms, std::vector<uint64_t>* released) {
  if (n.kind() != ObjectKind::KIND_DIRECTORY && n.nlink() > 1) {
    n.set_nlink(n.nlink() - 1);
    n.set_ctime_ms(now_ms);
    n.set_version(n.version() + 1);
    txn.put_inode(n);
    return Status::ok();
  }
  return destroy(txn, n, released);
}

// Removes everything below directory `dir`, checking write on each directory.
Status remove_tree(VolumeTxn& txn, const Inode& dir, const internal::Principal& who,
                   std::string_view path, size_t& budget, int64_t now_ms,
                   std::vector<uint64_t>* released) {
  TESSERA_TRY(check_access(dir, who, Access::write, path));
  for (;;) {
    TESSERA_ASSIGN_OR_RETURN(auto batch, txn.list(dir.id(), "", 256));
    if (batch.empty()) return Status::ok();
    for (auto& [name, child] : batch) {
      if (budget == 0) {
        return Status(Errc::resource_exhausted,
                      std::string(path) + ": too many objects for one remove (limit " +
                          std::to_string(kRemoveInodesMax) + "); remove subdirectories first");
      }
      --budget;
      std::string child_path = std::string(path) + "/" + name;
      if (child.kind() == ObjectKind::KIND_VOLUME) {
        return Status(Errc::wrong_kind,
                      child_path + ": is a volume mount point; remove the volume first");
      }
      if (child.kind() == ObjectKind::KIND_DIRECTORY) {
        TESSERA_TRY(remove_tree(txn, child, who, child_path, budget, now_ms, released));
      }
      txn.del_dirent(dir.id(), name);
      TESSERA_TRY(unlink_inode(txn, child, now_ms, released));
    }
  }
}

// True when directory `ancestor` is `ino` or one of its ancestors.
Result<bool> is_ancestor(const VolumeView& view, uint64_t ancestor, uint64_t ino) {
  for (size_t depth = 0; depth < kPathBytesMax; ++depth) {
    if (ino == ancestor) return true;
    if (ino == kRootInode || ino == 0) return false;
    TESSERA_ASSIGN_OR_RETURN(auto n, view.inode_or_corrupt(ino));
    ino = n.parent();
  }
  return Status(Errc::corruption, "directory parent chain too deep");
}

Status check_create_args(const internal::CreateObjectOp& op) {
  switch (op.kind()) {
    case ObjectKind::KIND_DIRECTORY:
    case ObjectKind::KIND_FILE:
    case ObjectKind::KIND_TABLE:
    case ObjectKind::KIND_STREAM:
    case ObjectKind::KIND_VOLUME:
      break;
    case ObjectKind::KIND_SYMLINK:
      if (op.symlink_target().empty() || op.symlink_target().size() > kPathBytesMax) {
        return Status(Errc::invalid_argument, op.path() + ": symlink target must be 1.." +
                                                  std::to_string(kPathBytesMax) + " bytes");
      }
      break;
    default:
      return Status(Errc::invalid_argument, op.path() + ": unknown object kind");
  }
  if (op.mode() > 07777) return Status(Errc::invalid_argument, op.path() + ": mode out of range");
  if (op.retention_age_ms() < 0) {
    return Status(Errc::invalid_argument, op.path() + ": negative retention age");
  }
  if (op.tablet_shard() != 0 && op.kind() != ObjectKind::KIND_TABLE) {
    return Status(Errc::invalid_argument, op.path() + ": only a table has a tablet shard");
  }
  if (op.ino() != 0 && op.tablet_shard() == 0) {
    return Status(Errc::invalid_argument, op.path() + ": only a table with a tablet takes a reserved inode");
  }
  return Status::ok();
}

// Creates one entry `name` of `kind` in `parent` (write permission checked).
Result<Inode> create_entry(VolumeTxn& txn, Inode& parent, const std::string& name,
                           const internal::CreateObjectOp& op, ObjectKind kind,
                           const internal::Command& cmd, std::string_view path) {
  TESSERA_TRY(check_access(parent, cmd.principal(), Access::write, path));
  uint32_t mode = op.mode() != 0 && kind == op.kind() ? op.mode() : default_mode(kind);
  Inode n = txn.new_inode(kind, mode, cmd.principal(), cmd.now_ms());
  // New objects take the group of a setgid directory, as in POSIX.
  if (parent.mode() & 02000) n.set_gid(parent.gid());
  if (kind == ObjectKind::KIND_DIRECTORY) n.set_parent(parent.id());
  if (kind == op.kind()) {
    n.set_symlink_target(op.symlink_target());
    n.set_retention_age_ms(op.retention_age_ms());
    n.set_retention_bytes(op.retention_bytes());
    n.set_mounted_volume(op.mounted_volume());
    if (kind == ObjectKind::KIND_SYMLINK) n.set_size(op.symlink_target().size());
    if (op.ino() != 0) n.set_id(op.ino());
  }
  txn.put_inode(n);
  txn.put_dirent(parent.id(), name, n.id());
  adjust_entries(txn, parent, +1, cmd.now_ms());
  return n;
}

}  // namespace

Status apply_init_volume(storage::StateWriter& state, const internal::Command& cmd,
                         internal::CommandResult& result) {
  const auto& op = cmd.init_volume();
  if (!cmd.principal().admin()) return error(Errc::permission_denied, op.mount_path());
  VolumeView view(state);
  TESSERA_ASSIGN_OR_RETURN(auto existing, state.get(volume_key()));
  if (existing) return error(Errc::already_exists, op.mount_path());
  TESSERA_TRY(split_path(op.mount_path()).status());
  internal::VolumeState vol;
  vol.set_volume_id(op.volume_id());
  vol.set_mount_path(op.mount_path());
  vol.set_quota_bytes(op.quota_bytes());
  vol.set_next_inode(kRootInode + 1);
  TESSERA_TRY(init_data_shards(vol, op));
  state.put(volume_key(), vol.SerializeAsString());
  Inode root;
  root.set_id(kRootInode);
  root.set_kind(ObjectKind::KIND_DIRECTORY);
  root.set_mode(op.mode() != 0 ? op.mode() : 0755);
  root.set_uid(op.owner_uid());
  root.set_gid(op.owner_gid());
  root.set_nlink(1);
  root.set_version(1);
  root.set_mtime_ms(cmd.now_ms());
  root.set_ctime_ms(cmd.now_ms());
  state.put(inode_key(kRootInode), root.SerializeAsString());
  *result.mutable_inode() = root;
  return Status::ok();
}

Status apply_create(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const auto& op = cmd.create();
  TESSERA_TRY(check_create_args(op));
  const auto& who = cmd.principal();
  TESSERA_ASSIGN_OR_RETURN(auto parts, split_path(op.path()));
  TESSERA_ASSIGN_OR_RETURN(auto pr, txn.resolve_parent(op.path(), who));
  if (pr.child) {
    Inode& existing = *pr.child;
    if (op.kind() == ObjectKind::KIND_DIRECTORY && op.parents() &&
        existing.kind() == ObjectKind::KIND_DIRECTORY) {
      *result.mutable_inode() = existing;
      return Status::ok();
    }
    if (op.exclusive() || existing.kind() != op.kind() || op.kind() != ObjectKind::KIND_FILE) {
      return error(Errc::already_exists, op.path());
    }
    // Opening an existing file (O_CREAT without O_EXCL), maybe truncating it.
    if (op.truncate()) {
      TESSERA_TRY(check_access(existing, who, Access::write, op.path()));
      TESSERA_TRY(truncate_file(txn, existing, 0, cmd.now_ms(), op.path()));
    }
    *result.mutable_inode() = existing;
    return Status::ok();
  }
  if (op.ino() != 0) {
    TESSERA_ASSIGN_OR_RETURN(auto taken, txn.inode(op.ino()));
    if (op.ino() >= txn.vol().next_inode() || taken) {
      return Status(Errc::invalid_argument, op.path() + ": inode " + std::to_string(op.ino()) +
                                                " was not reserved or is taken");
    }
  }
  TESSERA_ASSIGN_OR_RETURN(auto n, create_entry(txn, pr.parent, pr.name, op, op.kind(), cmd, op.path()));
  if (op.tablet_shard() != 0) put_first_tablet(txn, n.id(), op.tablet_shard());
  *result.mutable_inode() = n;
  return Status::ok();
}

Status apply_reserve_inode(VolumeTxn& txn, const internal::Command& cmd,
                           internal::CommandResult& result) {
  if (!cmd.principal().admin()) {
    return Status(Errc::permission_denied, txn.vol().mount_path() + ": only nodes reserve inode numbers");
  }
  auto& vol = txn.vol();
  result.mutable_inode()->set_id(vol.next_inode());
  vol.set_next_inode(vol.next_inode() + 1);
  return Status::ok();
}

// result.shards: the partition shards of the streams and the tablet shards
// of the tables removed (as in a rename that replaces one), for the caller
// to remove.
Status apply_remove(VolumeTxn& txn, const internal::Command& cmd,
                    internal::CommandResult& result) {
  const auto& req = cmd.remove();
  const auto& who = cmd.principal();
  TESSERA_ASSIGN_OR_RETURN(auto pr, txn.resolve_parent(req.path(), who));
  if (!pr.child) return error(Errc::not_found, req.path());
  TESSERA_TRY(check_access(pr.parent, who, Access::write, req.path()));
  Inode n = *pr.child;
  // Sticky directories: only the owner of the entry or the directory may remove it.
  if ((pr.parent.mode() & 01000) && !who.admin() && who.uid() != n.uid() &&
      who.uid() != pr.parent.uid()) {
    return error(Errc::permission_denied, req.path());
  }
  if (n.kind() == ObjectKind::KIND_VOLUME) {
    return Status(Errc::wrong_kind, req.path() + ": is a volume; use `tessera volume rm`");
  }
  std::vector<uint64_t> released;  // shards of removed streams and tables
  if (n.kind() == ObjectKind::KIND_DIRECTORY) {
    if (n.entries() > 0 && !req.recursive()) return error(Errc::not_empty, req.path());
    size_t budget = kRemoveInodesMax;
    TESSERA_TRY(remove_tree(txn, n, who, req.path(), budget, cmd.now_ms(), &released));
  }
  txn.del_dirent(pr.parent.id(), pr.name);
  adjust_entries(txn, pr.parent, -1, cmd.now_ms());
  TESSERA_TRY(unlink_inode(txn, n, cmd.now_ms(), &released));
  for (uint64_t shard : released) result.add_shards(shard);
  return Status::ok();
}

Status apply_unmount(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult&) {
  const auto& req = cmd.unmount();
  if (!cmd.principal().admin()) return error(Errc::permission_denied, req.path());
  TESSERA_ASSIGN_OR_RETURN(auto pr, txn.resolve_parent(req.path(), cmd.principal()));
  if (!pr.child) return error(Errc::not_found, req.path());
  if (pr.child->kind() != ObjectKind::KIND_VOLUME) {
    return Status(Errc::wrong_kind, req.path() + ": is not a volume mount point");
  }
  txn.del_dirent(pr.parent.id(), pr.name);
  adjust_entries(txn, pr.parent, -1, cmd.now_ms());
  txn.del_inode(pr.child->id());
  return Status::ok();
}

Status apply_rename(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const auto& req = cmd.rename();
  const auto& who = cmd.principal();
  TESSERA_ASSIGN_OR_RETURN(auto src, txn.resolve_parent(req.src(), who));
  if (!src.child) return error(Errc::not_found, req.src());
  TESSERA_ASSIGN_OR_RETURN(auto dst, txn.resolve_parent(req.dst(), who));
  TESSERA_TRY(check_access(src.parent, who, Access::write, req.src()));
  TESSERA_TRY(check_access(dst.parent, who, Access::write, req.dst()));
  Inode moving = *src.child;
  if (moving.kind() == ObjectKind::KIND_VOLUME) {
    return Status(Errc::wrong_kind, req.src() + ": is a volume mount point and cannot be renamed");
  }
  if (dst.child && dst.child->id() == moving.id()) {
    *result.mutable_inode() = moving;
    return Status::ok();  // renaming onto itself (or a hard link of itself)
  }
  if (moving.kind() == ObjectKind::KIND_DIRECTORY) {
    TESSERA_ASSIGN_OR_RETURN(bool cycle, is_ancestor(txn, moving.id(), dst.parent.id()));
    if (cycle) {
      return Status(Errc::invalid_argument,
                    req.dst() + ": cannot move a directory into itself (" + req.src() + ")");
    }
  }
  if (dst.child) {
    if (req.no_replace()) return error(Errc::already_exists, req.dst());
    const Inode& victim = *dst.child;
    if (victim.kind() == ObjectKind::KIND_VOLUME) {
      return Status(Errc::wrong_kind, req.dst() + ": is a volume mount point");
    }
    bool src_dir = moving.kind() == ObjectKind::KIND_DIRECTORY;
    bool dst_dir = victim.kind() == ObjectKind::KIND_DIRECTORY;
    if (src_dir && !dst_dir) return error(Errc::not_a_directory, req.dst());
    if (!src_dir && dst_dir) return error(Errc::is_a_directory, req.dst());
    if (dst_dir && victim.entries() > 0) return error(Errc::not_empty, req.dst());
    txn.del_dirent(dst.parent.id(), dst.name);
    std::vector<uint64_t> released;
    TESSERA_TRY(unlink_inode(txn, victim, cmd.now_ms(), &released));
    for (uint64_t shard : released) result.add_shards(shard);
    dst.parent.set_entries(dst.parent.entries() - 1);
  }
  txn.del_dirent(src.parent.id(), src.name);
  txn.put_dirent(dst.parent.id(), dst.name, moving.id());
  if (src.parent.id() == dst.parent.id()) {
    touch(dst.parent, cmd.now_ms());
    txn.put_inode(dst.parent);
  } else {
    adjust_entries(txn, src.parent, -1, cmd.now_ms());
    adjust_entries(txn, dst.parent, +1, cmd.now_ms());
  }
  if (moving.kind() == ObjectKind::KIND_DIRECTORY) moving.set_parent(dst.parent.id());
  moving.set_ctime_ms(cmd.now_ms());
  moving.set_version(moving.version() + 1);
  txn.put_inode(moving);
  *result.mutable_inode() = moving;
  return Status::ok();
}

Status apply_link(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const auto& req = cmd.link();
  const auto& who = cmd.principal();
  TESSERA_ASSIGN_OR_RETURN(auto src, txn.resolve(req.src(), who));
  if (src.inode.kind() == ObjectKind::KIND_DIRECTORY || src.inode.kind() == ObjectKind::KIND_VOLUME) {
    return Status(Errc::is_a_directory, req.src() + ": hard links to directories are not allowed");
  }
  TESSERA_ASSIGN_OR_RETURN(auto dst, txn.resolve_parent(req.dst(), who));
  if (dst.child) return error(Errc::already_exists, req.dst());
  TESSERA_TRY(check_access(dst.parent, who, Access::write, req.dst()));
  Inode n = src.inode;
  n.set_nlink(n.nlink() + 1);
  n.set_ctime_ms(cmd.now_ms());
  n.set_version(n.version() + 1);
  txn.put_inode(n);
  txn.put_dirent(dst.parent.id(), dst.name, n.id());
  adjust_entries(txn, dst.parent, +1, cmd.now_ms());
  *result.mutable_inode() = n;
  return Status::ok();
}

Status apply_set_attr(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const auto& op = cmd.set_attr();
  const auto& who = cmd.principal();
  TESSERA_ASSIGN_OR_RETURN(auto r, txn.resolve(op.path(), who));
  Inode& n = r.inode;
  if (op.set_mode() || op.set_acl() || op.set_gid() || op.set_uid()) {
    TESSERA_TRY(check_access(n, who, Access::admin, op.path()));
  }
  if (op.set_uid() && op.uid() != n.uid() && !who.admin()) {
    return Status(Errc::permission_denied, op.path() + ": permission denied (only an administrator may change the owner)");
  }
  if (op.set_gid() && op.gid() != n.gid() && !who.admin()) {
    bool member = false;
    for (auto g : who.gids()) member |= g == op.gid();
    if (!member) {
      return Status(Errc::permission_denied,
                    op.path() + ": permission denied (the group must be one of your own groups)");
    }
  }
  if (op.set_mode()) {
    if (op.mode() > 07777) return Status(Errc::invalid_argument, op.path() + ": mode out of range");
    n.set_mode(op.mode());
  }
  if (op.set_uid()) n.set_uid(op.uid());
  if (op.set_gid()) n.set_gid(op.gid());
  if (op.set_acl()) {
    if (op.acl_size() > 64) {
      return Status(Errc::invalid_argument, op.path() + ": at most 64 ACL entries");
    }
    *n.mutable_acl() = op.acl();
  }
  if (op.set_size()) {
    if (n.kind() != ObjectKind::KIND_FILE) {
      return error(n.kind() == ObjectKind::KIND_DIRECTORY ? Errc::is_a_directory : Errc::wrong_kind,
                   op.path());
    }
    TESSERA_TRY(check_access(n, who, Access::write, op.path()));
    TESSERA_TRY(truncate_file(txn, n, op.size(), cmd.now_ms(), op.path()));
  }
  n.set_ctime_ms(cmd.now_ms());
  n.set_version(n.version() + 1);
  txn.put_inode(n);
  *result.mutable_inode() = n;
  return Status::ok();
}

Result<Inode> stat_path(const VolumeView& view, const internal::Principal& who,
                        std::string_view path) {
  TESSERA_ASSIGN_OR_RETURN(auto r, view.resolve(path, who));
  return std::move(r.inode);
}

Result<ListPage> list_path(const VolumeView& view, const internal::Principal& who,
                           std::string_view path, std::string_view after, size_t limit) {
  TESSERA_ASSIGN_OR_RETURN(auto r, view.resolve(path, who));
  ListPage page;
  if (r.inode.kind() != ObjectKind::KIND_DIRECTORY) {
    page.entries.emplace_back(r.name, std::move(r.inode));
    return page;
  }
  TESSERA_TRY(check_access(r.inode, who, Access::read, path));
  limit = std::clamp<size_t>(limit == 0 ? 1000 : limit, 1, kListLimitMax);
  TESSERA_ASSIGN_OR_RETURN(page.entries, view.list(r.inode.id(), after, limit + 1));
  if (page.entries.size() > limit) {
    page.entries.pop_back();
    page.next_after = page.entries.back().first;
  }
  return page;
}

}  // namespace tessera::ns
