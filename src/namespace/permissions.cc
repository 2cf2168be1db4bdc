#include "namespace/permissions.h"

#include <algorithm>

#include "tessera/internal/state.pb.h"

namespace tessera::ns {
namespace {

bool in_group(const internal::Principal& who, uint32_t gid) {
  return std::find(who.gids().begin(), who.gids().end(), gid) != who.gids().end();
}

bool entry_matches(const internal::AclEntry& e, const internal::Principal& who) {
  return e.is_group() ? in_group(who, e.id()) : e.id() == who.uid();
}

bool entry_has(const internal::AclEntry& e, Access want) {
  switch (want) {
    case Access::read: return e.read();
    case Access::write: return e.write();
    case Access::admin: return e.admin();
    case Access::traverse: return e.read();  // read on a directory lets one pass through it
  }
  return false;
}

// The rwx triple of the mode bits that applies to `who`.
uint32_t mode_triple(const internal::Inode& inode, const internal::Principal& who) {
  if (inode.uid() == who.uid()) return (inode.mode() >> 6) & 7;
  if (in_group(who, inode.gid())) return (inode.mode() >> 3) & 7;
  return inode.mode() & 7;
}

}  // namespace

bool allowed(const internal::Inode& inode, const internal::Principal& who, Access want) {
  if (who.admin()) return true;
  bool granted = false;
  for (const auto& e : inode.acl()) {
    if (!entry_matches(e, who) || !entry_has(e, want)) continue;
    if (e.deny()) return false;
    granted = true;
  }
  if (granted) return true;
  switch (want) {
    case Access::admin: return inode.uid() == who.uid();
    case Access::read: return (mode_triple(inode, who) & 4) != 0;
    case Access::write: return (mode_triple(inode, who) & 2) != 0;
    case Access::traverse: return (mode_triple(inode, who) & 1) != 0;
  }
  return false;
}

Status check_access(const internal::Inode& inode, const internal::Principal& who, Access want,
                    std::string_view subject) {
  if (allowed(inode, who, want)) return Status::ok();
  return error(Errc::permission_denied, subject);
}

}  // namespace tessera::ns
