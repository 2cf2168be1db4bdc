#include "namespace/stream_ops.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/ns_ops.h"
#include "namespace/permissions.h"
#include "namespace/shard_test_util.h"
#include "storage/engine.h"
#include "storage/state_view.h"
#include "storage/test_engine.h"

namespace tessera::ns {
namespace {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::Principal;
using shard_test::user;
using tessera::v1::ObjectKind;
using tessera::v1::Record;

constexpr ShardId kShard{1};
constexpr uint64_t kStreamInode = 2;
constexpr int64_t kNow = 1'700'000'000'000;
constexpr int kRead = static_cast<int>(Access::read);
constexpr int kWrite = static_cast<int>(Access::write);

Record keyed(std::string key) {
  Record r;
  r.set_key(std::move(key));
  r.set_value("x");
  return r;
}

std::vector<uint64_t> shard_ids(uint64_t first, uint32_t n) {
  std::vector<uint64_t> ids;
  for (uint32_t i = 0; i < n; ++i) ids.push_back(first + i);
  return ids;
}

// The name shard of a volume mounted at "/" holding one stream "/s" (inode 2,
// owner 1000:100, mode 0640), built by hand; commands run the way the shard
// host runs them.
class StreamOpsTest : public ::testing::Test {
 protected:
  const Principal owner_ = user(1000, 100);
  const Principal reader_ = user(2000, 100);    // group: read only
  const Principal stranger_ = user(3000, 300);  // no rights on /s

  void SetUp() override {
    auto txn = engine_->begin();
    storage::TxnWriter w(*txn, kShard);
    internal::VolumeState vs;
    vs.set_volume_id(1);
    vs.set_mount_path("/");
    vs.set_next_inode(3);
    w.put(volume_key(), vs.SerializeAsString());
    auto vt = VolumeTxn::open(w);
    ASSERT_TRUE(vt.is_ok()) << vt.status().to_string();
    Inode root;
    root.set_id(kRootInode);
    root.set_kind(ObjectKind::KIND_DIRECTORY);
    root.set_mode(0777);
    root.set_nlink(2);
    root.set_version(1);
    root.set_entries(1);
    vt->put_inode(root);
    Inode s;
    s.set_id(kStreamInode);
    s.set_kind(ObjectKind::KIND_STREAM);
    s.set_mode(0640);
    s.set_uid(1000);
    s.set_gid(100);
    s.set_nlink(1);
    s.set_version(1);
    vt->put_inode(s);
    vt->put_dirent(kRootInode, "s", kStreamInode);
    vt->save();
    ASSERT_TRUE(engine_->commit(*txn, false).is_ok());
  }

  // Runs `fn` in its own transaction: writes are undone on error, the volume
  // record is saved on success (as VolumeMachine does).
  Status run(const std::function<Status(VolumeTxn&)>& fn) {
    auto txn = engine_->begin();
    storage::TxnWriter w(*txn, kShard);
    txn->set_save_point();
    auto vt = VolumeTxn::open(w);
    EXPECT_TRUE(vt.is_ok());
    Status st = fn(*vt);
    if (st.is_ok()) {
      vt->save();
      txn->pop_save_point();
    } else {
      txn->rollback_to_save_point();
    }
    EXPECT_TRUE(engine_->commit(*txn, false).is_ok());
    return st;
  }

  using ApplyFn = Status (*)(VolumeTxn&, const Command&, CommandResult&);
  Status apply(ApplyFn fn, const Command& cmd, CommandResult* out = nullptr) {
    CommandResult result;
    Status st = run([&](VolumeTxn& t) { return fn(t, cmd, result); });
    if (out) *out = result;
    return st;
  }

  Command command(const Principal& who, int64_t now_ms = kNow) {
    return shard_test::command(who, now_ms);
  }

  Status create_topic(const std::string& topic, uint32_t partitions, const Principal& who,
                      const std::vector<uint64_t>& shards) {
    Command c = command(who);
    auto* op = c.mutable_create_topic();
    op->set_path("/s");
    op->set_topic(topic);
    op->set_partitions(partitions);
    for (uint64_t s : shards) op->add_shards(s);
    return apply(apply_create_topic, c);
  }
  Status create_topic(const std::string& topic, uint32_t partitions, uint64_t first_shard = 100) {
    return create_topic(topic, partitions, owner_, shard_ids(first_shard, partitions));
  }

  Status report(const std::string& topic, uint32_t part, uint64_t bytes, int64_t now_ms = kNow,
                uint64_t ino = kStreamInode, uint64_t grant = 0) {
    Command c = command(Principal(), now_ms);
    auto* op = c.mutable_stream_usage();
    op->set_stream_ino(ino);
    op->set_topic(topic);
    op->set_partition(part);
    op->set_bytes(bytes);
    op->set_grant(grant);
    return apply(apply_stream_usage, c);
  }
  // A usage report of a partition shard that shrank its grant to `grant`.
  Status give_back(const std::string& topic, uint32_t part, uint64_t bytes, uint64_t grant) {
    return report(topic, part, bytes, kNow, kStreamInode, grant);
  }

  // StreamGrantOp: the partition holds `held` bytes and needs `want` more;
  // the grant the name shard answers.
  Result<uint64_t> request_grant(const std::string& topic, uint32_t part, uint64_t held,
                                 uint64_t want) {
    Command c = command(Principal());
    auto* op = c.mutable_stream_grant();
    op->set_stream_ino(kStreamInode);
    op->set_topic(topic);
    op->set_partition(part);
    op->set_held(held);
    op->set_want(want);
    CommandResult result;
    TESSERA_TRY(apply(apply_stream_grant, c, &result));
    return result.partition().grant();
  }
  // The grant the name shard records for a partition.
  uint64_t recorded_grant(const std::string& topic, uint32_t part) {
    auto t = open(topic, owner_, kRead);
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    return t.is_ok() ? t->topic.partitions(static_cast<int>(part)).grant() : 0;
  }
  uint64_t streams_granted() { return volume_state().streams_granted(); }
  // A write of `bytes` more bytes of `kind` (a file write, a row put).
  Status charge(UsageKind kind, uint64_t bytes) {
    return run([&](VolumeTxn& t) { return t.charge(kind, static_cast<int64_t>(bytes), "/f"); });
  }

  // Calls fn with a VolumeView over a fresh snapshot.
  template <typename Fn>
  auto read(Fn fn) {
    auto snap = engine_->snapshot();
    storage::SnapshotReader r(*snap, kShard);
    VolumeView view(r);
    return fn(view);
  }

  Result<StreamTopic> open(const std::string& topic, const Principal& who, int want,
                           const std::string& path = "/s") {
    return read([&](const VolumeView& v) { return open_stream_topic(v, who, path, topic, want); });
  }

  Inode stream_inode() {
    return read([](const VolumeView& v) { return v.inode_or_corrupt(kStreamInode); }).value();
  }
  internal::VolumeState volume_state() {
    return read([](const VolumeView& v) { return v.volume(); }).value();
  }
  void set_quota(uint64_t bytes) {
    ASSERT_TRUE(run([&](VolumeTxn& t) {
                  t.vol().set_quota_bytes(bytes);
                  return Status::ok();
                }).is_ok());
  }

  size_t count_keys(const std::string& prefix) {
    return shard_test::count_keys(*engine_, kShard, prefix);
  }

  storage::TestEngine engine_{"streams"};
};

TEST_F(StreamOpsTest, CreateTopicRecordsAShardPerPartition) {
  ASSERT_TRUE(create_topic("orders", 3, 100).is_ok());
  Inode s = stream_inode();
  EXPECT_EQ(s.topics(), 1u);
  EXPECT_EQ(s.version(), 2u);
  EXPECT_EQ(s.mtime_ms(), kNow);
  auto t = open("orders", owner_, kRead);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  ASSERT_EQ(t->topic.partitions_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t->topic.partitions(i).shard(), 100u + static_cast<uint64_t>(i));
    EXPECT_EQ(t->topic.partitions(i).bytes(), 0u);
  }
  EXPECT_EQ(t->topic.created_ms(), kNow);

  Status dup = create_topic("orders", 1, 200);
  EXPECT_EQ(dup.code(), Errc::already_exists);
  EXPECT_EQ(dup.message(), "/s:orders: already exists");
  EXPECT_EQ(stream_inode().topics(), 1u);

  Status mismatch = create_topic("short", 3, owner_, {7, 8});
  EXPECT_EQ(mismatch.code(), Errc::invalid_argument);
  EXPECT_EQ(mismatch.message(), "/s:short: 3 partitions but 2 partition shards");
  EXPECT_EQ(create_topic("none", 1, owner_, {}).code(), Errc::invalid_argument);
}

TEST_F(StreamOpsTest, CreateTopicChecksNamesAndPartitionCounts) {
  ASSERT_TRUE(create_topic("a-b_c.9", 1).is_ok());
  ASSERT_TRUE(create_topic(std::string(249, 'x'), 1).is_ok());
  for (const std::string& bad : {std::string(), std::string("."), std::string(".."),
                                 std::string("a b"), std::string("a/b"), std::string("a:b"),
                                 std::string("caf\xc3\xa9"), std::string(250, 'x')}) {
    EXPECT_EQ(create_topic(bad, 1).code(), Errc::invalid_argument) << bad;
  }
  EXPECT_EQ(create_topic("zero", 0).code(), Errc::invalid_argument);
  EXPECT_EQ(create_topic("many", kPartitionsMax + 1).code(), Errc::invalid_argument);
  ASSERT_TRUE(create_topic("most", kPartitionsMax).is_ok());
  EXPECT_EQ(stream_inode().topics(), 3u);
}

TEST_F(StreamOpsTest, CreateTopicNeedsAStreamAndWriteRight) {
  Command c = command(owner_);
  c.mutable_create_topic()->set_path("/");
  c.mutable_create_topic()->set_topic("t");
  c.mutable_create_topic()->set_partitions(1);
  c.mutable_create_topic()->add_shards(9);
  EXPECT_EQ(apply(apply_create_topic, c).code(), Errc::wrong_kind);
  EXPECT_EQ(create_topic("t", 1, reader_, {9}).code(), Errc::permission_denied);
  EXPECT_EQ(create_topic("t", 1, stranger_, {9}).code(), Errc::permission_denied);
}

TEST_F(StreamOpsTest, ListTopicsIsSortedWithoutOffsets) {
  ASSERT_TRUE(create_topic("orders", 2, 10).is_ok());
  ASSERT_TRUE(create_topic("a-b", 1, 20).is_ok());
  ASSERT_TRUE(create_topic("zz", 3, 30).is_ok());

  auto topics = read([&](const VolumeView& v) { return stream_topics(v, reader_, "/s"); });
  ASSERT_TRUE(topics.is_ok()) << topics.status().to_string();
  ASSERT_EQ(topics->size(), 3u);
  EXPECT_EQ((*topics)[0].name(), "a-b");
  EXPECT_EQ((*topics)[1].name(), "orders");
  EXPECT_EQ((*topics)[1].partitions(1).shard(), 11u);
  EXPECT_EQ((*topics)[2].partitions(2).shard(), 32u);

  tessera::v1::ListTopicsRequest req;
  req.set_stream("/s");
  auto resp = read([&](const VolumeView& v) { return list_topics(v, reader_, req); });
  ASSERT_TRUE(resp.is_ok());
  ASSERT_EQ(resp->topics_size(), 3);
  EXPECT_EQ(resp->topics(1).name(), "orders");
  EXPECT_EQ(resp->topics(1).partitions(), 2u);
  EXPECT_EQ(resp->topics(1).start_offsets_size(), 0);
  EXPECT_EQ(resp->topics(1).end_offsets_size(), 0);

  auto denied = read([&](const VolumeView& v) { return stream_topics(v, stranger_, "/s"); });
  EXPECT_EQ(denied.status().code(), Errc::permission_denied);
}

TEST_F(StreamOpsTest, OpenStreamTopicChecksPermissions) {
  ASSERT_TRUE(create_topic("t", 2, 40).is_ok());
  auto w = open("t", owner_, kWrite);
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(w->subject, "/s:t");
  EXPECT_EQ(w->stream.inode.id(), kStreamInode);
  EXPECT_EQ(w->topic.partitions(1).shard(), 41u);

  EXPECT_TRUE(open("t", reader_, kRead).is_ok());
  auto ro = open("t", reader_, kWrite);
  EXPECT_EQ(ro.status().code(), Errc::permission_denied);
  EXPECT_EQ(ro.status().message(), "/s: permission denied");
  EXPECT_EQ(open("t", stranger_, kRead).status().code(), Errc::permission_denied);
  EXPECT_EQ(open("t", stranger_, kWrite).status().code(), Errc::permission_denied);

  auto missing = open("nope", owner_, kRead);
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  EXPECT_EQ(missing.status().message(), "/s:nope: not found");
  EXPECT_EQ(open("t", owner_, kRead, "/").status().code(), Errc::wrong_kind);
  EXPECT_EQ(open("t", owner_, kRead, "/x").status().code(), Errc::not_found);

  EXPECT_TRUE(check_partition_index(*w, 1).is_ok());
  Status out = check_partition_index(*w, 2);
  EXPECT_EQ(out.code(), Errc::not_found);
  EXPECT_EQ(out.message(), "/s:t partition 2: not found");
}

TEST_F(StreamOpsTest, KeyedRecordsUseKafkasDefaultPartitioner) {
  // murmur2 values from Kafka's UtilsTest.testMurmur2.
  const std::vector<std::pair<std::string, int32_t>> cases = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  uint32_t rr = 5;
  for (const auto& [key, hash] : cases) {
    const uint32_t want = (static_cast<uint32_t>(hash) & 0x7fffffff) % 97;
    EXPECT_EQ(choose_partition(keyed(key), 97, rr), want) << key;
  }
  EXPECT_EQ(rr, 5u);  // keyed records leave the counter alone
}

TEST_F(StreamOpsTest, KeylessRecordsRoundRobin) {
  uint32_t rr = 0;
  std::vector<uint32_t> parts;
  for (int i = 0; i < 5; ++i) parts.push_back(choose_partition(keyed(""), 3, rr));
  EXPECT_EQ(parts, (std::vector<uint32_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(rr, 2u);
  rr = 7;  // a counter from a topic that had more partitions
  EXPECT_EQ(choose_partition(keyed(""), 3, rr), 1u);
  EXPECT_EQ(rr, 2u);
}

TEST_F(StreamOpsTest, GroupNamesAreBounded) {
  EXPECT_TRUE(check_group("g/with:odd chars", "/s:t").is_ok());
  EXPECT_TRUE(check_group(std::string(255, 'g'), "/s:t").is_ok());
  Status empty = check_group("", "/s:t");
  EXPECT_EQ(empty.code(), Errc::invalid_argument);
  EXPECT_EQ(empty.message(), "/s:t: group name must be 1..255 bytes without NUL");
  EXPECT_EQ(check_group(std::string(256, 'g'), "/s:t").code(), Errc::invalid_argument);
  EXPECT_EQ(check_group(std::string("a\0b", 3), "/s:t").code(), Errc::invalid_argument);
}

TEST_F(StreamOpsTest, RecordBytesCountKeyValueAndHeaders) {
  Record r = keyed("key");
  r.set_value("value");
  auto* h = r.add_headers();
  h->set_key("h");
  h->set_value("vv");
  EXPECT_EQ(record_bytes(r), 3u + 5u + 1u + 2u);
}

TEST_F(StreamOpsTest, StreamUsageAppliesDeltas) {
  ASSERT_TRUE(create_topic("t", 2, 50).is_ok());
  const uint64_t version = stream_inode().version();
  ASSERT_TRUE(report("t", 0, 600).is_ok());
  ASSERT_TRUE(report("t", 1, 100, kNow + 5).is_ok());
  EXPECT_EQ(stream_inode().size(), 700u);
  EXPECT_EQ(stream_inode().version(), version + 2);
  EXPECT_EQ(stream_inode().mtime_ms(), kNow + 5);
  EXPECT_EQ(volume_state().streams_bytes(), 700u);
  EXPECT_EQ(volume_state().used_bytes(), 700u);
  EXPECT_EQ(open("t", owner_, kRead)->topic.partitions(0).bytes(), 600u);

  ASSERT_TRUE(report("t", 0, 250, kNow + 9).is_ok());  // retention freed 350 bytes
  EXPECT_EQ(stream_inode().size(), 350u);
  EXPECT_EQ(stream_inode().mtime_ms(), kNow + 5);  // shrinking is not a modification
  EXPECT_EQ(volume_state().streams_bytes(), 350u);
  EXPECT_EQ(volume_state().used_bytes(), 350u);
  EXPECT_EQ(open("t", owner_, kRead)->topic.partitions(0).bytes(), 250u);

  const uint64_t before = stream_inode().version();
  ASSERT_TRUE(report("t", 0, 250).is_ok());  // unchanged: writes nothing
  EXPECT_EQ(stream_inode().version(), before);
}

TEST_F(StreamOpsTest, StreamUsageIsNotRefusedByTheQuota) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 1, 60).is_ok());
  ASSERT_TRUE(report("t", 0, 1500).is_ok());
  EXPECT_EQ(volume_state().used_bytes(), 1500u);
  EXPECT_EQ(stream_inode().size(), 1500u);
}

TEST_F(StreamOpsTest, StreamUsageOfAGoneTopicIsNotFound) {
  ASSERT_TRUE(create_topic("t", 1, 70).is_ok());
  EXPECT_EQ(report("u", 0, 10).code(), Errc::not_found);
  Status part = report("t", 1, 10);
  EXPECT_EQ(part.code(), Errc::not_found);
  EXPECT_EQ(part.message(), "stream inode 2 topic t partition 1: not found");
  EXPECT_EQ(report("t", 0, 10, kNow, 99).code(), Errc::not_found);
  EXPECT_EQ(report("t", 0, 10, kNow, kRootInode).code(), Errc::not_found);
  EXPECT_EQ(volume_state().used_bytes(), 0u);
}

TEST_F(StreamOpsTest, QuotaCheckGivesChargesRefusal) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 1, 80).is_ok());
  ASSERT_TRUE(report("t", 0, 600).is_ok());
  const auto vol = volume_state();
  EXPECT_TRUE(check_quota(vol, 400, "/s:t").is_ok());
  EXPECT_TRUE(check_quota(vol, 0, "/s:t").is_ok());
  Status refused = check_quota(vol, 401, "/s:t");
  EXPECT_EQ(refused.code(), Errc::quota_exceeded);
  EXPECT_EQ(refused.message(),
            "/s:t: volume quota exceeded (/ uses 600 of 1000 bytes, this needs 401 more)");
  Status charged = run([](VolumeTxn& t) { return t.charge(UsageKind::streams, 401, "/s:t"); });
  EXPECT_EQ(charged.code(), refused.code());
  EXPECT_EQ(charged.message(), refused.message());

  internal::VolumeState unlimited = vol;
  unlimited.set_quota_bytes(0);
  EXPECT_TRUE(check_quota(unlimited, 1ull << 40, "/s:t").is_ok());
}

TEST_F(StreamOpsTest, GrantOfAVolumeWithoutQuotaIsUnlimited) {
  ASSERT_TRUE(create_topic("t", 1, 700).is_ok());
  auto g = request_grant("t", 0, 0, 1ull << 40);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(*g, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(streams_granted(), 0u);  // nothing to count against
  EXPECT_EQ(recorded_grant("t", 0), 0u);
}

TEST_F(StreamOpsTest, FirstGrantIsTheNeedPlusSlack) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 1, 710).is_ok());
  auto g = request_grant("t", 0, 0, 100);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(*g, 100u + (1000u - 100u) / 4);
  EXPECT_EQ(recorded_grant("t", 0), *g);
  EXPECT_EQ(streams_granted(), *g);

  // A grant that grows counts its own old grant as free; slack stays <= 1 MiB.
  set_quota(64ull << 20);
  auto big = request_grant("t", 0, 300, 700);
  ASSERT_TRUE(big.is_ok());
  EXPECT_EQ(*big, 1000u + (1u << 20));
  EXPECT_EQ(streams_granted(), *big);
}

TEST_F(StreamOpsTest, GrantIsLimitedByOtherPartitionsGrants) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 2, 720).is_ok());
  ASSERT_EQ(request_grant("t", 0, 0, 100).value(), 325u);

  auto refused = request_grant("t", 1, 0, 700);  // only 675 bytes are not granted
  EXPECT_EQ(refused.status().code(), Errc::quota_exceeded);
  EXPECT_EQ(refused.status().message(),
            "stream inode 2 topic t partition 1: volume quota exceeded (/ uses 325 of 1000 "
            "bytes, this needs 700 more)");
  EXPECT_EQ(recorded_grant("t", 1), 0u);
  EXPECT_EQ(streams_granted(), 325u);

  auto second = request_grant("t", 1, 0, 600);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_EQ(*second, 600u + 75u / 4);
  EXPECT_EQ(streams_granted(), 325u + *second);
  EXPECT_EQ(request_grant("t", 0, 325, 100).status().code(), Errc::quota_exceeded);
}

TEST_F(StreamOpsTest, GrantAlreadyCoveringTheNeedIsReturnedUnchanged) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 1, 730).is_ok());
  ASSERT_EQ(request_grant("t", 0, 0, 100).value(), 325u);
  const uint64_t version = stream_inode().version();
  ASSERT_TRUE(charge(UsageKind::files, 675).is_ok());  // the rest of the quota

  auto covered = request_grant("t", 0, 200, 125);  // another request grew it meanwhile
  ASSERT_TRUE(covered.is_ok()) << covered.status().to_string();
  EXPECT_EQ(*covered, 325u);
  EXPECT_EQ(recorded_grant("t", 0), 325u);
  EXPECT_EQ(streams_granted(), 325u);
  EXPECT_EQ(stream_inode().version(), version);
  EXPECT_EQ(request_grant("t", 0, 200, 126).status().code(), Errc::quota_exceeded);
}

TEST_F(StreamOpsTest, UsageReportWithALowerGrantGivesTheRestBack) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 2, 740).is_ok());
  ASSERT_EQ(request_grant("t", 0, 0, 100).value(), 325u);
  ASSERT_EQ(request_grant("t", 1, 0, 100).value(), 100u + 575u / 4);
  const uint64_t other = recorded_grant("t", 1);

  ASSERT_TRUE(give_back("t", 0, 50, 120).is_ok());
  EXPECT_EQ(recorded_grant("t", 0), 120u);
  EXPECT_EQ(streams_granted(), 120u + other);
  EXPECT_EQ(volume_state().streams_bytes(), 50u);

  ASSERT_TRUE(give_back("t", 0, 60, 500).is_ok());  // a higher grant is not taken
  EXPECT_EQ(recorded_grant("t", 0), 120u);
  ASSERT_TRUE(report("t", 0, 70).is_ok());  // no grant: only the bytes change
  EXPECT_EQ(recorded_grant("t", 0), 120u);
  EXPECT_EQ(streams_granted(), 120u + other);
  EXPECT_EQ(volume_state().streams_bytes(), 70u);
}

TEST_F(StreamOpsTest, PurgeGivesGrantsBack) {
  set_quota(1u << 20);
  ASSERT_TRUE(create_topic("t", 2, 750).is_ok());
  ASSERT_TRUE(create_topic("u", 1, 760).is_ok());
  ASSERT_TRUE(request_grant("t", 1, 0, 1000).is_ok());
  ASSERT_TRUE(request_grant("u", 0, 0, 2000).is_ok());
  ASSERT_TRUE(report("t", 1, 400).is_ok());
  const uint64_t granted = recorded_grant("t", 1) + recorded_grant("u", 0);
  ASSERT_EQ(streams_granted(), granted);
  ASSERT_TRUE(run([](VolumeTxn& t) {  // grants of another stream
                t.vol().set_streams_granted(t.vol().streams_granted() + 5000);
                return Status::ok();
              }).is_ok());

  const Inode s = stream_inode();
  ASSERT_TRUE(run([&](VolumeTxn& t) { return purge_stream(t, s, nullptr); }).is_ok());
  EXPECT_EQ(streams_granted(), 5000u);
  EXPECT_EQ(volume_state().streams_bytes(), 0u);
}

TEST_F(StreamOpsTest, WritesAreRefusedWhileGrantsHoldTheQuota) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 1, 770).is_ok());
  ASSERT_EQ(request_grant("t", 0, 0, 700).value(), 775u);
  ASSERT_EQ(volume_state().streams_bytes(), 0u);  // granted, not yet written

  Status file = charge(UsageKind::files, 226);
  EXPECT_EQ(file.code(), Errc::quota_exceeded);
  EXPECT_EQ(file.message(),
            "/f: volume quota exceeded (/ uses 775 of 1000 bytes, this needs 226 more)");
  EXPECT_EQ(charge(UsageKind::tables, 226).code(), Errc::quota_exceeded);
  ASSERT_TRUE(charge(UsageKind::tables, 225).is_ok());
  EXPECT_EQ(charge(UsageKind::files, 1).code(), Errc::quota_exceeded);

  ASSERT_TRUE(give_back("t", 0, 500, 500).is_ok());
  EXPECT_TRUE(charge(UsageKind::files, 275).is_ok());
  EXPECT_EQ(volume_state().used_bytes(), 1000u);
  EXPECT_EQ(charge(UsageKind::files, 1).code(), Errc::quota_exceeded);
}

TEST_F(StreamOpsTest, StreamsWithRetentionListTheirShards) {
  ASSERT_TRUE(create_topic("t", 2, 500).is_ok());
  ASSERT_TRUE(create_topic("u", 1, 600).is_ok());
  Command mk = command(owner_);
  mk.mutable_create()->set_path("/kept");
  mk.mutable_create()->set_kind(ObjectKind::KIND_STREAM);
  ASSERT_TRUE(apply(apply_create, mk).is_ok());  // no retention settings

  auto none = read([](const VolumeView& v) { return streams_with_retention(v); });
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(run([](VolumeTxn& t) {
                TESSERA_ASSIGN_OR_RETURN(auto s, t.inode_or_corrupt(kStreamInode));
                s.set_retention_age_ms(60000);
                s.set_retention_bytes(1 << 20);
                t.put_inode(s);
                return Status::ok();
              }).is_ok());
  auto got = read([](const VolumeView& v) { return streams_with_retention(v); });
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].ino, kStreamInode);
  EXPECT_EQ((*got)[0].retention_age_ms, 60000);
  EXPECT_EQ((*got)[0].retention_bytes, 1u << 20);
  EXPECT_EQ((*got)[0].shards, (std::vector<uint64_t>{500, 501, 600}));
}

TEST_F(StreamOpsTest, PurgeReleasesPartitionShards) {
  ASSERT_TRUE(create_topic("t", 2, 100).is_ok());
  ASSERT_TRUE(create_topic("u", 3, 200).is_ok());
  ASSERT_TRUE(report("t", 1, 40).is_ok());
  ASSERT_TRUE(report("u", 2, 60).is_ok());
  ASSERT_EQ(volume_state().used_bytes(), 100u);

  const Inode s = stream_inode();
  std::vector<uint64_t> released;
  ASSERT_TRUE(run([&](VolumeTxn& t) { return purge_stream(t, s, &released); }).is_ok());
  EXPECT_EQ(released, (std::vector<uint64_t>{100, 101, 200, 201, 202}));
  EXPECT_EQ(count_keys(topic_prefix(kStreamInode)), 0u);
  EXPECT_EQ(volume_state().used_bytes(), 0u);
  EXPECT_EQ(volume_state().streams_bytes(), 0u);
}

TEST_F(StreamOpsTest, RemoveReportsReleasedShards) {
  ASSERT_TRUE(create_topic("t", 2, 300).is_ok());
  ASSERT_TRUE(report("t", 0, 10).is_ok());
  Command c = command(owner_);
  c.mutable_remove()->set_path("/s");
  CommandResult result;
  ASSERT_TRUE(apply(apply_remove, c, &result).is_ok());
  EXPECT_EQ(std::vector<uint64_t>(result.shards().begin(), result.shards().end()),
            (std::vector<uint64_t>{300, 301}));
  EXPECT_EQ(count_keys(topic_prefix(kStreamInode)), 0u);
  EXPECT_EQ(volume_state().used_bytes(), 0u);
}

TEST_F(StreamOpsTest, RenameOverAStreamReportsReleasedShards) {
  ASSERT_TRUE(create_topic("t", 1, 400).is_ok());
  Command mk = command(owner_);
  mk.mutable_create()->set_path("/s2");
  mk.mutable_create()->set_kind(ObjectKind::KIND_STREAM);
  ASSERT_TRUE(apply(apply_create, mk).is_ok());
  Command mv = command(owner_);
  mv.mutable_rename()->set_src("/s2");
  mv.mutable_rename()->set_dst("/s");
  CommandResult result;
  ASSERT_TRUE(apply(apply_rename, mv, &result).is_ok());
  EXPECT_EQ(std::vector<uint64_t>(result.shards().begin(), result.shards().end()),
            (std::vector<uint64_t>{400}));
}

}  // namespace
}  // namespace tessera::ns
