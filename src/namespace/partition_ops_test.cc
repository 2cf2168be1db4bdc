// Partition shards: init, produce, fetch, offset commits, grants, retention
// (partition_ops.h), and the dispatch of VolumeMachine. How records are
// stored as record groups: partition_groups_test.cc.

#include "namespace/partition_ops.h"

#include <string>
#include <vector>

#include "namespace/partition_test_fixture.h"
#include "namespace/volume_machine.h"

namespace tessera::ns::partition_test {
namespace {

TEST_F(PartitionOpsTest, InitStoresIdentityWithZeroOffsets) {
  PartitionInfo got = info();
  EXPECT_EQ(got.volume_id(), 3u);
  EXPECT_EQ(got.stream_ino(), 2u);
  EXPECT_EQ(got.topic(), "t");
  EXPECT_EQ(got.partition(), 1u);
  EXPECT_EQ(got.subject(), "/s:t");
  EXPECT_EQ(got.start_offset(), 0u);
  EXPECT_EQ(got.end_offset(), 0u);
  EXPECT_EQ(got.bytes(), 0u);
  EXPECT_EQ(got.created_ms(), kNow);
  EXPECT_EQ(partition_subject(got), "/s:t partition 1");

  CommandResult result;
  Status st = init(identity(), &result);
  EXPECT_EQ(st.code(), Errc::already_exists);
  EXPECT_EQ(st.message(), "/s:t partition 1 (volume 3, stream inode 2): already exists");
  EXPECT_EQ(result.partition().end_offset(), 0u);

  Status other = init(identity("t", 2));
  EXPECT_EQ(other.code(), Errc::invalid_argument);
  EXPECT_EQ(other.message(),
            "partition shard holds /s:t partition 1 (volume 3, stream inode 2), cannot "
            "initialise it as /s:t partition 2 (volume 3, stream inode 2)");
  EXPECT_EQ(init(identity("u", 1)).code(), Errc::invalid_argument);
  EXPECT_EQ(info().partition(), 1u);
}

TEST_F(PartitionOpsTest, UninitialisedShardRefusesEverything) {
  storage::TestEngine other("partitions-empty");
  auto txn = other->begin();
  storage::TxnWriter w(*txn, kShard);
  Command c = command();
  c.mutable_produce()->set_topic("t");
  *c.mutable_produce()->add_records() = rec("", "x");
  CommandResult result;
  Status st = apply_partition_produce(w, c, result);
  EXPECT_EQ(st.code(), Errc::not_found);
  EXPECT_EQ(st.message(), "partition shard not initialised");
  EXPECT_EQ(apply_partition_commit(w, c, result).code(), Errc::not_found);
  EXPECT_EQ(apply_partition_retention(w, c, result).code(), Errc::not_found);
  EXPECT_EQ(partition_fetch(w, 0, 0).status().code(), Errc::not_found);
  EXPECT_EQ(partition_committed(w, "g").status().code(), Errc::not_found);
}

TEST_F(PartitionOpsTest, ProduceAssignsContiguousOffsets) {
  auto first = produce({rec("k", "v1"), rec("", "v2", 42), rec("k", "v3", -1)});
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  const auto& p1 = first->produce();
  EXPECT_EQ(std::vector<uint64_t>(p1.offsets().begin(), p1.offsets().end()),
            (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(std::vector<uint32_t>(p1.partitions().begin(), p1.partitions().end()),
            (std::vector<uint32_t>{1, 1, 1}));
  EXPECT_EQ(first->partition().end_offset(), 3u);
  EXPECT_EQ(first->partition().bytes(), 3u * 2 + 2);

  auto second = produce({rec("", "v4"), rec("", "v5")}, kNow + 1);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->produce().offsets(0), 3u);
  EXPECT_EQ(second->produce().offsets(1), 4u);
  EXPECT_EQ(second->partition().end_offset(), 5u);
  EXPECT_EQ(info().bytes(), 5u * 2 + 2);
  EXPECT_EQ(info().start_offset(), 0u);

  auto f = fetch(0);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_EQ(f->records_size(), 5);
  EXPECT_EQ(f->start_offset(), 0u);
  EXPECT_EQ(f->end_offset(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(f->records(i).offset(), static_cast<uint64_t>(i));
    EXPECT_EQ(f->records(i).partition(), 1u);
    EXPECT_EQ(f->records(i).value(), "v" + std::to_string(i + 1));
  }
  EXPECT_EQ(f->records(0).timestamp_ms(), kNow);
  EXPECT_EQ(f->records(1).timestamp_ms(), 42);
  EXPECT_EQ(f->records(2).timestamp_ms(), kNow);  // Kafka's -1: no timestamp
  EXPECT_EQ(f->records(3).timestamp_ms(), kNow + 1);
}

TEST_F(PartitionOpsTest, ProduceToAnotherPartitionIsRefused) {
  auto part = produce({rec("", "x")}, kNow, 0);
  EXPECT_EQ(part.status().code(), Errc::invalid_argument);
  EXPECT_EQ(part.status().message(),
            "/s:t partition 1: produce for topic t partition 0 sent to this partition shard");
  EXPECT_EQ(produce({rec("", "x")}, kNow, -1).status().code(), Errc::invalid_argument);
  EXPECT_EQ(produce({rec("", "x")}, kNow, 1, "u").status().code(), Errc::invalid_argument);
  EXPECT_EQ(info().end_offset(), 0u);
}

TEST_F(PartitionOpsTest, InvalidProduceWritesNothing) {
  auto empty = produce({});
  EXPECT_EQ(empty.status().code(), Errc::invalid_argument);
  EXPECT_EQ(empty.status().message(), "/s:t partition 1: produce without records");
  auto many = produce(std::vector<Record>(kProduceRecordsMax + 1, rec("", "x")));
  EXPECT_EQ(many.status().code(), Errc::too_large);

  Record big = rec("", std::string(kRecordBytesMax, 'v'));
  big.add_headers()->set_key("h");  // one byte over the limit
  auto r = produce({rec("", "ok"), big});
  EXPECT_EQ(r.status().code(), Errc::too_large);
  EXPECT_EQ(r.status().message(),
            "/s:t partition 1: record 1 holds 1048577 bytes, at most 1048576");
  EXPECT_EQ(info().end_offset(), 0u);
  EXPECT_EQ(info().bytes(), 0u);
  EXPECT_EQ(count_records(), 0u);

  Record exact = rec("", std::string(kRecordBytesMax - 1, 'v'));
  exact.add_headers()->set_key("h");
  EXPECT_TRUE(produce({exact}).is_ok());
  EXPECT_EQ(info().bytes(), kRecordBytesMax);
}

TEST_F(PartitionOpsTest, FetchHonoursMaxBytesButReturnsAtLeastOneRecord) {
  std::vector<Record> records;
  for (int i = 0; i < 10; ++i) {
    records.push_back(rec("", std::string(100, static_cast<char>('a' + i))));
  }
  ASSERT_TRUE(produce(records).is_ok());

  auto all = fetch(0);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->records_size(), 10);
  uint64_t three = 0;
  for (int i = 0; i < 3; ++i) three += all->records(i).ByteSizeLong();

  auto one = fetch(0, 1);
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(one->records_size(), 1);
  EXPECT_EQ(fetch(0, three)->records_size(), 3);
  EXPECT_EQ(fetch(0, three - 1)->records_size(), 2);
  auto tail = fetch(8, three);
  ASSERT_TRUE(tail.is_ok());
  ASSERT_EQ(tail->records_size(), 2);
  EXPECT_EQ(tail->records(0).offset(), 8u);

  auto at_end = fetch(10);
  ASSERT_TRUE(at_end.is_ok());
  EXPECT_EQ(at_end->records_size(), 0);
  EXPECT_EQ(at_end->end_offset(), 10u);
  auto past = fetch(11);
  EXPECT_EQ(past.status().code(), Errc::out_of_range);
  EXPECT_EQ(past.status().message(), "/s:t partition 1: offset 11 is after the end offset 10");
}

TEST_F(PartitionOpsTest, CommitAndCommitted) {
  auto none = committed("g");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(commit("g", 7).is_ok());
  ASSERT_TRUE(commit("g/with:odd chars", 99).is_ok());
  EXPECT_EQ(committed("g")->value(), 7u);
  EXPECT_EQ(committed("g/with:odd chars")->value(), 99u);
  EXPECT_FALSE(committed("h")->has_value());
  ASSERT_TRUE(commit("g", 3).is_ok());
  EXPECT_EQ(committed("g")->value(), 3u);

  EXPECT_EQ(commit("", 1).code(), Errc::invalid_argument);
  EXPECT_EQ(commit(std::string(256, 'g'), 1).code(), Errc::invalid_argument);
  EXPECT_EQ(commit(std::string("a\0b", 3), 1).code(), Errc::invalid_argument);
  EXPECT_EQ(commit("g", 1, 0).code(), Errc::invalid_argument);
  EXPECT_EQ(committed("").status().code(), Errc::invalid_argument);
  EXPECT_EQ(committed("g")->value(), 3u);
}

TEST_F(PartitionOpsTest, RetentionByBytesAdvancesStartOffset) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(produce({rec("", std::string(100, 'r'))}).is_ok());

  auto unset = retention(kNow, 0, 0);  // no settings: nothing happens
  ASSERT_TRUE(unset.is_ok());
  EXPECT_EQ(unset->start_offset(), 0u);
  EXPECT_EQ(unset->bytes(), 1000u);

  auto after = retention(kNow, 0, 350);
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  EXPECT_EQ(after->start_offset(), 7u);
  EXPECT_EQ(after->end_offset(), 10u);
  EXPECT_EQ(after->bytes(), 300u);
  EXPECT_EQ(info().start_offset(), 7u);
  EXPECT_EQ(count_records(), 3u);

  auto before = fetch(0);
  EXPECT_EQ(before.status().code(), Errc::out_of_range);
  EXPECT_EQ(before.status().message(), "/s:t partition 1: offset 0 is before the start offset 7");
  auto kept = fetch(7);
  ASSERT_TRUE(kept.is_ok());
  EXPECT_EQ(kept->records_size(), 3);
  EXPECT_EQ(kept->start_offset(), 7u);

  auto again = retention(kNow, 0, 350);  // idempotent
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->start_offset(), 7u);
  EXPECT_EQ(again->bytes(), 300u);
}

TEST_F(PartitionOpsTest, RetentionByAgeMayEmptyThePartition) {
  for (auto r : {rec("", "a", 1000), rec("", "b", 2000), rec("", "c", 3000), rec("", "d", 4000)}) {
    ASSERT_TRUE(produce({r}).is_ok());
  }
  auto some = retention(4000, 1500, 0);  // keeps timestamps >= 2500
  ASSERT_TRUE(some.is_ok());
  EXPECT_EQ(some->start_offset(), 2u);
  EXPECT_EQ(some->bytes(), 2u);
  EXPECT_EQ(fetch(2)->records(0).value(), "c");

  auto all = retention(100000, 1500, 0);
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all->start_offset(), 4u);
  EXPECT_EQ(all->end_offset(), 4u);
  EXPECT_EQ(all->bytes(), 0u);
  EXPECT_EQ(count_records(), 0u);
  auto empty = fetch(4);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->records_size(), 0);
  EXPECT_EQ(empty->start_offset(), 4u);

  auto next = produce({rec("", "e", 200000)});
  ASSERT_TRUE(next.is_ok());
  EXPECT_EQ(next->produce().offsets(0), 4u);
}

TEST_F(PartitionOpsTest, RetentionWorkIsBoundedPerCommand) {
  ASSERT_TRUE(produce(std::vector<Record>(kProduceRecordsMax, rec("", "x"))).is_ok());
  ASSERT_TRUE(produce(std::vector<Record>(10, rec("", "y"))).is_ok());

  auto first = retention(kNow, 0, 1);  // deletes at most kRetentionRecordsMax records
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->start_offset(), kRetentionRecordsMax);
  EXPECT_EQ(first->bytes(), 10u);
  auto second = retention(kNow + 10, 5, 1);  // the next op continues
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->start_offset(), kRetentionRecordsMax + 10);
  EXPECT_EQ(second->bytes(), 0u);
  EXPECT_EQ(count_records(), 0u);
}

TEST_F(PartitionOpsTest, ProduceBeyondTheGrantIsRefusedAndWritesNothing) {
  set_grant(10);
  ASSERT_TRUE(produce_bytes(6).is_ok());

  CommandResult refused;
  Status st = produce_bytes(5, &refused);
  EXPECT_EQ(st.code(), Errc::quota_exceeded);
  EXPECT_EQ(st.message(),
            "/s:t partition 1: holds 6 bytes of its 10-byte quota grant, needs 5 more");
  EXPECT_EQ(refused.partition().bytes(), 6u);  // what the caller asks the name shard with
  EXPECT_EQ(refused.partition().grant(), 10u);
  EXPECT_EQ(refused.produce().offsets_size(), 0);
  EXPECT_EQ(info().end_offset(), 1u);
  EXPECT_EQ(info().bytes(), 6u);
  EXPECT_EQ(count_records(), 1u);
  EXPECT_EQ(produce_bytes(11).code(), Errc::quota_exceeded);  // alone beyond the grant

  ASSERT_TRUE(produce_bytes(4).is_ok());  // fills the grant exactly
  EXPECT_EQ(info().bytes(), 10u);
  EXPECT_EQ(produce_bytes(1).code(), Errc::quota_exceeded);
  ASSERT_TRUE(grant(11).is_ok());  // the name shard granted more: the retry goes through
  EXPECT_TRUE(produce_bytes(1).is_ok());
  EXPECT_EQ(info().end_offset(), 3u);
}

TEST_F(PartitionOpsTest, GrantGrowsButNeverLowers) {
  set_grant(100);
  auto lower = grant(50);
  ASSERT_TRUE(lower.is_ok()) << lower.status().to_string();
  EXPECT_EQ(lower->grant(), 100u);
  EXPECT_EQ(grant(0)->grant(), 100u);
  auto higher = grant(200);
  ASSERT_TRUE(higher.is_ok());
  EXPECT_EQ(higher->grant(), 200u);
  EXPECT_EQ(higher->topic(), "t");  // the rest of the record is kept
  EXPECT_EQ(info().grant(), 200u);
}

TEST_F(PartitionOpsTest, ShrinkNeverGoesBelowTheBytesHeld) {
  set_grant(100);
  ASSERT_TRUE(produce_bytes(60).is_ok());
  auto shrunk = grant(10, true);
  ASSERT_TRUE(shrunk.is_ok()) << shrunk.status().to_string();
  EXPECT_EQ(shrunk->grant(), 60u);
  EXPECT_EQ(shrunk->bytes(), 60u);
  EXPECT_EQ(grant(80, true)->grant(), 60u);  // shrinking never raises it
  EXPECT_EQ(info().grant(), 60u);
  EXPECT_EQ(produce_bytes(1).code(), Errc::quota_exceeded);

  ASSERT_TRUE(retention(kNow + 10, 1, 0).is_ok());  // drops the record
  EXPECT_EQ(grant(0, true)->grant(), 0u);
}

TEST_F(PartitionOpsTest, VolumeMachineServesPartitionShards) {
  VolumeMachine machine;
  auto run = [&](const Command& cmd) {
    return shard_test::apply_machine(*engine_, kShard, machine, cmd);
  };
  Command produce = command();
  produce.mutable_produce()->set_topic("t");
  produce.mutable_produce()->set_partition(1);
  *produce.mutable_produce()->add_records() = rec("", "x");
  CommandResult produced = run(produce);
  EXPECT_EQ(produced.errc(), 0u) << produced.message();
  EXPECT_EQ(produced.partition().end_offset(), 1u);

  Command retention = command();
  retention.mutable_partition_retention()->set_retention_bytes(1);
  EXPECT_EQ(run(retention).partition().bytes(), 1u);
  Command old_retention = command();
  old_retention.mutable_retention();
  EXPECT_EQ(run(old_retention).errc(), 0u);  // a no-op, even without a volume record

  Command create = command();
  create.mutable_create()->set_path("/x");
  CommandResult refused = run(create);  // a partition shard has no namespace
  EXPECT_EQ(refused.errc(), static_cast<uint32_t>(Errc::unavailable));
  EXPECT_EQ(info().end_offset(), 1u);
}

}  // namespace
}  // namespace tessera::ns::partition_test
