#include "fuse/identity_map.h"

#include <gtest/gtest.h>

namespace tessera::fuse {
namespace {

TEST(IdentityMap, PrincipalIsTheLocalUser) {
  IdentityMap m("alice", {"alice", "dev"}, 1001, 1002);
  m.set_users({{"admin", 0}, {"alice", 1000}, {"bob", 1003}});
  EXPECT_EQ(m.uid_of("alice"), 1001u);
  EXPECT_EQ(m.uid_of("bob"), 1003u);
  EXPECT_EQ(m.uid_of("admin"), 0u);
  EXPECT_EQ(m.uid_of("#77"), 77u);
  EXPECT_EQ(m.uid_of("carol"), kNobody);
  EXPECT_TRUE(m.unknown_owner("carol"));
  EXPECT_FALSE(m.unknown_owner("bob"));
  EXPECT_EQ(m.gid_of("alice"), 1002u);
  EXPECT_EQ(m.gid_of("dev"), kNobody);
  EXPECT_EQ(m.owner_of(1001), "alice");
  EXPECT_EQ(m.owner_of(1003), "bob");
  EXPECT_FALSE(m.owner_of(4242).has_value());
  EXPECT_EQ(m.group_of(1002), "alice");
  EXPECT_FALSE(m.group_of(0).has_value());
}

}  // namespace
}  // namespace tessera::fuse
