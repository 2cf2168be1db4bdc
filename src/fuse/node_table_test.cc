#include "fuse/node_table.h"

#include <gtest/gtest.h>

namespace tessera::fuse {
namespace {

TEST(Paths, JoinAndWithin) {
  EXPECT_EQ(join_path("/", "a"), "/a");
  EXPECT_EQ(join_path("/a", "b"), "/a/b");
  EXPECT_TRUE(path_within("/a/b", "/a"));
  EXPECT_TRUE(path_within("/a", "/a"));
  EXPECT_FALSE(path_within("/ab", "/a"));
  EXPECT_TRUE(path_within("/x", "/"));
}

TEST(NodeTable, RootAndLookups) {
  NodeTable t("/", 1, "/apps");
  EXPECT_EQ(t.path_of(kRootNodeId), "/apps");
  uint64_t a = t.remember("/", 7, "/apps/a", 1);
  EXPECT_NE(a, kRootNodeId);
  EXPECT_EQ(t.remember("/", 7, "/apps/a", 1), a);
  EXPECT_EQ(t.find("/", 7), a);
  EXPECT_TRUE(t.is(a, "/", 7));
  t.forget(a, 1);
  EXPECT_EQ(t.path_of(a), "/apps/a");
  t.forget(a, 1);
  EXPECT_FALSE(t.path_of(a).has_value());
  EXPECT_FALSE(t.find("/", 7).has_value());
  // A forgotten object comes back under a new id; the root never goes.
  EXPECT_NE(t.remember("/", 7, "/apps/a", 1), a);
  t.forget(kRootNodeId, 100);
  EXPECT_EQ(t.path_of(kRootNodeId), "/apps");
}

TEST(NodeTable, InodesArePerVolume) {
  NodeTable t("/", 1, "/");
  uint64_t root_vol = t.remember("/", 5, "/x", 1);
  uint64_t other = t.remember("/data", 5, "/data/x", 1);
  EXPECT_NE(root_vol, other);
  EXPECT_EQ(t.st_ino("/", 5), 5u);
  EXPECT_EQ(t.st_ino("/data", 5), (1ull << kVolumeIndexShift) | 5);
  EXPECT_EQ(t.st_ino_of(other), (1ull << kVolumeIndexShift) | 5);
  EXPECT_EQ(t.st_ino_of(kRootNodeId), 1u);
}

TEST(NodeTable, RenameMovesSubtreeAndDropsReplaced) {
  NodeTable t("/", 1, "/");
  uint64_t dir = t.remember("/", 2, "/d", 1);
  uint64_t file = t.remember("/", 3, "/d/f", 1);
  uint64_t deep = t.remember("/", 4, "/d/e/g", 1);
  uint64_t victim = t.remember("/", 5, "/n", 1);
  uint64_t sibling = t.remember("/", 6, "/dd", 1);
  t.renamed("/d", "/n");
  EXPECT_EQ(t.path_of(dir), "/n");
  EXPECT_EQ(t.path_of(file), "/n/f");
  EXPECT_EQ(t.path_of(deep), "/n/e/g");
  EXPECT_FALSE(t.path_of(victim).has_value());
  EXPECT_EQ(t.path_of(sibling), "/dd");
}

TEST(NodeTable, HardLinksKeepEveryPath) {
  NodeTable t("/", 1, "/");
  uint64_t f = t.remember("/", 9, "/a", 1);
  EXPECT_EQ(t.remember("/", 9, "/b", 1), f);
  EXPECT_EQ(t.path_of(f), "/b");
  t.unlinked("/b");
  EXPECT_EQ(t.path_of(f), "/a");
  t.unlinked("/a");
  EXPECT_FALSE(t.path_of(f).has_value());
  t.unlinked("/");  // never the root
  EXPECT_EQ(t.path_of(kRootNodeId), "/");
}

}  // namespace
}  // namespace tessera::fuse
