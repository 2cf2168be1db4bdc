#include "client/units.h"

#include <gtest/gtest.h>

namespace tessera::client {
namespace {

TEST(ParseSize, PlainBytesAndUnits) {
  EXPECT_EQ(*parse_size("0"), 0u);
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("64K"), 64u * 1024);
  EXPECT_EQ(*parse_size("512M"), 512ull << 20);
  EXPECT_EQ(*parse_size("10G"), 10ull << 30);
  EXPECT_EQ(*parse_size("1T"), 1ull << 40);
  EXPECT_EQ(*parse_size("2p"), 2ull << 50);
  EXPECT_EQ(*parse_size("10g"), 10ull << 30);
  EXPECT_EQ(*parse_size("10GiB"), 10ull << 30);
  EXPECT_EQ(*parse_size("10GB"), 10ull << 30);
  EXPECT_EQ(*parse_size(" 1K "), 1024u);
}

TEST(ParseSize, Fractions) {
  EXPECT_EQ(*parse_size("1.5G"), 3ull << 29);
  EXPECT_EQ(*parse_size("0.5K"), 512u);
  EXPECT_FALSE(parse_size("1.5").is_ok());
  EXPECT_FALSE(parse_size("1.K").is_ok());
}

TEST(ParseSize, Rejects) {
  for (const char* bad : {"", "K", "-1", "10X", "10KK", "10 K B", "1e3", "10Gb1"}) {
    auto r = parse_size(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r) {
      EXPECT_EQ(r.status().code(), Errc::invalid_argument);
    }
  }
  EXPECT_FALSE(parse_size("18446744073709551616").is_ok());
  EXPECT_FALSE(parse_size("16384P").is_ok());
  EXPECT_EQ(parse_size("10X").status().message(), "invalid size unit in '10X'");
}

TEST(FormatSize, ShortestForm) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1023), "1023");
  EXPECT_EQ(format_size(1024), "1.0K");
  EXPECT_EQ(format_size(1536), "1.5K");
  EXPECT_EQ(format_size(10ull << 30), "10G");
  EXPECT_EQ(format_size(512ull << 20), "512M");
  EXPECT_EQ(format_size((1ull << 40) - 1), "1023G");
  EXPECT_EQ(format_size(~0ull), "15E");
  EXPECT_EQ(format_size(5ull << 60), "5.0E");
}

TEST(ParseDuration, UnitsAndPlainMs) {
  EXPECT_EQ(*parse_duration("7d"), 7 * 86'400'000ll);
  EXPECT_EQ(*parse_duration("12h"), 12 * 3'600'000ll);
  EXPECT_EQ(*parse_duration("30m"), 30 * 60'000ll);
  EXPECT_EQ(*parse_duration("45s"), 45'000);
  EXPECT_EQ(*parse_duration("500ms"), 500);
  EXPECT_EQ(*parse_duration("250"), 250);
  EXPECT_EQ(*parse_duration("1h30m"), 90 * 60'000ll);
  EXPECT_EQ(*parse_duration("1m30s500ms"), 90'500);
}

TEST(ParseDuration, Rejects) {
  for (const char* bad : {"", "d", "7w", "1h30", "-5s", "1.5h", "5 s"}) {
    EXPECT_FALSE(parse_duration(bad).is_ok()) << bad;
  }
  EXPECT_FALSE(parse_duration("9999999999999999999").is_ok());
  EXPECT_FALSE(parse_duration("999999999999999d").is_ok());
}

TEST(FormatDuration, RoundTrips) {
  EXPECT_EQ(format_duration(0), "0ms");
  EXPECT_EQ(format_duration(500), "500ms");
  EXPECT_EQ(format_duration(7 * 86'400'000ll), "7d");
  EXPECT_EQ(format_duration(90 * 60'000ll), "1h30m");
  for (int64_t ms : {1ll, 999ll, 61'001ll, 86'400'001ll}) {
    EXPECT_EQ(*parse_duration(format_duration(ms)), ms);
  }
}

TEST(Mode, ParseAndFormat) {
  EXPECT_EQ(*parse_mode("755"), 0755u);
  EXPECT_EQ(*parse_mode("0644"), 0644u);
  EXPECT_EQ(*parse_mode("1777"), 01777u);
  EXPECT_EQ(*parse_mode("0"), 0u);
  for (const char* bad : {"", "8", "0x1ff", "u+x", "17777", "777777", "-1"}) {
    EXPECT_FALSE(parse_mode(bad).is_ok()) << bad;
  }
  EXPECT_EQ(format_mode_octal(0755), "0755");
  EXPECT_EQ(format_mode_octal(01777), "1777");
  EXPECT_EQ(format_mode_octal(0), "0000");
}

TEST(AclSpec, ParsesEntries) {
  auto r = parse_acl_spec("user:bob:rw,deny:group:guests:w, allow:group:ops:rwa ");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 3u);
  const auto& bob = (*r)[0];
  EXPECT_FALSE(bob.deny());
  EXPECT_EQ(bob.principal_type(), "user");
  EXPECT_EQ(bob.name(), "bob");
  EXPECT_TRUE(bob.read());
  EXPECT_TRUE(bob.write());
  EXPECT_FALSE(bob.admin());
  const auto& guests = (*r)[1];
  EXPECT_TRUE(guests.deny());
  EXPECT_EQ(guests.principal_type(), "group");
  EXPECT_EQ(guests.name(), "guests");
  EXPECT_FALSE(guests.read());
  EXPECT_TRUE(guests.write());
  EXPECT_TRUE((*r)[2].admin());
}

TEST(AclSpec, EmptyClears) {
  auto r = parse_acl_spec("");
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->empty());
  EXPECT_TRUE(parse_acl_spec("  ")->empty());
}

TEST(AclSpec, NameMayContainColon) {
  auto r = parse_acl_spec("user:svc:batch:r-a");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)[0].name(), "svc:batch");
  EXPECT_TRUE((*r)[0].read());
  EXPECT_FALSE((*r)[0].write());
  EXPECT_TRUE((*r)[0].admin());
}

TEST(AclSpec, Rejects) {
  for (const char* bad : {"bob:rw", "user:bob", "user::rw", "user:bob:", "user:bob:rx",
                          "user:bob:rw,", ",user:bob:r", "deny:bob:r", "other:x:r"}) {
    EXPECT_FALSE(parse_acl_spec(bad).is_ok()) << bad;
  }
}

TEST(AclSpec, FormatRoundTrips) {
  const std::string spec = "user:bob:rw,deny:group:guests:w,group:ops:rwa";
  auto r = parse_acl_spec(spec);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(format_acl_spec(*r), spec);
  EXPECT_EQ(format_acl_entry((*r)[1]), "deny:group:guests:w");
  EXPECT_EQ(format_acl_spec({}), "");
}

TEST(TopicRef, SplitsAtLastColon) {
  auto r = parse_topic_ref("/apps/events:clicks");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->stream, "/apps/events");
  EXPECT_EQ(r->topic, "clicks");
  auto c = parse_topic_ref("/a:b/s:t");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->stream, "/a:b/s");
  EXPECT_EQ(c->topic, "t");
  for (const char* bad : {"/apps/events", "/apps/events:", ":clicks", ""}) {
    EXPECT_FALSE(parse_topic_ref(bad).is_ok()) << bad;
  }
}

}  // namespace
}  // namespace tessera::client
