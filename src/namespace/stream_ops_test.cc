#include "namespace/stream_ops.h"

#include <gtest/gtest.h>

#include "storage/test_engine.h"
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "storage/engine.h"
#include "storage/state_view.h"

namespace tessera::ns {
namespace {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::Principal;
using tessera::v1::ObjectKind;
using tessera::v1::Record;

constexpr ShardId kShard{1};
constexpr uint64_t kStreamInode = 2;
constexpr int64_t kNow = 1'700'000'000'000;

Principal user(uint32_t uid, uint32_t gid) {
  Principal p;
  p.set_uid(uid);
  p.add_gids(gid);
  return p;
}

Record rec(std::string key, std::string value, int64_t ts = 0) {
  Record r;
  r.set_key(std::move(key));
  r.set_value(std::move(value));
  r.set_timestamp_ms(ts);
  return r;
}

// A volume mounted at "/" holding one stream "/s" (inode 2, owner 1000:100,
// mode 0640), built by hand; commands run the way the shard host runs them.
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
    root.set_mode(0755);
    root.set_nlink(2);
    root.set_version(1);
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
    Command c;
    *c.mutable_principal() = who;
    c.set_now_ms(now_ms);
    return c;
  }

  Status create_topic(const std::string& topic, uint32_t partitions, const Principal& who) {
    Command c = command(who);
    auto* op = c.mutable_create_topic();
    op->set_path("/s");
    op->set_topic(topic);
    op->set_partitions(partitions);
    return apply(apply_create_topic, c);
  }

  Result<tessera::v1::ProduceResponse> produce(const std::string& topic, int32_t partition,
                                               const std::vector<Record>& records,
                                               const Principal& who, int64_t now_ms = kNow) {
    Command c = command(who, now_ms);
    auto* op = c.mutable_produce();
    op->set_path("/s");
    op->set_topic(topic);
    op->set_partition(partition);
    for (const auto& r : records) *op->add_records() = r;
    CommandResult result;
    Status st = apply(apply_produce, c, &result);
    if (!st.is_ok()) return st;
    return result.produce();
  }

  Status commit_offset(const std::string& topic, uint32_t part, const std::string& group,
                       uint64_t offset, const Principal& who) {
    Command c = command(who);
    auto* op = c.mutable_commit_offset();
    op->set_path("/s");
    op->set_topic(topic);
    op->set_partition(part);
    op->set_group(group);
    op->set_offset(offset);
    return apply(apply_commit_offset, c);
  }

  Status retention(int64_t now_ms) {
    Command c = command(Principal(), now_ms);
    c.mutable_retention();
    return apply(apply_retention, c);
  }

  // Calls fn with a VolumeView over a fresh snapshot.
  template <typename Fn>
  auto read(Fn fn) {
    auto snap = engine_->snapshot();
    storage::SnapshotReader r(*snap, kShard);
    VolumeView view(r);
    return fn(view);
  }

  Result<tessera::v1::FetchResponse> fetch_at(const std::string& topic, uint32_t part,
                                              uint64_t offset, uint32_t max_bytes = 0,
                                              const Principal* who = nullptr) {
    tessera::v1::FetchRequest req;
    req.set_stream("/s");
    req.set_topic(topic);
    req.set_partition(part);
    req.set_offset(offset);
    req.set_max_bytes(max_bytes);
    return read([&](const VolumeView& v) { return fetch(v, who ? *who : owner_, req); });
  }

  Result<tessera::v1::GetOffsetResponse> committed(const std::string& topic, uint32_t part,
                                                   const std::string& group) {
    tessera::v1::GetOffsetRequest req;
    req.set_stream("/s");
    req.set_topic(topic);
    req.set_partition(part);
    req.set_group(group);
    return read([&](const VolumeView& v) { return get_offset(v, owner_, req); });
  }

  tessera::v1::TopicInfo topic_info(const std::string& topic) {
    tessera::v1::ListTopicsRequest req;
    req.set_stream("/s");
    auto resp = read([&](const VolumeView& v) { return list_topics(v, owner_, req); });
    EXPECT_TRUE(resp.is_ok()) << resp.status().to_string();
    for (const auto& t : resp->topics()) {
      if (t.name() == topic) return t;
    }
    ADD_FAILURE() << "no topic " << topic;
    return {};
  }

  Inode stream_inode() {
    return read([](const VolumeView& v) { return v.inode_or_corrupt(kStreamInode); }).value();
  }
  internal::VolumeState volume_state() {
    return read([](const VolumeView& v) { return v.volume(); }).value();
  }

  void update_stream(const std::function<void(Inode&)>& fn) {
    ASSERT_TRUE(run([&](VolumeTxn& t) {
                  TESSERA_ASSIGN_OR_RETURN(auto s, t.inode_or_corrupt(kStreamInode));
                  fn(s);
                  t.put_inode(s);
                  return Status::ok();
                }).is_ok());
  }
  void set_quota(uint64_t bytes) {
    ASSERT_TRUE(run([&](VolumeTxn& t) {
                  t.vol().set_quota_bytes(bytes);
                  return Status::ok();
                }).is_ok());
  }

  size_t count_keys(const std::string& prefix) {
    auto snap = engine_->snapshot();
    storage::SnapshotReader r(*snap, kShard);
    size_t n = 0;
    EXPECT_TRUE(r.scan(prefix, prefix_successor(prefix), [&](std::string_view, std::string_view) {
                   ++n;
                   return true;
                 }).is_ok());
    return n;
  }

  storage::TestEngine engine_{"streams"};
};

TEST_F(StreamOpsTest, CreateTopic) {
  ASSERT_TRUE(create_topic("orders", 3, owner_).is_ok());
  Inode s = stream_inode();
  EXPECT_EQ(s.topics(), 1u);
  EXPECT_EQ(s.version(), 2u);
  EXPECT_EQ(s.mtime_ms(), kNow);
  auto info = topic_info("orders");
  EXPECT_EQ(info.partitions(), 3u);
  EXPECT_EQ(info.start_offsets_size(), 3);
  EXPECT_EQ(info.end_offsets(2), 0u);

  Status dup = create_topic("orders", 1, owner_);
  EXPECT_EQ(dup.code(), Errc::already_exists);
  EXPECT_EQ(dup.message(), "/s:orders: already exists");
  EXPECT_EQ(stream_inode().topics(), 1u);

  ASSERT_TRUE(create_topic("a-b_c.9", 1, owner_).is_ok());
  ASSERT_TRUE(create_topic(std::string(249, 'x'), 1, owner_).is_ok());
  for (const std::string& bad : {std::string(), std::string("."), std::string(".."),
                                std::string("a b"), std::string("a/b"), std::string("a:b"),
                                std::string("caf\xc3\xa9"), std::string(250, 'x')}) {
    EXPECT_EQ(create_topic(bad, 1, owner_).code(), Errc::invalid_argument) << bad;
  }
  EXPECT_EQ(create_topic("zero", 0, owner_).code(), Errc::invalid_argument);
  EXPECT_EQ(create_topic("many", kPartitionsMax + 1, owner_).code(), Errc::invalid_argument);
  ASSERT_TRUE(create_topic("most", kPartitionsMax, owner_).is_ok());
  EXPECT_EQ(stream_inode().topics(), 4u);

  tessera::v1::ListTopicsRequest req;
  req.set_stream("/s");
  auto all = read([&](const VolumeView& v) { return list_topics(v, reader_, req); });
  ASSERT_TRUE(all.is_ok());
  std::vector<std::string> names;
  for (const auto& t : all->topics()) names.push_back(t.name());
  EXPECT_EQ(names, (std::vector<std::string>{"a-b_c.9", "most", "orders", std::string(249, 'x')}));
}

TEST_F(StreamOpsTest, CreateTopicNeedsAStreamAndWriteRight) {
  Command c = command(owner_);
  c.mutable_create_topic()->set_path("/");
  c.mutable_create_topic()->set_topic("t");
  c.mutable_create_topic()->set_partitions(1);
  EXPECT_EQ(apply(apply_create_topic, c).code(), Errc::wrong_kind);
  EXPECT_EQ(create_topic("t", 1, reader_).code(), Errc::permission_denied);
  EXPECT_EQ(create_topic("t", 1, stranger_).code(), Errc::permission_denied);
}

TEST_F(StreamOpsTest, ProduceToPartitionAssignsContiguousOffsets) {
  ASSERT_TRUE(create_topic("t", 2, owner_).is_ok());
  auto first = produce("t", 1, {rec("k", "v1"), rec("", "v2", 42), rec("k", "v3")}, owner_);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(std::vector<uint64_t>(first->offsets().begin(), first->offsets().end()),
            (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(std::vector<uint32_t>(first->partitions().begin(), first->partitions().end()),
            (std::vector<uint32_t>{1, 1, 1}));
  auto second = produce("t", 1, {rec("", "v4"), rec("", "v5")}, owner_);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(second->offsets(0), 3u);
  EXPECT_EQ(second->offsets(1), 4u);

  auto f = fetch_at("t", 1, 0);
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

  const uint64_t bytes = 5 * 2 + 2;  // five values "vN" + two keys "k"
  EXPECT_EQ(stream_inode().size(), bytes);
  EXPECT_EQ(stream_inode().version(), 4u);
  EXPECT_EQ(volume_state().streams_bytes(), bytes);
  EXPECT_EQ(volume_state().used_bytes(), bytes);
  auto info = topic_info("t");
  EXPECT_EQ(info.end_offsets(0), 0u);
  EXPECT_EQ(info.end_offsets(1), 5u);
}

TEST_F(StreamOpsTest, KeyedRecordsUseKafkasDefaultPartitioner) {
  ASSERT_TRUE(create_topic("t", 97, owner_).is_ok());
  // murmur2 values from Kafka's UtilsTest.testMurmur2.
  const std::vector<std::pair<std::string, int32_t>> cases = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  std::vector<Record> records;
  for (const auto& [key, hash] : cases) records.push_back(rec(key, "x"));
  records.push_back(rec("foobar", "again"));
  auto r = produce("t", -1, records, owner_);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  for (size_t i = 0; i < cases.size(); ++i) {
    const uint32_t want = (static_cast<uint32_t>(cases[i].second) & 0x7fffffff) % 97;
    EXPECT_EQ(r->partitions(static_cast<int>(i)), want) << cases[i].first;
  }
  EXPECT_EQ(r->partitions(6), r->partitions(1));  // same key, same partition
  EXPECT_EQ(r->offsets(6), r->offsets(1) + 1);
}

TEST_F(StreamOpsTest, KeylessRecordsRoundRobin) {
  ASSERT_TRUE(create_topic("t", 3, owner_).is_ok());
  auto a = produce("t", -1, {rec("", "a"), rec("", "b"), rec("", "c"), rec("", "d")}, owner_);
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(std::vector<uint32_t>(a->partitions().begin(), a->partitions().end()),
            (std::vector<uint32_t>{0, 1, 2, 0}));
  auto b = produce("t", -1, {rec("", "e")}, owner_);
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->partitions(0), 1u);
  EXPECT_EQ(b->offsets(0), 1u);
}

TEST_F(StreamOpsTest, InvalidProduceWritesNothing) {
  ASSERT_TRUE(create_topic("t", 2, owner_).is_ok());
  auto missing = produce("nope", 0, {rec("", "x")}, owner_);
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  EXPECT_EQ(missing.status().message(), "/s:nope: not found");
  auto part = produce("t", 2, {rec("", "x")}, owner_);
  EXPECT_EQ(part.status().code(), Errc::not_found);
  EXPECT_EQ(part.status().message(), "/s:t partition 2: not found");
  EXPECT_EQ(produce("t", 0, {}, owner_).status().code(), Errc::invalid_argument);

  Record big = rec("", std::string(kRecordBytesMax, 'v'));
  big.add_headers()->set_key("h");  // one byte over the limit
  auto r = produce("t", 0, {rec("", "ok"), big}, owner_);
  EXPECT_EQ(r.status().code(), Errc::too_large);
  EXPECT_EQ(topic_info("t").end_offsets(0), 0u);
  EXPECT_EQ(stream_inode().size(), 0u);
  EXPECT_EQ(count_keys(records_prefix(kStreamInode)), 0u);

  Record exact = rec("", std::string(kRecordBytesMax - 1, 'v'));
  exact.add_headers()->set_key("h");
  EXPECT_TRUE(produce("t", 0, {exact}, owner_).is_ok());
}

TEST_F(StreamOpsTest, ProduceNeedsWriteRight) {
  ASSERT_TRUE(create_topic("t", 1, owner_).is_ok());
  auto r = produce("t", 0, {rec("", "x")}, reader_);
  EXPECT_EQ(r.status().code(), Errc::permission_denied);
  EXPECT_EQ(r.status().message(), "/s: permission denied");
  EXPECT_EQ(topic_info("t").end_offsets(0), 0u);
  EXPECT_TRUE(fetch_at("t", 0, 0, 0, &reader_).is_ok());
  EXPECT_EQ(fetch_at("t", 0, 0, 0, &stranger_).status().code(), Errc::permission_denied);
}

TEST_F(StreamOpsTest, QuotaExceededWritesNothing) {
  set_quota(1000);
  ASSERT_TRUE(create_topic("t", 1, owner_).is_ok());
  ASSERT_TRUE(produce("t", 0, {rec("", std::string(600, 'a'))}, owner_).is_ok());
  auto r = produce("t", 0, {rec("", std::string(300, 'b')), rec("", std::string(200, 'c'))}, owner_);
  EXPECT_EQ(r.status().code(), Errc::quota_exceeded);
  EXPECT_EQ(topic_info("t").end_offsets(0), 1u);
  EXPECT_EQ(stream_inode().size(), 600u);
  EXPECT_EQ(volume_state().used_bytes(), 600u);
  EXPECT_EQ(count_keys(records_prefix(kStreamInode)), 1u);
  EXPECT_TRUE(produce("t", 0, {rec("", std::string(400, 'd'))}, owner_).is_ok());
}

TEST_F(StreamOpsTest, FetchHonoursMaxBytesButReturnsAtLeastOneRecord) {
  ASSERT_TRUE(create_topic("t", 1, owner_).is_ok());
  std::vector<Record> records;
  for (int i = 0; i < 10; ++i) records.push_back(rec("", std::string(100, static_cast<char>('a' + i))));
  ASSERT_TRUE(produce("t", 0, records, owner_).is_ok());

  auto all = fetch_at("t", 0, 0);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->records_size(), 10);
  uint32_t three = 0;
  for (int i = 0; i < 3; ++i) three += static_cast<uint32_t>(all->records(i).ByteSizeLong());

  auto one = fetch_at("t", 0, 0, 1);
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(one->records_size(), 1);
  EXPECT_EQ(fetch_at("t", 0, 0, three)->records_size(), 3);
  EXPECT_EQ(fetch_at("t", 0, 0, three - 1)->records_size(), 2);
  auto tail = fetch_at("t", 0, 8, three);
  ASSERT_TRUE(tail.is_ok());
  ASSERT_EQ(tail->records_size(), 2);
  EXPECT_EQ(tail->records(0).offset(), 8u);

  auto at_end = fetch_at("t", 0, 10);
  ASSERT_TRUE(at_end.is_ok());
  EXPECT_EQ(at_end->records_size(), 0);
  EXPECT_EQ(at_end->end_offset(), 10u);
  auto past = fetch_at("t", 0, 11);
  EXPECT_EQ(past.status().code(), Errc::out_of_range);
  EXPECT_EQ(past.status().message(), "/s:t partition 0: offset 11 is after the end offset 10");
  EXPECT_EQ(fetch_at("t", 1, 0).status().code(), Errc::not_found);
  EXPECT_EQ(fetch_at("u", 0, 0).status().code(), Errc::not_found);
}

TEST_F(StreamOpsTest, CommitAndGetOffset) {
  ASSERT_TRUE(create_topic("t", 2, owner_).is_ok());
  auto none = committed("t", 1, "g");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->found());

  ASSERT_TRUE(commit_offset("t", 1, "g", 7, reader_).is_ok());  // read right suffices
  ASSERT_TRUE(commit_offset("t", 1, "g/with:odd chars", 99, owner_).is_ok());
  auto got = committed("t", 1, "g");
  ASSERT_TRUE(got.is_ok());
  EXPECT_TRUE(got->found());
  EXPECT_EQ(got->offset(), 7u);
  EXPECT_EQ(committed("t", 1, "g/with:odd chars")->offset(), 99u);
  EXPECT_FALSE(committed("t", 0, "g")->found());
  ASSERT_TRUE(commit_offset("t", 1, "g", 3, owner_).is_ok());
  EXPECT_EQ(committed("t", 1, "g")->offset(), 3u);

  EXPECT_EQ(commit_offset("t", 1, "", 1, owner_).code(), Errc::invalid_argument);
  EXPECT_EQ(commit_offset("t", 1, std::string(256, 'g'), 1, owner_).code(), Errc::invalid_argument);
  EXPECT_EQ(commit_offset("t", 1, std::string("a\0b", 3), 1, owner_).code(), Errc::invalid_argument);
  EXPECT_EQ(commit_offset("t", 2, "g", 1, owner_).code(), Errc::not_found);
  EXPECT_EQ(commit_offset("u", 0, "g", 1, owner_).code(), Errc::not_found);
  EXPECT_EQ(commit_offset("t", 1, "g", 1, stranger_).code(), Errc::permission_denied);
  EXPECT_EQ(committed("u", 0, "g").status().code(), Errc::not_found);
}

TEST_F(StreamOpsTest, RetentionByBytesAdvancesStartOffset) {
  ASSERT_TRUE(create_topic("t", 2, owner_).is_ok());
  std::vector<Record> records;
  for (int i = 0; i < 10; ++i) records.push_back(rec("", std::string(100, 'r')));
  ASSERT_TRUE(produce("t", 0, records, owner_).is_ok());
  ASSERT_TRUE(produce("t", 1, {rec("", std::string(100, 's'))}, owner_).is_ok());

  ASSERT_TRUE(retention(kNow).is_ok());  // no settings: nothing happens
  EXPECT_EQ(topic_info("t").start_offsets(0), 0u);

  update_stream([](Inode& s) { s.set_retention_bytes(350); });
  const uint64_t version = stream_inode().version();
  ASSERT_TRUE(retention(kNow).is_ok());
  auto info = topic_info("t");
  EXPECT_EQ(info.start_offsets(0), 7u);
  EXPECT_EQ(info.end_offsets(0), 10u);
  EXPECT_EQ(info.start_offsets(1), 0u);
  EXPECT_EQ(stream_inode().size(), 400u);
  EXPECT_EQ(stream_inode().version(), version + 1);
  EXPECT_EQ(volume_state().used_bytes(), 400u);
  EXPECT_EQ(volume_state().streams_bytes(), 400u);

  auto before = fetch_at("t", 0, 0);
  EXPECT_EQ(before.status().code(), Errc::out_of_range);
  EXPECT_EQ(before.status().message(), "/s:t partition 0: offset 0 is before the start offset 7");
  auto kept = fetch_at("t", 0, 7);
  ASSERT_TRUE(kept.is_ok());
  EXPECT_EQ(kept->records_size(), 3);
  EXPECT_EQ(kept->start_offset(), 7u);

  ASSERT_TRUE(retention(kNow).is_ok());  // idempotent
  EXPECT_EQ(topic_info("t").start_offsets(0), 7u);
  EXPECT_EQ(stream_inode().version(), version + 1);
}

TEST_F(StreamOpsTest, RetentionByAgeMayEmptyAPartition) {
  ASSERT_TRUE(create_topic("t", 1, owner_).is_ok());
  ASSERT_TRUE(produce("t", 0, {rec("", "a", 1000), rec("", "b", 2000), rec("", "c", 3000),
                               rec("", "d", 4000)},
                      owner_)
                  .is_ok());
  update_stream([](Inode& s) { s.set_retention_age_ms(1500); });
  ASSERT_TRUE(retention(4000).is_ok());  // keeps timestamps >= 2500
  auto info = topic_info("t");
  EXPECT_EQ(info.start_offsets(0), 2u);
  EXPECT_EQ(stream_inode().size(), 2u);
  EXPECT_EQ(fetch_at("t", 0, 2)->records(0).value(), "c");

  ASSERT_TRUE(retention(100000).is_ok());
  info = topic_info("t");
  EXPECT_EQ(info.start_offsets(0), 4u);
  EXPECT_EQ(info.end_offsets(0), 4u);
  EXPECT_EQ(stream_inode().size(), 0u);
  EXPECT_EQ(volume_state().used_bytes(), 0u);
  EXPECT_EQ(count_keys(records_prefix(kStreamInode)), 0u);
  auto empty = fetch_at("t", 0, 4);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->records_size(), 0);
  EXPECT_EQ(empty->start_offset(), 4u);

  auto next = produce("t", 0, {rec("", "e", 200000)}, owner_);
  ASSERT_TRUE(next.is_ok());
  EXPECT_EQ(next->offsets(0), 4u);
}

TEST_F(StreamOpsTest, RetentionWorkIsBoundedPerCommand) {
  ASSERT_TRUE(create_topic("t", 1, owner_).is_ok());
  std::vector<Record> records(kProduceRecordsMax, rec("", "x"));
  ASSERT_TRUE(produce("t", 0, records, owner_).is_ok());
  ASSERT_TRUE(produce("t", 0, std::vector<Record>(10, rec("", "y")), owner_).is_ok());
  update_stream([](Inode& s) { s.set_retention_bytes(1); });

  ASSERT_TRUE(retention(kNow).is_ok());  // deletes at most 100000 records
  EXPECT_EQ(topic_info("t").start_offsets(0), 100000u);
  EXPECT_EQ(stream_inode().size(), 10u);
  ASSERT_TRUE(retention(kNow).is_ok());  // the next op continues
  EXPECT_EQ(topic_info("t").start_offsets(0), 100009u);
  EXPECT_EQ(stream_inode().size(), 1u);
  EXPECT_EQ(volume_state().used_bytes(), 1u);
  EXPECT_EQ(count_keys(records_prefix(kStreamInode)), 1u);
}

TEST_F(StreamOpsTest, PurgeRemovesEverything) {
  ASSERT_TRUE(create_topic("t", 2, owner_).is_ok());
  ASSERT_TRUE(create_topic("u", 1, owner_).is_ok());
  ASSERT_TRUE(produce("t", -1, {rec("a", "1"), rec("b", "2"), rec("", "3")}, owner_).is_ok());
  ASSERT_TRUE(produce("u", 0, std::vector<Record>(9000, rec("", "4")), owner_).is_ok());
  ASSERT_TRUE(commit_offset("t", 0, "g", 1, owner_).is_ok());
  ASSERT_GT(volume_state().used_bytes(), 0u);

  const Inode s = stream_inode();
  ASSERT_TRUE(run([&](VolumeTxn& t) { return purge_stream(t, s); }).is_ok());
  EXPECT_EQ(count_keys(topic_prefix(kStreamInode)), 0u);
  EXPECT_EQ(count_keys(records_prefix(kStreamInode)), 0u);
  EXPECT_EQ(count_keys(group_prefix(kStreamInode)), 0u);
  EXPECT_EQ(volume_state().used_bytes(), 0u);
  EXPECT_EQ(volume_state().streams_bytes(), 0u);
}

}  // namespace
}  // namespace tessera::ns
