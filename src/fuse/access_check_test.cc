#include "fuse/access_check.h"

#include <gtest/gtest.h>

namespace tessera::fuse {
namespace {

v1::Stat object(const std::string& owner, const std::string& group, uint32_t mode) {
  v1::Stat st;
  st.set_owner(owner);
  st.set_group(group);
  st.set_mode(mode);
  return st;
}

v1::AclEntry entry(bool deny, const std::string& type, const std::string& name, bool r, bool w) {
  v1::AclEntry e;
  e.set_deny(deny);
  e.set_principal_type(type);
  e.set_name(name);
  e.set_read(r);
  e.set_write(w);
  return e;
}

TEST(AccessCheck, ModeBitsByClass) {
  Principal bob{"bob", {"bob", "dev"}, false};
  EXPECT_TRUE(may_access(bob, object("bob", "bob", 0600), {}, kWantRead | kWantWrite));
  EXPECT_FALSE(may_access(bob, object("alice", "alice", 0600), {}, kWantRead));
  EXPECT_TRUE(may_access(bob, object("alice", "dev", 0640), {}, kWantRead));
  EXPECT_FALSE(may_access(bob, object("alice", "dev", 0640), {}, kWantWrite));
  EXPECT_TRUE(may_access(bob, object("alice", "ops", 0604), {}, kWantRead));
  // The owner class applies even when it grants less than "other".
  EXPECT_FALSE(may_access(bob, object("bob", "x", 0007), {}, kWantRead));
  Principal admin{"admin", {"admin"}, true};
  EXPECT_TRUE(may_access(admin, object("alice", "alice", 0), {}, kWantRead | kWantWrite));
}

TEST(AccessCheck, AclDenyWinsAllowGrants) {
  Principal bob{"bob", {"bob", "dev"}, false};
  auto st = object("alice", "alice", 0600);
  EXPECT_TRUE(may_access(bob, st, {entry(false, "group", "dev", true, false)}, kWantRead));
  EXPECT_FALSE(may_access(bob, st, {entry(false, "group", "dev", true, false)}, kWantWrite));
  EXPECT_FALSE(may_access(bob, object("alice", "alice", 0666),
                          {entry(false, "user", "bob", true, true), entry(true, "group", "dev", false, true)},
                          kWantWrite));
  EXPECT_TRUE(may_access(bob, st, {entry(false, "user", "bob", true, false)}, kWantExec));
}

}  // namespace
}  // namespace tessera::fuse
