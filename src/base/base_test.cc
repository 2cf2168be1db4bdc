#include <gtest/gtest.h>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/rate_limiter.h"
#include "base/status.h"

namespace tessera {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello, tessera: a long enough string to cross eight-byte words";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(crc32c_extend(crc32c(s.substr(0, cut)), s.substr(cut)), crc32c(s));
  }
}

TEST(Coding, BigEndianOrdersLikeNumbers) {
  std::string a, b;
  put_be64(a, 255);
  put_be64(b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(get_be64(a), 255u);
  EXPECT_EQ(get_be64(b), 256u);
}

TEST(Coding, PrefixSuccessor) {
  EXPECT_EQ(prefix_successor("ab"), "ac");
  EXPECT_EQ(prefix_successor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_successor(std::string("\xff\xff", 2)), "");
}

TEST(Status, NamesRoundTrip) {
  Status s = error(Errc::not_found, "/apps/x");
  EXPECT_EQ(s.message(), "/apps/x: not found");
  EXPECT_EQ(errc_from_name(errc_name(Errc::quota_exceeded)), Errc::quota_exceeded);
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> ok = 5;
  Result<int> bad = error(Errc::invalid_argument, "x");
  EXPECT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, 5);
  EXPECT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Errc::invalid_argument);
}

TEST(RateLimiter, UnlimitedNeverWaits) {
  RateLimiter r(0);
  EXPECT_EQ(r.acquire(1ull << 40), RateLimiter::Clock::duration::zero());
}

TEST(RateLimiter, CallersAreHeldToTheRate) {
  // 10 MB/s: 5 × 200 kB must be spread over about 0.1 s, the first one
  // waiting for its own 20 ms (the bucket starts empty).
  // (Sleeps never end early, so the lower bound cannot flake; a late wake
  // only shortens later waits.)
  RateLimiter r(10'000'000);
  const auto start = RateLimiter::Clock::now();
  std::chrono::duration<double> waited{};
  for (int i = 0; i < 5; ++i) waited += r.acquire(200'000);
  const std::chrono::duration<double> elapsed = RateLimiter::Clock::now() - start;
  EXPECT_GE(elapsed.count(), 0.099);
  EXPECT_LE(waited.count(), 0.1 + 1e-3);
}

}  // namespace
}  // namespace tessera
