#include "cli/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace tessera::cli {
namespace {

TEST(RenderProgress, WithTotal) {
  EXPECT_EQ(render_progress("put /f", 0, 4096, 0), "put /f   0% [>                       ] 0/4.0K");
  EXPECT_EQ(render_progress("put /f", 2048, 4096, 1000),
            "put /f  50% [============>           ] 2.0K/4.0K 2.0K/s");
  EXPECT_EQ(render_progress("get /f", 4096, 4096, 2000),
            "get /f 100% [========================] 4.0K/4.0K 2.0K/s");
}

TEST(RenderProgress, WithoutTotal) {
  EXPECT_EQ(render_progress("put /f", 3 << 20, 0, 1000), "put /f 3.0M 3.0M/s");
  EXPECT_EQ(render_progress("put /f", 10, 0, 0), "put /f 10");
}

TEST(RenderProgress, DoneBeyondTotalIsClamped) {
  EXPECT_EQ(render_progress("x", 5000, 4096, 0), "x 100% [========================] 4.0K/4.0K");
}

TEST(Progress, DisabledWritesNothing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p("put /f", 100, false, f);
    p.advance(50);
    p.advance(50);
  }
  EXPECT_EQ(std::ftell(f), 0);
  std::fclose(f);
}

TEST(Progress, EnabledDrawsAndErases) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p("put /f", 100, true, f);
    p.advance(50);
    p.finish();
  }
  std::rewind(f);
  char buf[512] = {};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::string out(buf, n);
  EXPECT_EQ(out.front(), '\r');
  EXPECT_NE(out.find("put /f  50%"), std::string::npos);
  EXPECT_EQ(out.back(), '\r');
  std::fclose(f);
}

}  // namespace
}  // namespace tessera::cli
