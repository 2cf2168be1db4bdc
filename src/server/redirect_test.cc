// The redirect message shape: made and read by one pair of functions.

#include "server/redirect.h"

#include <gtest/gtest.h>

namespace tessera::server {
namespace {

TEST(Redirect, RoundTrip) {
  Status st = redirect_status(ShardId(7), "10.0.0.2:7100");
  EXPECT_EQ(st.code(), Errc::not_leader);
  EXPECT_EQ(st.message(), "shard 7: not hosted on this node; retry at 10.0.0.2:7100");
  EXPECT_EQ(redirect_address(st), "10.0.0.2:7100");
}

TEST(Redirect, OtherStatusesCarryNone) {
  EXPECT_EQ(redirect_address(Status::ok()), std::nullopt);
  EXPECT_EQ(redirect_address(Status(Errc::not_leader, "shard 7: not hosted on this node")), std::nullopt);
  // The shape counts only on a refusal before proposal.
  EXPECT_EQ(redirect_address(Status(Errc::unavailable, "x; retry at 10.0.0.2:7100")), std::nullopt);
  EXPECT_EQ(redirect_address(Status(Errc::not_leader, "x; retry at ")), std::nullopt);
  EXPECT_EQ(redirect_address(Status(Errc::not_leader, "x; retry at a b")), std::nullopt);
}

TEST(Redirect, NotAfterAProposal) {
  Status st = after_proposal(redirect_status(ShardId(7), "10.0.0.2:7100"));
  EXPECT_EQ(st.code(), Errc::unavailable);
  EXPECT_EQ(st.message(), "shard 7: not hosted on this node, after this request proposed a change: outcome unknown");
  EXPECT_EQ(redirect_address(st), std::nullopt);
  Status other(Errc::not_found, "/x: not found");
  EXPECT_EQ(after_proposal(other).code(), Errc::not_found);
  // A refusal without a redirect (no leader yet) after a proposal too.
  EXPECT_EQ(after_proposal(Status(Errc::not_leader, "shard 2: no leader elected yet")).code(), Errc::unavailable);
}

}  // namespace
}  // namespace tessera::server
