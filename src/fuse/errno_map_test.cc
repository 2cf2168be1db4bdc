#include "fuse/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace tessera::fuse {
namespace {

TEST(ErrnoMap, NamedCodes) {
  EXPECT_EQ(errno_of(Errc::ok), 0);
  EXPECT_EQ(errno_of(Errc::not_found), ENOENT);
  EXPECT_EQ(errno_of(Errc::permission_denied), EACCES);
  EXPECT_EQ(errno_of(Errc::already_exists), EEXIST);
  EXPECT_EQ(errno_of(Errc::quota_exceeded), EDQUOT);
  EXPECT_EQ(errno_of(Errc::not_a_directory), ENOTDIR);
  EXPECT_EQ(errno_of(Errc::is_a_directory), EISDIR);
  EXPECT_EQ(errno_of(Errc::not_empty), ENOTEMPTY);
  EXPECT_EQ(errno_of(Errc::cross_volume), EXDEV);
  EXPECT_EQ(errno_of(Errc::too_large), EFBIG);
  EXPECT_EQ(errno_of(Errc::invalid_argument), EINVAL);
}

TEST(ErrnoMap, ClusterTroubleIsEio) {
  for (Errc e : {Errc::unavailable, Errc::not_leader, Errc::io_error, Errc::corruption,
                 Errc::internal, Errc::failed_precondition}) {
    EXPECT_EQ(errno_of(e), EIO) << errc_name(e);
  }
}

TEST(ErrnoMap, EveryCodeHasAnErrno) {
  for (int i = 1; i <= static_cast<int>(Errc::failed_precondition); ++i) {
    EXPECT_GT(errno_of(static_cast<Errc>(i)), 0) << i;
  }
  EXPECT_EQ(errno_of(Status(Errc::not_found, "/x: not found")), ENOENT);
  EXPECT_EQ(errno_of(Status::ok()), 0);
}

}  // namespace
}  // namespace tessera::fuse
