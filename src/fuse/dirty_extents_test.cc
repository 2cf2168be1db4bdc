#include "fuse/dirty_extents.h"

#include <gtest/gtest.h>

namespace tessera::fuse {
namespace {

using Ranges = std::vector<std::pair<uint64_t, std::string>>;

TEST(DirtyExtents, SequentialWritesBuildOneRange) {
  DirtyExtents d;
  d.add(0, "abc");
  d.add(3, "def");
  d.add(6, "g");
  EXPECT_EQ(d.bytes(), 7u);
  EXPECT_EQ(d.end(), 7u);
  EXPECT_EQ(d.take(), (Ranges{{0, "abcdefg"}}));
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.bytes(), 0u);
  EXPECT_EQ(d.end(), 0u);
}

TEST(DirtyExtents, DisjointRangesStayApartInOrder) {
  DirtyExtents d;
  d.add(100, "xy");
  d.add(10, "ab");
  EXPECT_EQ(d.bytes(), 4u);
  EXPECT_EQ(d.end(), 102u);
  EXPECT_EQ(d.take(), (Ranges{{10, "ab"}, {100, "xy"}}));
}

TEST(DirtyExtents, LaterWritesWinAndBridgeRanges) {
  DirtyExtents d;
  d.add(0, "aaaa");
  d.add(8, "cccc");
  d.add(2, "bbbbbbb");  // [2, 9): over the end of the first, into the second
  EXPECT_EQ(d.take(), (Ranges{{0, "aabbbbbbbccc"}}));
  d.add(5, "xxxxxx");
  d.add(6, "y");  // inside
  d.add(4, "z");  // touches the start
  EXPECT_EQ(d.bytes(), 7u);
  EXPECT_EQ(d.take(), (Ranges{{4, "zxyxxxx"}}));
}

TEST(DirtyExtents, Overlaps) {
  DirtyExtents d;
  d.add(10, "abcd");  // [10, 14)
  EXPECT_FALSE(d.overlaps(0, 10));
  EXPECT_TRUE(d.overlaps(0, 11));
  EXPECT_TRUE(d.overlaps(13, 5));
  EXPECT_FALSE(d.overlaps(14, 5));
  EXPECT_FALSE(d.overlaps(12, 0));
}

}  // namespace
}  // namespace tessera::fuse
