#pragma once
// IdentityMap: Tessera owner and group names ↔ the uid and gid numbers a
// POSIX stat shows and chown passes.
//
// The mount acts as one Tessera principal. Objects it owns show the uid of
// the process that mounted; objects whose group is the principal's primary
// group (its first) show that process's gid. Other owners show their Tessera
// uid (from ListUsers; a name the server printed as "#1234" for a removed
// user shows 1234); other groups, whose ids the native API does not expose,
// show kNobody. chown maps back the same way: the local uid names the
// principal, any other uid the Tessera user with that uid; the local gid
// names the principal's primary group, and no other gid can be named.
//
// Thread-safe.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tessera::fuse {

inline constexpr uint32_t kNobody = 65534;

class IdentityMap {
 public:
  IdentityMap(std::string principal, std::vector<std::string> principal_groups, uid_t local_uid,
              gid_t local_gid);

  // Replaces the Tessera user table (name → uid).
  void set_users(const std::vector<std::pair<std::string, uint32_t>>& users);

  uid_t uid_of(const std::string& owner) const;
  gid_t gid_of(const std::string& group) const;
  // Whether uid_of(owner) had to fall back to kNobody (the table may be old).
  bool unknown_owner(const std::string& owner) const;

  std::optional<std::string> owner_of(uid_t uid) const;
  std::optional<std::string> group_of(gid_t gid) const;

  const std::string& principal() const { return principal_; }
  const std::vector<std::string>& principal_groups() const { return groups_; }

 private:
  const std::string principal_;
  const std::vector<std::string> groups_;
  const uid_t local_uid_;
  const gid_t local_gid_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint32_t> uid_by_name_;
  std::map<uint32_t, std::string> name_by_uid_;
};

}  // namespace tessera::fuse
