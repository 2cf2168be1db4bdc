#pragma once
// PartitionOpsTest: the fixture of the partition shard tests
// (partition_ops_test.cc, partition_groups_test.cc): one partition shard
// holding partition 1 of topic "t" of stream "/s". Tests only.

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "base/coding.h"
#include "namespace/keys.h"
#include "namespace/partition_ops.h"
#include "namespace/shard_test_util.h"
#include "namespace/stream_ops.h"
#include "storage/engine.h"
#include "storage/state_view.h"
#include "storage/test_engine.h"

namespace tessera::ns::partition_test {

using internal::Command;
using internal::CommandResult;
using internal::PartitionInfo;
using tessera::v1::Record;

constexpr ShardId kShard{5};
constexpr int64_t kNow = 1'700'000'000'000;

inline Record rec(std::string key, std::string value, int64_t ts = 0) {
  Record r;
  r.set_key(std::move(key));
  r.set_value(std::move(value));
  r.set_timestamp_ms(ts);
  return r;
}

inline PartitionInfo identity(std::string topic = "t", uint32_t partition = 1) {
  PartitionInfo p;
  p.set_volume_id(3);
  p.set_stream_ino(2);
  p.set_topic(std::move(topic));
  p.set_partition(partition);
  p.set_subject("/s:" + p.topic());
  p.set_grant(std::numeric_limits<uint64_t>::max());  // a volume without quota
  return p;
}

// One partition shard holding partition 1 of topic "t" of stream "/s";
// commands run the way the shard host runs them (writes undone on error).
class PartitionOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PartitionInfo p = identity();
    p.set_start_offset(4);  // offsets, bytes and created_ms in the op are ignored
    p.set_end_offset(8);
    p.set_bytes(100);
    p.set_created_ms(1);
    ASSERT_TRUE(init(p).is_ok());
  }

  using ApplyFn = Status (*)(storage::StateWriter&, const Command&, CommandResult&);
  Status apply(ApplyFn fn, const Command& cmd, CommandResult* out = nullptr) {
    return shard_test::apply_handler(*engine_, kShard, fn, cmd, out);
  }

  static Command command(int64_t now_ms = kNow) {
    Command c;
    c.set_now_ms(now_ms);
    return c;
  }

  Status init(const PartitionInfo& info, CommandResult* out = nullptr) {
    Command c = command();
    *c.mutable_init_partition()->mutable_partition() = info;
    return apply(apply_init_partition, c, out);
  }

  static Command produce_command(const std::vector<Record>& records, int64_t now_ms = kNow,
                                 int32_t partition = 1, const std::string& topic = "t") {
    Command c = command(now_ms);
    auto* op = c.mutable_produce();
    op->set_path("/s");
    op->set_topic(topic);
    op->set_partition(partition);
    for (const auto& r : records) *op->add_records() = r;
    return c;
  }
  Result<CommandResult> produce(const std::vector<Record>& records, int64_t now_ms = kNow,
                                int32_t partition = 1, const std::string& topic = "t") {
    CommandResult result;
    TESSERA_TRY(apply(apply_partition_produce, produce_command(records, now_ms, partition, topic),
                      &result));
    return result;
  }
  // A produce of one record of `bytes` bytes; *out is set even when refused.
  Status produce_bytes(uint64_t bytes, CommandResult* out = nullptr) {
    return apply(apply_partition_produce, produce_command({rec("", std::string(bytes, 'b'))}), out);
  }

  // PartitionGrantOp: grows the grant to `bytes`, or with shrink lowers it.
  Result<PartitionInfo> grant(uint64_t bytes, bool shrink = false) {
    Command c = command();
    c.mutable_partition_grant()->set_grant(bytes);
    c.mutable_partition_grant()->set_shrink(shrink);
    CommandResult result;
    TESSERA_TRY(apply(apply_partition_grant, c, &result));
    return result.partition();
  }
  // The partition starts with an unlimited grant (a volume without quota):
  // shrinking it while it is empty sets any grant.
  void set_grant(uint64_t bytes) {
    auto got = grant(bytes, true);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    ASSERT_EQ(got->grant(), bytes);
  }

  Status commit(const std::string& group, uint64_t offset, uint32_t partition = 1) {
    Command c = command();
    auto* op = c.mutable_commit_offset();
    op->set_path("/s");
    op->set_topic("t");
    op->set_partition(partition);
    op->set_group(group);
    op->set_offset(offset);
    return apply(apply_partition_commit, c);
  }

  Result<PartitionInfo> retention(int64_t now_ms, int64_t age_ms, uint64_t bytes) {
    Command c = command(now_ms);
    c.mutable_partition_retention()->set_retention_age_ms(age_ms);
    c.mutable_partition_retention()->set_retention_bytes(bytes);
    CommandResult result;
    TESSERA_TRY(apply(apply_partition_retention, c, &result));
    return result.partition();
  }

  // Calls fn with a StateReader over a fresh snapshot.
  template <typename Fn>
  auto read(Fn fn) {
    return shard_test::read_on(*engine_, kShard, fn);
  }
  Result<tessera::v1::FetchResponse> fetch(uint64_t offset, uint64_t max_bytes = 0) {
    return read(
        [&](const storage::StateReader& r) { return partition_fetch(r, offset, max_bytes); });
  }
  Result<std::optional<uint64_t>> committed(const std::string& group) {
    return read([&](const storage::StateReader& r) { return partition_committed(r, group); });
  }
  PartitionInfo info() {
    return read([](const storage::StateReader& r) { return partition_info(r); }).value();
  }

  Result<std::optional<TimedOffset>> offset_for_time(int64_t timestamp_ms) {
    return read([&](const storage::StateReader& r) {
      return partition_offset_for_time(r, timestamp_ms);
    });
  }

  // The number of stored values (record groups, or records stored before
  // groups).
  size_t count_records() {
    return shard_test::count_keys(*engine_, kShard, partition_records_prefix());
  }
  // The offset each stored value is keyed by, in key order.
  std::vector<uint64_t> record_keys() {
    std::vector<uint64_t> out;
    const std::string prefix = partition_records_prefix();
    Status st = read([&](const storage::StateReader& r) {
      return r.scan(prefix, prefix_successor(prefix), [&](std::string_view k, std::string_view) {
        out.push_back(get_be64(k.substr(prefix.size())));
        return true;
      });
    });
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return out;
  }
  // Writes `value` at key partition_record_key(key_offset) and sets the
  // partition's end offset and bytes, as a shard written before record
  // groups (or a corrupted one) holds them.
  void put_raw(uint64_t key_offset, const std::string& value, uint64_t end_offset,
               uint64_t bytes) {
    Status st = shard_test::apply_on(*engine_, kShard, [&](storage::StateWriter& w) -> Status {
      TESSERA_ASSIGN_OR_RETURN(PartitionInfo p, partition_info(w));
      w.put(partition_record_key(key_offset), value);
      p.set_end_offset(end_offset);
      p.set_bytes(bytes);
      w.put(partition_info_key(), p.SerializeAsString());
      return Status::ok();
    });
    ASSERT_TRUE(st.is_ok()) << st.to_string();
  }
  // Appends `records` the way produce did before record groups: one
  // tessera.v1.Record per key, at its own offset.
  void put_legacy(const std::vector<Record>& records) {
    PartitionInfo p = info();
    uint64_t offset = p.end_offset();
    uint64_t bytes = p.bytes();
    for (Record r : records) {
      r.set_offset(offset);
      r.set_partition(p.partition());
      if (r.timestamp_ms() <= 0) r.set_timestamp_ms(kNow);
      bytes += record_bytes(r);
      ++offset;
      put_raw(r.offset(), r.SerializeAsString(), offset, bytes);
    }
  }
  // The offsets of fetch(offset, max_bytes); empty on an error.
  std::vector<uint64_t> fetched_offsets(uint64_t offset, uint64_t max_bytes = 0) {
    auto f = fetch(offset, max_bytes);
    EXPECT_TRUE(f.is_ok()) << f.status().to_string();
    std::vector<uint64_t> out;
    if (f.is_ok()) {
      for (const auto& r : f->records()) out.push_back(r.offset());
    }
    return out;
  }

  storage::TestEngine engine_{"partitions"};
};

// Offsets from..to, inclusive.
inline std::vector<uint64_t> offsets(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t o = from; o <= to; ++o) out.push_back(o);
  return out;
}

}  // namespace tessera::ns::partition_test
