#include "fuse/mount_options.h"

#include <gtest/gtest.h>

namespace tessera::fuse {
namespace {

TEST(MountOptions, Defaults) {
  auto o = parse_mount_options({});
  ASSERT_TRUE(o.is_ok());
  EXPECT_EQ(o->attr_timeout_s, 1.0);
  EXPECT_EQ(o->entry_timeout_s, 1.0);
  EXPECT_FALSE(o->direct_io);
  EXPECT_EQ(o->call_timeout_ms, 30'000);
  EXPECT_TRUE(o->fuse_options.empty());
}

TEST(MountOptions, OwnAndPassedThrough) {
  auto o = parse_mount_options({"attr_timeout=0.5,direct_io", "entry_timeout=0", "ro,allow_other",
                                "timeout=2,fsname=x"});
  ASSERT_TRUE(o.is_ok()) << o.status().to_string();
  EXPECT_EQ(o->attr_timeout_s, 0.5);
  EXPECT_EQ(o->entry_timeout_s, 0.0);
  EXPECT_TRUE(o->direct_io);
  EXPECT_TRUE(o->allow_other);
  EXPECT_EQ(o->call_timeout_ms, 2000);
  EXPECT_EQ(o->fuse_options, (std::vector<std::string>{"ro", "allow_other", "fsname=x"}));
}

TEST(MountOptions, Rejects) {
  for (const char* bad : {"bogus", "attr_timeout", "attr_timeout=x", "attr_timeout=-1",
                          "attr_timeout=99999", "direct_io=1", "timeout=0", "ro=1", "fsname=",
                          "allow_other=yes"}) {
    auto o = parse_mount_options({bad});
    EXPECT_FALSE(o.is_ok()) << bad;
    if (!o.is_ok()) {
      EXPECT_EQ(o.status().code(), Errc::invalid_argument) << bad;
    }
  }
  EXPECT_EQ(parse_mount_options({"ro,bogus"}).status().message(),
            "mount option 'bogus': unknown option");
}

}  // namespace
}  // namespace tessera::fuse
