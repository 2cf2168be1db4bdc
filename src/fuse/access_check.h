#pragma once
// The mount's advisory permission check, used where POSIX wants an answer
// before any data moves: access(2), and open(2), which must refuse a file
// the principal may not read or write instead of accepting writes that the
// cluster refuses only when they are flushed at close.
//
// It evaluates the rule of src/namespace/permissions.h — the one check the
// server applies to every call — over what the native API reports (names,
// not ids): an administrator may do anything; ACL entries naming the
// principal or one of its groups come next, a matching deny entry refusing
// and matching allow entries granting; rights the ACL does not grant fall
// back to the owner / group / other mode bits. For directories, x is
// "traverse", which an ACL's read grants. The server stays the authority:
// every operation is checked there again.

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/v1/tessera.pb.h"

namespace tessera::fuse {

struct Principal {
  std::string name;
  std::vector<std::string> groups;
  bool admin = false;
};

// Rights, as access(2)'s mask bits.
inline constexpr int kWantRead = 4;   // R_OK
inline constexpr int kWantWrite = 2;  // W_OK
inline constexpr int kWantExec = 1;   // X_OK

// Whether `who` holds every right in `want` on the object `st`, whose ACL
// is `acl` (empty when st.has_acl() is false).
bool may_access(const Principal& who, const v1::Stat& st, const std::vector<v1::AclEntry>& acl,
                int want);

}  // namespace tessera::fuse
