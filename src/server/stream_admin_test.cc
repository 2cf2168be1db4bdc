// StreamRouter's stream administration on a one-node cluster in process:
// partitions added to a topic take records while the old ones keep theirs,
// a removed topic's partition shards lose their meta records, retention
// set on a stream reaches its partition shards at the next retention run,
// and refusals leave no shards behind.

#include "server/stream_router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "namespace/partition_ops.h"
#include "namespace/stream_ops.h"
#include "server/test_node.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using internal::Command;

class StreamAdminTest : public ::testing::Test {
 protected:
  TestNode node_{"stream_admin"};
  Backend& backend_ = node_.backend;
  StreamRouter& streams_ = backend_.streams();
  internal::Principal admin_ = backend_.node_principal();

  void SetUp() override {
    ASSERT_TRUE(backend_.bootstrap("test", "127.0.0.1:1", {}).is_ok());
    ASSERT_TRUE(backend_.start(10000).is_ok());
    Command mk;
    mk.mutable_create()->set_path("/s");
    mk.mutable_create()->set_kind(v1::KIND_STREAM);
    mk.mutable_create()->set_mode(0644);
    auto r = backend_.propose_ok(backend_.route("/s").shard, mk, admin_);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  }

  // A user who may read /s but not write it.
  static internal::Principal reader() {
    internal::Principal p;
    p.set_uid(1000);
    p.add_gids(1000);
    return p;
  }

  Result<v1::ProduceResponse> produce(int32_t partition, const std::string& value) {
    v1::ProduceRequest req;
    req.set_stream("/s");
    req.set_topic("t");
    req.set_partition(partition);
    req.add_records()->set_value(value);
    return streams_.produce(admin_, req);
  }
  std::vector<std::string> fetch(uint32_t partition) {
    v1::FetchRequest req;
    req.set_stream("/s");
    req.set_topic("t");
    req.set_partition(partition);
    auto r = streams_.fetch(admin_, req, {});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    std::vector<std::string> values;
    if (r.is_ok()) {
      for (const auto& rec : r->records()) values.push_back(rec.value());
    }
    return values;
  }
  std::vector<uint64_t> shards_of(const std::string& topic) {
    auto t = streams_.open_topic(admin_, "/s", topic, 0);
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    std::vector<uint64_t> out;
    if (t.is_ok()) {
      for (const auto& ps : t->topic.partitions()) out.push_back(ps.shard());
    }
    return out;
  }
  // The meta shard's partition shard records.
  std::vector<internal::ShardRecord> shard_records() {
    auto snap = backend_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(cluster::kMetaShard));
    auto records = cluster::MetaReader(sr).shards();
    EXPECT_TRUE(records.is_ok()) << records.status().to_string();
    std::vector<internal::ShardRecord> out;
    if (records.is_ok()) {
      for (const auto& r : *records) {
        if (r.stream_ino() != 0) out.push_back(r);
      }
    }
    return out;
  }
  internal::PartitionInfo partition_info(uint64_t shard) {
    auto snap = backend_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(shard));
    auto info = ns::partition_info(sr);
    EXPECT_TRUE(info.is_ok()) << info.status().to_string();
    return info.is_ok() ? *info : internal::PartitionInfo{};
  }
  internal::Inode stream() {
    auto snap = backend_.snapshot();
    storage::SnapshotReader sr(*snap, backend_.route("/s").shard);
    auto r = ns::VolumeView(sr).resolve("/s", admin_);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? r->inode : internal::Inode();
  }
};

TEST_F(StreamAdminTest, AddedPartitionsTakeRecordsAndTheTopicGoesWithItsShards) {
  ASSERT_TRUE(streams_.create_topic(admin_, "/s", "t", 2).is_ok());
  ASSERT_TRUE(produce(0, "old").is_ok());
  const auto old_shards = shards_of("t");
  ASSERT_EQ(old_shards.size(), 2u);

  Status grown = streams_.add_partitions(admin_, "/s", "t", 4);
  ASSERT_TRUE(grown.is_ok()) << grown.to_string();
  const auto shards = shards_of("t");
  ASSERT_EQ(shards.size(), 4u);
  EXPECT_EQ(std::vector<uint64_t>(shards.begin(), shards.begin() + 2), old_shards);
  for (uint32_t p = 2; p < 4; ++p) {
    const auto info = partition_info(shards[p]);
    EXPECT_EQ(info.partition(), p);
    EXPECT_EQ(info.topic(), "t");
    EXPECT_EQ(info.subject(), "/s:t");
  }
  for (const auto& rec : shard_records()) {
    EXPECT_TRUE(rec.ready()) << rec.id();
    auto at = std::find(shards.begin(), shards.end(), rec.id());
    ASSERT_NE(at, shards.end()) << rec.id();
    EXPECT_EQ(rec.partition(), static_cast<uint32_t>(at - shards.begin()));
  }

  auto r = produce(3, "new");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->offsets(0), 0u);
  EXPECT_EQ(fetch(3), std::vector<std::string>{"new"});
  EXPECT_EQ(fetch(0), std::vector<std::string>{"old"});
  ASSERT_TRUE(produce(0, "old2").is_ok());
  EXPECT_EQ(fetch(0), (std::vector<std::string>{"old", "old2"}));
  auto listed = streams_.list_topics(admin_, "/s");
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  ASSERT_EQ(listed->topics_size(), 1);
  EXPECT_EQ(listed->topics(0).partitions(), 4u);
  EXPECT_EQ(listed->topics(0).end_offsets(0), 2u);

  // Not larger, too large, no such topic: refused before any shard is made.
  const size_t records = shard_records().size();
  EXPECT_EQ(streams_.add_partitions(admin_, "/s", "t", 4).code(), Errc::invalid_argument);
  EXPECT_EQ(streams_.add_partitions(admin_, "/s", "t", ns::kPartitionsMax + 1).code(),
            Errc::invalid_argument);
  Status missing = streams_.add_partitions(admin_, "/s", "nope", 3);
  EXPECT_EQ(missing.code(), Errc::not_found);
  EXPECT_EQ(missing.message(), "/s:nope: no such topic");
  EXPECT_EQ(shard_records().size(), records);

  Status removed = streams_.delete_topic(admin_, "/s", "t");
  ASSERT_TRUE(removed.is_ok()) << removed.to_string();
  EXPECT_TRUE(shard_records().empty());
  EXPECT_EQ(streams_.open_topic(admin_, "/s", "t", 0).status().code(), Errc::not_found);
  auto none = streams_.list_topics(admin_, "/s");
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(none->topics_size(), 0);
  EXPECT_EQ(stream().topics(), 0u);
  Status again = streams_.delete_topic(admin_, "/s", "t");
  EXPECT_EQ(again.code(), Errc::not_found);
  EXPECT_EQ(again.message(), "/s:t: no such topic");

  // The name is free again, on new shards.
  ASSERT_TRUE(streams_.create_topic(admin_, "/s", "t", 1).is_ok());
  EXPECT_TRUE(fetch(0).empty());
  for (uint64_t s : shards_of("t")) {
    EXPECT_EQ(std::find(shards.begin(), shards.end(), s), shards.end()) << s;
  }
}

TEST_F(StreamAdminTest, RefusalsForWantOfRightsLeaveNoShards) {
  ASSERT_TRUE(streams_.create_topic(admin_, "/s", "t", 1).is_ok());
  const size_t records = shard_records().size();
  EXPECT_EQ(streams_.add_partitions(reader(), "/s", "t", 3).code(), Errc::permission_denied);
  EXPECT_EQ(shard_records().size(), records);
  EXPECT_EQ(streams_.delete_topic(reader(), "/s", "t").code(), Errc::permission_denied);
  EXPECT_EQ(shards_of("t").size(), 1u);
  EXPECT_EQ(streams_.set_retention(reader(), "/s", 1000, std::nullopt).code(),
            Errc::permission_denied);
  EXPECT_EQ(streams_.delete_topic(admin_, "/nothing", "t").code(), Errc::not_found);
}

TEST_F(StreamAdminTest, RetentionReachesThePartitionsAtTheNextRun) {
  ASSERT_TRUE(streams_.create_topic(admin_, "/s", "t", 1).is_ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(produce(0, std::string(100, 'a' + i)).is_ok());

  EXPECT_EQ(streams_.set_retention(admin_, "/s", -1, std::nullopt).code(), Errc::invalid_argument);
  ASSERT_TRUE(streams_.set_retention(admin_, "/s", std::nullopt, 250).is_ok());
  EXPECT_EQ(stream().retention_bytes(), 250u);
  EXPECT_EQ(stream().retention_age_ms(), 0);
  ASSERT_TRUE(streams_.set_retention(admin_, "/s", 86400000, std::nullopt).is_ok());
  EXPECT_EQ(stream().retention_bytes(), 250u);
  EXPECT_EQ(stream().retention_age_ms(), 86400000);

  streams_.run_periodic(true);
  const auto info = partition_info(shards_of("t")[0]);
  EXPECT_EQ(info.start_offset(), 2u);
  EXPECT_EQ(info.bytes(), 200u);
  EXPECT_EQ(info.end_offset(), 4u);

  // 0: no limit any more.
  ASSERT_TRUE(streams_.set_retention(admin_, "/s", 0, 0).is_ok());
  ASSERT_TRUE(produce(0, std::string(300, 'z')).is_ok());
  streams_.run_periodic(true);
  EXPECT_EQ(partition_info(shards_of("t")[0]).start_offset(), 2u);
}

}  // namespace
}  // namespace tessera::server
