#include "gateway/http/address.h"

#include <gtest/gtest.h>

namespace tessera::http {
namespace {

TEST(Address, ParsesHostPortForms) {
  auto v4 = parse_host_port("127.0.0.1:7071");
  ASSERT_TRUE(v4.is_ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7071);

  auto v6 = parse_host_port("[::1]:0");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);

  auto any = parse_host_port(":65535");
  ASSERT_TRUE(any.is_ok());
  EXPECT_EQ(any->host, "0.0.0.0");
  EXPECT_EQ(any->port, 65535);
}

TEST(Address, RejectsMalformed) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "host:65536", "host:-1", "host:12x", "::1:80", "[]:80"}) {
    auto r = parse_host_port(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), Errc::invalid_argument) << bad;
  }
}

TEST(Address, FormatsWithBracketsForIpv6) {
  EXPECT_EQ(format_host_port("127.0.0.1", 80), "127.0.0.1:80");
  EXPECT_EQ(format_host_port("::1", 7071), "[::1]:7071");
}

}  // namespace
}  // namespace tessera::http
