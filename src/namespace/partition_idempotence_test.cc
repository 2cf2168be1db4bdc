// Kafka idempotent producers on a partition shard (KIP-98): sequence checks,
// resends answered with their first offsets, fenced epochs; and ListOffsets
// by time.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/partition_ops.h"
#include "namespace/shard_test_util.h"
#include "storage/test_engine.h"

namespace tessera::ns {
namespace {

using internal::Command;
using internal::CommandResult;

constexpr ShardId kShard{9};
constexpr int64_t kNow = 1'700'000'000'000;

class PartitionIdempotenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Command c;
    c.set_now_ms(kNow);
    auto* p = c.mutable_init_partition()->mutable_partition();
    p->set_volume_id(1);
    p->set_stream_ino(2);
    p->set_topic("t");
    p->set_partition(0);
    p->set_subject("/s:t");
    p->set_grant(std::numeric_limits<uint64_t>::max());
    ASSERT_TRUE(shard_test::apply_handler(*engine_, kShard, apply_init_partition, c).is_ok());
  }

  // A batch of `n` records from producer `pid` at `epoch`, first sequence `seq`
  // (idempotent), or a plain produce when pid < 0. Timestamps ts, ts+1, ...
  Result<CommandResult> produce(int64_t pid, int32_t epoch, int32_t seq, int n, int64_t ts = 0) {
    Command c;
    c.set_now_ms(kNow);
    auto* op = c.mutable_produce();
    op->set_path("/s");
    op->set_topic("t");
    op->set_partition(0);
    if (pid >= 0) {
      op->set_idempotent(true);
      op->set_producer_id(pid);
      op->set_producer_epoch(epoch);
      op->set_base_sequence(seq);
    }
    for (int i = 0; i < n; ++i) {
      auto* r = op->add_records();
      r->set_value("v" + std::to_string(i));
      r->set_timestamp_ms(ts == 0 ? 0 : ts + i);
    }
    CommandResult result;
    TESSERA_TRY(shard_test::apply_handler(*engine_, kShard, apply_partition_produce, c, &result));
    return result;
  }

  uint64_t end_offset() {
    return shard_test::read_on(*engine_, kShard, [](const storage::StateReader& r) {
      auto info = partition_info(r);
      EXPECT_TRUE(info.is_ok());
      return info.is_ok() ? info->end_offset() : 0;
    });
  }

  storage::TestEngine engine_{"partition-idempotence"};
};

TEST_F(PartitionIdempotenceTest, InOrderBatchesAppend) {
  auto a = produce(7, 0, 0, 3);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->produce().offsets(0), 0u);
  auto b = produce(7, 0, 3, 2);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->produce().offsets(0), 3u);
  EXPECT_EQ(end_offset(), 5u);
}

TEST_F(PartitionIdempotenceTest, ResentBatchGetsItsOffsetsAndAppendsNothing) {
  ASSERT_TRUE(produce(7, 0, 0, 3).is_ok());
  ASSERT_TRUE(produce(-1, 0, 0, 4).is_ok());  // someone else's records in between
  ASSERT_TRUE(produce(7, 0, 3, 2).is_ok());   // offsets 7, 8
  auto again = produce(7, 0, 3, 2);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  ASSERT_EQ(again->produce().offsets_size(), 2);
  EXPECT_EQ(again->produce().offsets(0), 7u);
  EXPECT_EQ(again->produce().offsets(1), 8u);
  auto first = produce(7, 0, 0, 3);  // an older batch, still remembered
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->produce().offsets(0), 0u);
  EXPECT_EQ(end_offset(), 9u);
  EXPECT_EQ(shard_test::count_keys(*engine_, kShard, partition_records_prefix()), 3u);
}

TEST_F(PartitionIdempotenceTest, GapIsOutOfOrder) {
  ASSERT_TRUE(produce(7, 0, 0, 3).is_ok());
  auto gap = produce(7, 0, 5, 1);
  ASSERT_FALSE(gap.is_ok());
  EXPECT_EQ(gap.status().code(), Errc::failed_precondition);
  EXPECT_NE(gap.status().message().find("expected 3"), std::string::npos) << gap.status().message();
  EXPECT_EQ(end_offset(), 3u);
}

TEST_F(PartitionIdempotenceTest, NewProducerMustStartAtZero) {
  auto late = produce(8, 0, 4, 1);
  ASSERT_FALSE(late.is_ok());
  EXPECT_EQ(late.status().code(), Errc::failed_precondition);
  EXPECT_EQ(end_offset(), 0u);
}

TEST_F(PartitionIdempotenceTest, OlderEpochIsFencedNewerEpochRestartsSequence) {
  ASSERT_TRUE(produce(7, 1, 0, 2).is_ok());
  auto old_epoch = produce(7, 0, 2, 1);
  ASSERT_FALSE(old_epoch.is_ok());
  EXPECT_EQ(old_epoch.status().code(), Errc::version_mismatch);
  auto bad_restart = produce(7, 2, 2, 1);
  EXPECT_EQ(bad_restart.status().code(), Errc::failed_precondition);
  ASSERT_TRUE(produce(7, 2, 0, 1).is_ok());
  EXPECT_EQ(end_offset(), 3u);
}

TEST_F(PartitionIdempotenceTest, OnlyTheLastBatchesAreRemembered) {
  int32_t seq = 0;
  for (size_t i = 0; i < kProducerBatchesKept + 1; ++i, ++seq) {
    ASSERT_TRUE(produce(7, 0, seq, 1).is_ok());
  }
  // The first batch was forgotten: resending it is out of order, not a duplicate.
  auto forgotten = produce(7, 0, 0, 1);
  EXPECT_EQ(forgotten.status().code(), Errc::failed_precondition);
  auto remembered = produce(7, 0, seq - 1, 1);
  ASSERT_TRUE(remembered.is_ok());
  EXPECT_EQ(remembered->produce().offsets(0), static_cast<uint64_t>(seq - 1));
}

TEST_F(PartitionIdempotenceTest, SequenceWrapsAfterIntMax) {
  // A producer can only reach INT32_MAX through a long life; start near it by
  // a new epoch at 0 and a batch that ends exactly at INT32_MAX is legal.
  ASSERT_TRUE(produce(7, 0, 0, 1).is_ok());
  auto wrong = produce(7, 0, std::numeric_limits<int32_t>::max(), 1);
  EXPECT_EQ(wrong.status().code(), Errc::failed_precondition);
}

TEST_F(PartitionIdempotenceTest, OffsetForTimestamp) {
  ASSERT_TRUE(produce(-1, 0, 0, 5, 1000).is_ok());  // offsets 0..4 at 1000..1004
  ASSERT_TRUE(produce(-1, 0, 0, 5, 2000).is_ok());  // offsets 5..9 at 2000..2004
  auto at = [&](int64_t ts) {
    return shard_test::read_on(*engine_, kShard, [&](const storage::StateReader& r) {
      auto got = partition_offset_for_time(r, ts);
      EXPECT_TRUE(got.is_ok());
      return got.is_ok() ? *got : std::nullopt;
    });
  };
  auto first = at(0);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->offset, 0u);
  auto mid = at(1500);
  ASSERT_TRUE(mid.has_value());
  EXPECT_EQ(mid->offset, 5u);
  EXPECT_EQ(mid->timestamp_ms, 2000);
  auto exact = at(1003);
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->offset, 3u);
  EXPECT_FALSE(at(3000).has_value());
}

}  // namespace
}  // namespace tessera::ns
