#pragma once
// The one permission check. Every API and every object kind — files, tables,
// streams, directories — asks `check_access` and nothing else.
//
// Order: a superuser (admin principal) may do anything; then ACL entries that
// match the principal (its uid, or any of its groups): a matching deny entry
// for a wanted right refuses; matching allow entries grant; rights not granted
// by the ACL fall back to the mode bits (owner, group, other). `admin` (change
// mode, owner, ACL) belongs to the owner, or is granted by an ACL entry.
// `traverse` is the x bit of a directory on the way to an object.

#include <cstdint>

#include "base/status.h"

namespace tessera::internal {
class Inode;
class Principal;
}  // namespace tessera::internal

namespace tessera::ns {

enum class Access : uint8_t { read = 1, write = 2, admin = 4, traverse = 8 };

bool allowed(const internal::Inode& inode, const internal::Principal& who, Access want);

// `subject` names the object in the error ("/apps/x").
Status check_access(const internal::Inode& inode, const internal::Principal& who, Access want,
                    std::string_view subject);

}  // namespace tessera::ns
