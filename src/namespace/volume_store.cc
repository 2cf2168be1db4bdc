#include "namespace/volume_store.h"

#include <algorithm>
#include <limits>

#include "namespace/keys.h"
#include "namespace/paths.h"
#include "namespace/permissions.h"

namespace tessera::ns {

using internal::Inode;
using tessera::v1::ObjectKind;

Result<internal::VolumeState> VolumeView::volume() const {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state_.get(volume_key()));
  if (!raw) return Status(Errc::unavailable, "volume shard not initialised");
  return parse_record<internal::VolumeState>(*raw, "volume record");
}

Result<std::optional<Inode>> VolumeView::inode(uint64_t ino) const {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state_.get(inode_key(ino)));
  if (!raw) return std::optional<Inode>();
  TESSERA_ASSIGN_OR_RETURN(auto node, parse_record<Inode>(*raw, "inode " + std::to_string(ino)));
  return std::optional<Inode>(std::move(node));
}

Result<Inode> VolumeView::inode_or_corrupt(uint64_t ino) const {
  TESSERA_ASSIGN_OR_RETURN(auto node, inode(ino));
  if (!node) {
    return Status(Errc::corruption, "inode " + std::to_string(ino) + " referenced but missing");
  }
  return std::move(*node);
}

Result<std::optional<uint64_t>> VolumeView::lookup(uint64_t parent, std::string_view name) const {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state_.get(dirent_key(parent, name)));
  if (!raw) return std::optional<uint64_t>();
  if (raw->size() != 8) return Status(Errc::corruption, "directory entry of wrong size");
  return std::optional<uint64_t>(get_be64(*raw));
}

Result<std::vector<std::string>> VolumeView::relative(std::string_view path) const {
  TESSERA_ASSIGN_OR_RETURN(auto parts, split_path(path));
  TESSERA_ASSIGN_OR_RETURN(auto vol, volume());
  TESSERA_ASSIGN_OR_RETURN(auto mount, split_path(vol.mount_path()));
  TESSERA_ASSERT_MSG(parts.size() >= mount.size(), "path routed to the wrong volume");
  for (size_t i = 0; i < mount.size(); ++i) {
    TESSERA_ASSERT_MSG(parts[i] == mount[i], "path routed to the wrong volume");
  }
  parts.erase(parts.begin(), parts.begin() + static_cast<long>(mount.size()));
  return parts;
}

Result<Resolved> VolumeView::resolve(std::string_view path, const internal::Principal& who) const {
  TESSERA_ASSIGN_OR_RETURN(auto parts, relative(path));
  Resolved r;
  r.path = std::string(path);
  TESSERA_ASSIGN_OR_RETURN(r.inode, inode_or_corrupt(kRootInode));
  for (const auto& name : parts) {
    if (r.inode.kind() != ObjectKind::KIND_DIRECTORY) return error(Errc::not_a_directory, path);
    TESSERA_TRY(check_access(r.inode, who, Access::traverse, path));
    TESSERA_ASSIGN_OR_RETURN(auto child, lookup(r.inode.id(), name));
    if (!child) return error(Errc::not_found, path);
    r.parent = r.inode.id();
    r.name = name;
    TESSERA_ASSIGN_OR_RETURN(r.inode, inode_or_corrupt(*child));
  }
  return r;
}

Result<ParentResolved> VolumeView::resolve_parent(std::string_view path,
                                                  const internal::Principal& who) const {
  TESSERA_ASSIGN_OR_RETURN(auto parts, relative(path));
  if (parts.empty()) {
    return Status(Errc::invalid_argument, std::string(path) + ": is the root of a volume");
  }
  ParentResolved r;
  r.path = std::string(path);
  r.name = parts.back();
  TESSERA_ASSIGN_OR_RETURN(r.parent, inode_or_corrupt(kRootInode));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (r.parent.kind() != ObjectKind::KIND_DIRECTORY) return error(Errc::not_a_directory, path);
    TESSERA_TRY(check_access(r.parent, who, Access::traverse, path));
    TESSERA_ASSIGN_OR_RETURN(auto child, lookup(r.parent.id(), parts[i]));
    if (!child) return error(Errc::not_found, path);
    TESSERA_ASSIGN_OR_RETURN(r.parent, inode_or_corrupt(*child));
  }
  if (r.parent.kind() != ObjectKind::KIND_DIRECTORY) return error(Errc::not_a_directory, path);
  TESSERA_TRY(check_access(r.parent, who, Access::traverse, path));
  TESSERA_ASSIGN_OR_RETURN(auto child, lookup(r.parent.id(), r.name));
  if (child) {
    TESSERA_ASSIGN_OR_RETURN(auto node, inode_or_corrupt(*child));
    r.child = std::move(node);
  }
  return r;
}

Result<Resolved> VolumeView::resolve_kind(std::string_view path, const internal::Principal& who,
                                          ObjectKind kind, int want) const {
  TESSERA_ASSIGN_OR_RETURN(auto r, resolve(path, who));
  if (r.inode.kind() != kind) {
    if (r.inode.kind() == ObjectKind::KIND_DIRECTORY && kind == ObjectKind::KIND_FILE) {
      return error(Errc::is_a_directory, path);
    }
    return Status(Errc::wrong_kind, std::string(path) + ": is a " +
                                        tessera::v1::ObjectKind_Name(r.inode.kind()).substr(5) +
                                        ", not a " + tessera::v1::ObjectKind_Name(kind).substr(5));
  }
  if (want != 0) TESSERA_TRY(check_access(r.inode, who, static_cast<Access>(want), path));
  return r;
}

Result<std::vector<std::pair<std::string, Inode>>> VolumeView::list(uint64_t dir,
                                                                   std::string_view after,
                                                                   size_t limit) const {
  std::vector<std::pair<std::string, Inode>> out;
  std::string prefix = dirent_prefix(dir);
  std::string start = after.empty() ? prefix : dirent_key(dir, after) + std::string(1, '\0');
  Status inner;
  TESSERA_TRY(state_.scan(start, prefix_successor(prefix), [&](std::string_view k, std::string_view v) {
    if (out.size() >= limit) return false;
    if (v.size() != 8) {
      inner = Status(Errc::corruption, "directory entry of wrong size");
      return false;
    }
    auto node = inode_or_corrupt(get_be64(v));
    if (!node.is_ok()) {
      inner = node.status();
      return false;
    }
    out.emplace_back(std::string(k.substr(prefix.size())), std::move(node).value());
    return true;
  }));
  TESSERA_TRY(inner);
  return out;
}

uint64_t quota_used(const internal::VolumeState& vol) {
  const uint64_t granted_kinds = vol.streams_bytes() + vol.tablets_bytes();
  return vol.used_bytes() - std::min(vol.used_bytes(), granted_kinds) +
         std::max(vol.streams_bytes(), vol.streams_granted()) +
         std::max(vol.tablets_bytes(), vol.tablets_granted());
}

Status check_quota(const internal::VolumeState& vol, uint64_t bytes, std::string_view subject) {
  const uint64_t used = quota_used(vol);
  if (bytes == 0 || vol.quota_bytes() == 0 || used + bytes <= vol.quota_bytes()) {
    return Status::ok();
  }
  return quota_refusal(vol, used, bytes, subject);
}

Status quota_refusal(const internal::VolumeState& vol, uint64_t used, uint64_t bytes,
                     std::string_view subject) {
  return Status(Errc::quota_exceeded,
                std::string(subject) + ": volume quota exceeded (" + vol.mount_path() + " uses " +
                    std::to_string(used) + " of " + std::to_string(vol.quota_bytes()) +
                    " bytes, this needs " + std::to_string(bytes) + " more)");
}

Result<uint64_t> next_volume_grant(const internal::VolumeState& vol, uint64_t others,
                                   uint64_t grant, uint64_t held, uint64_t want,
                                   std::string_view subject) {
  TESSERA_ASSERT(vol.quota_bytes() != 0);
  if (want > std::numeric_limits<uint64_t>::max() - held) {
    return Status(Errc::invalid_argument, std::string(subject) + ": grant request overflows");
  }
  const uint64_t need = held + want;
  if (need <= grant) return grant;  // another request grew it meanwhile
  const uint64_t free = vol.quota_bytes() > others ? vol.quota_bytes() - others : 0;
  if (need > free) return quota_refusal(vol, others + grant, want, subject);
  return need + std::min(kGrantSlackMax, (free - need) / 4);
}

void resize_reported(Inode& node, uint64_t old_bytes, uint64_t new_bytes, int64_t now_ms) {
  if (new_bytes > old_bytes) {
    node.set_size(node.size() + (new_bytes - old_bytes));
    node.set_mtime_ms(now_ms);
    node.set_ctime_ms(now_ms);
  } else {
    node.set_size(node.size() - std::min(node.size(), old_bytes - new_bytes));
  }
  node.set_version(node.version() + 1);
}

// ------------------------------------------------------------------ txn

Result<VolumeTxn> VolumeTxn::open(storage::StateWriter& state) {
  VolumeView view(state);
  TESSERA_ASSIGN_OR_RETURN(auto vol, view.volume());
  return VolumeTxn(state, std::move(vol));
}

void VolumeTxn::put_inode(const Inode& inode) {
  writer_.put(inode_key(inode.id()), inode.SerializeAsString());
}
void VolumeTxn::del_inode(uint64_t ino) { writer_.del(inode_key(ino)); }

void VolumeTxn::put_dirent(uint64_t parent, std::string_view name, uint64_t child) {
  std::string v;
  put_be64(v, child);
  writer_.put(dirent_key(parent, name), v);
}
void VolumeTxn::del_dirent(uint64_t parent, std::string_view name) {
  writer_.del(dirent_key(parent, name));
}

Inode VolumeTxn::new_inode(ObjectKind kind, uint32_t mode, const internal::Principal& who,
                           int64_t now_ms) {
  Inode n;
  n.set_id(vol_.next_inode());
  vol_.set_next_inode(vol_.next_inode() + 1);
  n.set_kind(kind);
  n.set_mode(mode & 07777);
  n.set_uid(who.uid());
  n.set_gid(who.gids_size() > 0 ? who.gids(0) : 0);
  n.set_mtime_ms(now_ms);
  n.set_ctime_ms(now_ms);
  n.set_nlink(1);
  n.set_version(1);
  n.set_tail_clean(true);  // files: no data shard holds bytes of a new inode
  return n;
}

Status VolumeTxn::charge(UsageKind kind, int64_t delta, std::string_view subject) {
  if (delta > 0) TESSERA_TRY(check_quota(vol_, static_cast<uint64_t>(delta), subject));
  account(kind, delta);
  return Status::ok();
}

void VolumeTxn::account(UsageKind kind, int64_t delta) {
  auto apply = [&](uint64_t v) {
    return delta < 0 && static_cast<uint64_t>(-delta) > v ? 0 : v + static_cast<uint64_t>(delta);
  };
  vol_.set_used_bytes(apply(vol_.used_bytes()));
  switch (kind) {
    case UsageKind::files: vol_.set_files_bytes(apply(vol_.files_bytes())); break;
    case UsageKind::tables: vol_.set_tables_bytes(apply(vol_.tables_bytes())); break;
    case UsageKind::streams: vol_.set_streams_bytes(apply(vol_.streams_bytes())); break;
  }
}

void VolumeTxn::save() { writer_.put(volume_key(), vol_.SerializeAsString()); }

}  // namespace tessera::ns
