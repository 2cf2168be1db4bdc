// How a partition shard stores its records (partition_ops.h): one record
// group per produce, keyed by the offset of its last record; fetch and
// ListOffsets by time inside and across groups; retention deleting whole
// groups; values stored before groups (one Record per key) read back.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "namespace/partition_ops.h"
#include "namespace/partition_test_fixture.h"

namespace tessera::ns::partition_test {
namespace {

using internal::RecordGroup;

class PartitionGroupsTest : public PartitionOpsTest {
 protected:
  // A produce of `n` records "<first>".."<first+n-1>" of `bytes` bytes each
  // (padded with '.'), timestamps ts, ts+1, ... (0: the command's now_ms).
  void produce_n(int n, int first = 0, size_t bytes = 8, int64_t ts = 0) {
    std::vector<Record> records;
    for (int i = 0; i < n; ++i) {
      std::string v = std::to_string(first + i);
      v.resize(std::max(bytes, v.size()), '.');
      records.push_back(rec("", std::move(v), ts == 0 ? 0 : ts + i));
    }
    auto got = produce(records);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  }

  // The group stored at partition_record_key(last).
  RecordGroup stored_group(uint64_t last) {
    auto raw = read([&](const storage::StateReader& r) { return r.get(partition_record_key(last)); });
    EXPECT_TRUE(raw.is_ok() && raw->has_value());
    RecordGroup g;
    if (raw.is_ok() && raw->has_value()) {
      EXPECT_TRUE(g.ParseFromString(**raw));
    }
    return g;
  }

  // ListOffsets by time the way it was computed before record groups: the
  // same bisection over offsets, reading each record from a full fetch.
  std::optional<TimedOffset> reference_offset_for_time(int64_t timestamp_ms) {
    const PartitionInfo p = info();
    std::vector<Record> all;
    for (uint64_t at = p.start_offset(); at < p.end_offset();) {
      auto f = fetch(at, 1u << 30);
      EXPECT_TRUE(f.is_ok()) << f.status().to_string();
      if (!f.is_ok() || f->records_size() == 0) return std::nullopt;
      for (const auto& r : f->records()) all.push_back(r);
      at = all.back().offset() + 1;
    }
    auto ts = [&](uint64_t offset) { return all[offset - p.start_offset()].timestamp_ms(); };
    uint64_t lo = p.start_offset();
    uint64_t hi = p.end_offset();
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      if (ts(mid) < timestamp_ms) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo >= p.end_offset()) return std::nullopt;
    return TimedOffset{lo, ts(lo)};
  }

  // offset_for_time agrees with the reference for every timestamp in
  // [from, to].
  void expect_offsets_for_time_match(int64_t from, int64_t to) {
    for (int64_t ts = from; ts <= to; ++ts) {
      auto got = offset_for_time(ts);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      auto want = reference_offset_for_time(ts);
      ASSERT_EQ(got->has_value(), want.has_value()) << "timestamp " << ts;
      if (want) {
        EXPECT_EQ((*got)->offset, want->offset) << "timestamp " << ts;
        EXPECT_EQ((*got)->timestamp_ms, want->timestamp_ms) << "timestamp " << ts;
      }
    }
  }
};

TEST_F(PartitionGroupsTest, OneProduceIsOneGroupKeyedByItsLastOffset) {
  produce_n(500, 0, 1024);
  produce_n(3, 500);
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{499, 502}));
  RecordGroup g = stored_group(499);
  ASSERT_EQ(g.records_size(), 500);
  EXPECT_EQ(g.records(0).offset(), 0u);
  EXPECT_EQ(g.records(499).offset(), 499u);
  EXPECT_EQ(g.records(7).partition(), 1u);
  EXPECT_EQ(g.records(7).timestamp_ms(), kNow);
  EXPECT_EQ(info().bytes(), 500u * 1024 + 3 * 8);

  auto f = fetch(0, 1u << 30);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_EQ(f->records_size(), 503);
  for (int i = 0; i < 503; ++i) {
    EXPECT_EQ(f->records(i).offset(), static_cast<uint64_t>(i));
    EXPECT_EQ(f->records(i).value().substr(0, std::to_string(i).size()), std::to_string(i));
  }
}

TEST_F(PartitionGroupsTest, ProduceBeyondTheGroupBytesIsSeveralGroups) {
  constexpr size_t kThird = kRecordGroupBytesMax / 3 - 1;
  produce_n(7, 0, kThird);  // three records fit a group
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{2, 5, 6}));
  EXPECT_EQ(stored_group(5).records(0).offset(), 3u);
  EXPECT_EQ(fetched_offsets(4, 1u << 30), offsets(4, 6));
  EXPECT_EQ(info().bytes(), 7 * kThird);

  produce_n(2, 7, kRecordGroupBytesMax);  // a record at the limit is a group alone
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{2, 5, 6, 7, 8}));
}

TEST_F(PartitionGroupsTest, FetchStartsInsideAGroupAndSpansGroups) {
  produce_n(5, 0);
  produce_n(5, 5);
  produce_n(5, 10);
  EXPECT_EQ(fetched_offsets(0), offsets(0, 14));
  EXPECT_EQ(fetched_offsets(3), offsets(3, 14));
  EXPECT_EQ(fetched_offsets(5), offsets(5, 14));
  EXPECT_EQ(fetched_offsets(14), offsets(14, 14));
  auto f = fetch(7);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->records(0).value(), "7.......");
  EXPECT_EQ(f->start_offset(), 0u);
  EXPECT_EQ(f->end_offset(), 15u);
}

TEST_F(PartitionGroupsTest, FetchBudgetCutsInsideAGroup) {
  produce_n(5, 0, 100);
  produce_n(5, 5, 100);
  auto all = fetch(0);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->records_size(), 10);
  // The size of each record but the first (proto3 leaves offset 0 out).
  const uint64_t one = all->records(1).ByteSizeLong();
  EXPECT_EQ(fetched_offsets(1, 3 * one), offsets(1, 3));           // inside the first group
  EXPECT_EQ(fetched_offsets(3, 4 * one), offsets(3, 6));           // across the boundary
  EXPECT_EQ(fetched_offsets(3, 4 * one - 1), offsets(3, 5));       // cut before the last
  EXPECT_EQ(fetched_offsets(6, 1), offsets(6, 6));                 // at least one record
  EXPECT_EQ(fetched_offsets(5, 5 * one), offsets(5, 9));           // one whole group
}

TEST_F(PartitionGroupsTest, FetchReturnsAtMostTheRecordLimit) {
  ASSERT_TRUE(produce(std::vector<Record>(kProduceRecordsMax, rec("", "x"))).is_ok());
  ASSERT_TRUE(produce({rec("", "y"), rec("", "z")}).is_ok());
  auto f = fetch(1, 1ull << 40);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_EQ(f->records_size(), 100000);  // partition_fetch's limit, across two groups
  EXPECT_EQ(f->records(0).offset(), 1u);
  EXPECT_EQ(f->records(99999).offset(), 100000u);
}

TEST_F(PartitionGroupsTest, ValuesStoredBeforeGroupsReadBack) {
  put_legacy({rec("k0", "a", 1000), rec("", "b", 1001), rec("k2", "c", 1002)});
  Record with_header = rec("k3", "d", 1003);
  auto* h = with_header.add_headers();
  h->set_key("h");
  h->set_value("v");
  put_legacy({with_header});
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(info().bytes(), 3u + 1 + 3 + 5);

  produce_n(3, 4, 8, 2000);  // offsets 4..6 in one group
  produce_n(2, 7, 8, 3000);  // 7..8
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{0, 1, 2, 3, 6, 8}));
  EXPECT_EQ(info().end_offset(), 9u);

  auto f = fetch(0);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_EQ(f->records_size(), 9);
  EXPECT_EQ(f->records(0).key(), "k0");
  EXPECT_EQ(f->records(0).value(), "a");
  EXPECT_EQ(f->records(0).timestamp_ms(), 1000);
  EXPECT_EQ(f->records(3).headers(0).value(), "v");
  EXPECT_EQ(f->records(4).value(), "4.......");
  for (int i = 0; i < 9; ++i) EXPECT_EQ(f->records(i).offset(), static_cast<uint64_t>(i));
  EXPECT_EQ(fetched_offsets(2), offsets(2, 8));
  EXPECT_EQ(fetched_offsets(5), offsets(5, 8));
  EXPECT_EQ(fetched_offsets(2, 1), offsets(2, 2));

  auto t = offset_for_time(1500);
  ASSERT_TRUE(t.is_ok() && t->has_value());
  EXPECT_EQ((*t)->offset, 4u);
  EXPECT_EQ((*t)->timestamp_ms, 2000);
  expect_offsets_for_time_match(990, 3010);

  // Retention deletes the old records one by one, then whole groups.
  auto two = retention(2500, 1000, 0);  // keeps timestamps >= 1500
  ASSERT_TRUE(two.is_ok()) << two.status().to_string();
  EXPECT_EQ(two->start_offset(), 4u);
  EXPECT_EQ(two->bytes(), 5u * 8);
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{6, 8}));
  auto by_bytes = retention(2500, 0, 20);
  ASSERT_TRUE(by_bytes.is_ok());
  EXPECT_EQ(by_bytes->start_offset(), 7u);
  EXPECT_EQ(fetched_offsets(7), offsets(7, 8));
}

TEST_F(PartitionGroupsTest, LegacyRecordsAfterRetentionStartMidway) {
  put_legacy({rec("", "a"), rec("", "b"), rec("", "c")});
  ASSERT_TRUE(retention(kNow, 0, 1).is_ok());  // deletes a and b, keeps the newest
  EXPECT_EQ(info().start_offset(), 2u);
  produce_n(2, 3);
  EXPECT_EQ(fetched_offsets(2), offsets(2, 4));
  EXPECT_EQ(fetch(1).status().code(), Errc::out_of_range);
}

TEST_F(PartitionGroupsTest, OffsetForTimeAcrossGroups) {
  for (int g = 0; g < 7; ++g) produce_n(5, g * 5, 8, 1000 + g * 100);  // 1000..1004, 1100..
  auto t = offset_for_time(1203);
  ASSERT_TRUE(t.is_ok() && t->has_value());
  EXPECT_EQ((*t)->offset, 13u);
  EXPECT_EQ((*t)->timestamp_ms, 1203);
  auto between = offset_for_time(1250);
  ASSERT_TRUE(between.is_ok() && between->has_value());
  EXPECT_EQ((*between)->offset, 15u);
  EXPECT_FALSE(offset_for_time(1605)->has_value());
  expect_offsets_for_time_match(990, 1610);
}

TEST_F(PartitionGroupsTest, OffsetForTimeMatchesTheRecordBisectionWhenTimestampsDecrease) {
  // Producer timestamps that go back inside and across groups: bisection is
  // not exact then, but gives what it gave over single records.
  const std::vector<std::vector<int64_t>> groups = {
      {500, 900, 100}, {700}, {300, 800, 200, 1000}, {600, 400}, {950, 50, 1100}};
  for (const auto& g : groups) {
    std::vector<Record> records;
    for (int64_t ts : g) records.push_back(rec("", "x", ts));
    ASSERT_TRUE(produce(records).is_ok());
  }
  expect_offsets_for_time_match(0, 1200);
}

TEST_F(PartitionGroupsTest, RetentionByAgeDeletesAGroupOnlyWhenAllOfItExpired) {
  produce_n(2, 0, 1, 1000);  // 1000, 1001
  produce_n(2, 2, 1, 2000);  // 2000, 2001
  produce_n(1, 4, 1, 4000);
  auto some = retention(3001, 1000, 0);  // keeps timestamps >= 2001
  ASSERT_TRUE(some.is_ok()) << some.status().to_string();
  EXPECT_EQ(some->start_offset(), 2u);  // 2000 is expired, 2001 is not
  EXPECT_EQ(some->bytes(), 3u);
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{3, 4}));
  auto more = retention(3002, 1000, 0);
  EXPECT_EQ(more->start_offset(), 4u);
  auto all = retention(5001, 1000, 0);  // age empties the partition, newest group too
  EXPECT_EQ(all->start_offset(), 5u);
  EXPECT_EQ(all->bytes(), 0u);
  EXPECT_EQ(count_records(), 0u);
}

TEST_F(PartitionGroupsTest, RetentionByBytesDeletesWholeGroupsButNotTheNewest) {
  for (int g = 0; g < 3; ++g) produce_n(3, g * 3, 100);  // three groups of 300 bytes
  auto within = retention(kNow, 0, 900);
  ASSERT_TRUE(within.is_ok());
  EXPECT_EQ(within->start_offset(), 0u);
  auto one = retention(kNow, 0, 650);  // 900 > 650: the first goes, 600 is within
  ASSERT_TRUE(one.is_ok()) << one.status().to_string();
  EXPECT_EQ(one->start_offset(), 3u);
  EXPECT_EQ(one->bytes(), 600u);
  EXPECT_EQ(record_keys(), (std::vector<uint64_t>{5, 8}));
  auto two = retention(kNow, 0, 100);  // 600 > 100: the second goes; the newest stays
  ASSERT_TRUE(two.is_ok());
  EXPECT_EQ(two->start_offset(), 6u);
  EXPECT_EQ(two->bytes(), 300u);
  EXPECT_EQ(fetched_offsets(6), offsets(6, 8));
  EXPECT_EQ(fetch(5).status().code(), Errc::out_of_range);

  produce_n(1, 9, 50);  // now the 300-byte group is not the newest
  auto three = retention(kNow, 0, 100);
  ASSERT_TRUE(three.is_ok());
  EXPECT_EQ(three->start_offset(), 9u);
  EXPECT_EQ(three->bytes(), 50u);
}

TEST_F(PartitionGroupsTest, RetentionBoundsRecordsPerCommandByWholeGroups) {
  ASSERT_TRUE(produce(std::vector<Record>(60000, rec("", "x"))).is_ok());
  ASSERT_TRUE(produce(std::vector<Record>(60000, rec("", "y"))).is_ok());
  ASSERT_TRUE(produce({rec("", "z")}).is_ok());
  auto first = retention(kNow, 0, 1);  // the second group would pass kRetentionRecordsMax
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->start_offset(), 60000u);
  EXPECT_EQ(first->bytes(), 60001u);
  auto second = retention(kNow, 0, 1);  // the next op continues, up to the newest group
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->start_offset(), 120000u);
  EXPECT_EQ(second->bytes(), 1u);
  EXPECT_EQ(count_records(), 1u);
}

TEST_F(PartitionGroupsTest, MisplacedOrBrokenGroupsAreCorruption) {
  produce_n(3, 0);
  RecordGroup g = stored_group(2);
  put_raw(5, g.SerializeAsString(), 6, info().bytes());  // offsets 0..2 keyed by 5
  auto misplaced = fetch(3);
  EXPECT_EQ(misplaced.status().code(), Errc::corruption);
  EXPECT_EQ(misplaced.status().message(),
            "/s:t partition 1: record group at offset 5 ends at offset 2");

  g.mutable_records(1)->set_offset(7);
  put_raw(2, g.SerializeAsString(), 6, info().bytes());
  auto gap = fetch(0);
  EXPECT_EQ(gap.status().code(), Errc::corruption);
  EXPECT_EQ(gap.status().message(), "/s:t partition 1: record group at offset 2 has a gap at offset 1");
  EXPECT_EQ(offset_for_time(0).status().code(), Errc::corruption);
  EXPECT_EQ(retention(kNow, 0, 1).status().code(), Errc::corruption);

  put_raw(2, "\xff", 6, info().bytes());
  EXPECT_EQ(fetch(0).status().code(), Errc::corruption);
}

}  // namespace
}  // namespace tessera::ns::partition_test
