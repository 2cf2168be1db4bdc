#include "fuse/identity_map.h"

#include <charconv>

namespace tessera::fuse {
namespace {

// "#1234" → 1234: how the server names an id it has no name for.
std::optional<uint32_t> numeric_name(const std::string& name) {
  if (name.size() < 2 || name[0] != '#') return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), v);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return v;
}

}  // namespace

IdentityMap::IdentityMap(std::string principal, std::vector<std::string> principal_groups,
                         uid_t local_uid, gid_t local_gid)
    : principal_(std::move(principal)),
      groups_(std::move(principal_groups)),
      local_uid_(local_uid),
      local_gid_(local_gid) {}

void IdentityMap::set_users(const std::vector<std::pair<std::string, uint32_t>>& users) {
  std::lock_guard lk(mu_);
  uid_by_name_.clear();
  name_by_uid_.clear();
  for (const auto& [name, uid] : users) {
    uid_by_name_[name] = uid;
    name_by_uid_[uid] = name;
  }
}

uid_t IdentityMap::uid_of(const std::string& owner) const {
  if (owner == principal_) return local_uid_;
  if (auto n = numeric_name(owner)) return *n;
  std::lock_guard lk(mu_);
  auto it = uid_by_name_.find(owner);
  return it == uid_by_name_.end() ? kNobody : it->second;
}

bool IdentityMap::unknown_owner(const std::string& owner) const {
  if (owner == principal_ || numeric_name(owner)) return false;
  std::lock_guard lk(mu_);
  return uid_by_name_.find(owner) == uid_by_name_.end();
}

gid_t IdentityMap::gid_of(const std::string& group) const {
  if (!groups_.empty() && group == groups_.front()) return local_gid_;
  return kNobody;
}

std::optional<std::string> IdentityMap::owner_of(uid_t uid) const {
  if (uid == local_uid_) return principal_;
  std::lock_guard lk(mu_);
  auto it = name_by_uid_.find(uid);
  if (it == name_by_uid_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> IdentityMap::group_of(gid_t gid) const {
  if (gid == local_gid_ && !groups_.empty()) return groups_.front();
  return std::nullopt;
}

}  // namespace tessera::fuse
