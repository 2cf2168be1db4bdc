#include "fuse/access_check.h"

#include <algorithm>

namespace tessera::fuse {
namespace {

bool in_group(const Principal& who, const std::string& group) {
  return std::find(who.groups.begin(), who.groups.end(), group) != who.groups.end();
}

bool entry_matches(const v1::AclEntry& e, const Principal& who) {
  if (e.principal_type() == "group") return in_group(who, e.name());
  return e.principal_type() == "user" && e.name() == who.name;
}

bool entry_has(const v1::AclEntry& e, int right) {
  switch (right) {
    case kWantRead: return e.read();
    case kWantWrite: return e.write();
    case kWantExec: return e.read();  // traverse is granted by read
  }
  return false;
}

// The rwx triple of the mode bits that applies to `who`.
uint32_t mode_triple(const v1::Stat& st, const Principal& who) {
  if (st.owner() == who.name) return (st.mode() >> 6) & 7;
  if (in_group(who, st.group())) return (st.mode() >> 3) & 7;
  return st.mode() & 7;
}

bool allowed(const Principal& who, const v1::Stat& st, const std::vector<v1::AclEntry>& acl,
             int right) {
  bool granted = false;
  for (const auto& e : acl) {
    if (!entry_matches(e, who) || !entry_has(e, right)) continue;
    if (e.deny()) return false;
    granted = true;
  }
  if (granted) return true;
  return (mode_triple(st, who) & static_cast<uint32_t>(right)) != 0;
}

}  // namespace

bool may_access(const Principal& who, const v1::Stat& st, const std::vector<v1::AclEntry>& acl,
                int want) {
  if (who.admin) return true;
  for (int right : {kWantRead, kWantWrite, kWantExec}) {
    if ((want & right) != 0 && !allowed(who, st, acl, right)) return false;
  }
  return true;
}

}  // namespace tessera::fuse
