// The name shard's stream administration commands (stream_admin.h):
// removing a topic, growing its partition count, setting retention.

#include "namespace/stream_admin.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/permissions.h"
#include "namespace/shard_test_util.h"
#include "namespace/stream_ops.h"
#include "namespace/volume_machine.h"
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

constexpr ShardId kShard{1};
constexpr uint64_t kStreamInode = 2;
constexpr int64_t kNow = 1'700'000'000'000;
constexpr int kRead = static_cast<int>(Access::read);

std::vector<uint64_t> ids(const CommandResult& r) { return {r.shards().begin(), r.shards().end()}; }

// The name shard of a volume mounted at "/" holding one stream "/s" (inode
// 2, owner 1000:100, mode 0660), built by hand; commands run the way the
// shard host runs them.
class StreamAdminTest : public ::testing::Test {
 protected:
  const Principal owner_ = user(1000, 100);
  const Principal member_ = user(2000, 100);    // group: read and write, not owner
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
    s.set_mode(0660);
    s.set_uid(1000);
    s.set_gid(100);
    s.set_nlink(1);
    s.set_version(1);
    vt->put_inode(s);
    vt->put_dirent(kRootInode, "s", kStreamInode);
    vt->save();
    ASSERT_TRUE(engine_->commit(*txn, false).is_ok());
  }

  // Applies `cmd` with the volume machine, as the shard host does (writes
  // undone when it fails).
  Status apply(const Command& cmd, CommandResult* out = nullptr) {
    return shard_test::run_machine(*engine_, kShard, machine_, cmd, out);
  }
  Status run(const std::function<Status(VolumeTxn&)>& fn) {
    return shard_test::apply_on(*engine_, kShard, [&](storage::StateWriter& w) -> Status {
      auto vt = VolumeTxn::open(w);
      TESSERA_TRY(vt.status());
      TESSERA_TRY(fn(*vt));
      vt->save();
      return Status::ok();
    });
  }

  Command command(const Principal& who, int64_t now_ms = kNow) {
    return shard_test::command(who, now_ms);
  }

  Status create_topic(const std::string& topic, uint32_t partitions, uint64_t first_shard) {
    Command c = command(owner_);
    auto* op = c.mutable_create_topic();
    op->set_path("/s");
    op->set_topic(topic);
    op->set_partitions(partitions);
    for (uint32_t i = 0; i < partitions; ++i) op->add_shards(first_shard + i);
    return apply(c);
  }
  Status remove_topic(const std::string& topic, const Principal& who,
                      CommandResult* out = nullptr, const std::string& path = "/s") {
    Command c = command(who, kNow + 1000);
    c.mutable_remove_topic()->set_path(path);
    c.mutable_remove_topic()->set_topic(topic);
    return apply(c, out);
  }
  Status add_partitions(const std::string& topic, uint32_t current,
                        const std::vector<uint64_t>& shards, const Principal& who) {
    Command c = command(who, kNow + 2000);
    auto* op = c.mutable_add_partitions();
    op->set_path("/s");
    op->set_topic(topic);
    op->set_current(current);
    for (uint64_t s : shards) op->add_shards(s);
    return apply(c);
  }
  Status set_retention(const Principal& who, std::optional<int64_t> age_ms,
                       std::optional<uint64_t> bytes, const std::string& path = "/s") {
    Command c = command(who, kNow + 3000);
    auto* op = c.mutable_set_retention();
    op->set_path(path);
    if (age_ms) {
      op->set_set_age(true);
      op->set_retention_age_ms(*age_ms);
    }
    if (bytes) {
      op->set_set_bytes(true);
      op->set_retention_bytes(*bytes);
    }
    return apply(c);
  }

  // StreamUsageOp from partition shard `shard` (0: unnamed).
  Status report(const std::string& topic, uint32_t part, uint64_t bytes, uint64_t shard = 0) {
    Command c = command(Principal());
    auto* op = c.mutable_stream_usage();
    op->set_stream_ino(kStreamInode);
    op->set_topic(topic);
    op->set_partition(part);
    op->set_bytes(bytes);
    op->set_shard(shard);
    return apply(c);
  }
  Result<uint64_t> request_grant(const std::string& topic, uint32_t part, uint64_t want,
                                 uint64_t shard = 0) {
    Command c = command(Principal());
    auto* op = c.mutable_stream_grant();
    op->set_stream_ino(kStreamInode);
    op->set_topic(topic);
    op->set_partition(part);
    op->set_want(want);
    op->set_shard(shard);
    CommandResult result;
    TESSERA_TRY(apply(c, &result));
    return result.partition().grant();
  }

  template <typename Fn>
  auto read(Fn fn) {
    auto snap = engine_->snapshot();
    storage::SnapshotReader r(*snap, kShard);
    VolumeView view(r);
    return fn(view);
  }
  Result<StreamTopic> open(const std::string& topic) {
    return read([&](const VolumeView& v) { return open_stream_topic(v, owner_, "/s", topic, kRead); });
  }
  std::vector<uint64_t> shards_of(const std::string& topic) {
    auto t = open(topic);
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    std::vector<uint64_t> out;
    if (t.is_ok()) {
      for (const auto& ps : t->topic.partitions()) out.push_back(ps.shard());
    }
    return out;
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

  storage::TestEngine engine_{"stream_admin"};
  VolumeMachine machine_;
};

// ------------------------------------------------------------ remove topic

TEST_F(StreamAdminTest, RemoveTopicForgetsItAndAnswersItsShards) {
  ASSERT_TRUE(create_topic("t", 3, 100).is_ok());
  ASSERT_TRUE(create_topic("u", 1, 200).is_ok());
  const uint64_t version = stream_inode().version();

  CommandResult result;
  ASSERT_TRUE(remove_topic("t", owner_, &result).is_ok());
  EXPECT_EQ(ids(result), (std::vector<uint64_t>{100, 101, 102}));
  EXPECT_EQ(result.inode().id(), kStreamInode);
  EXPECT_EQ(open("t").status().code(), Errc::not_found);
  EXPECT_EQ(shards_of("u"), (std::vector<uint64_t>{200}));
  const Inode s = stream_inode();
  EXPECT_EQ(s.topics(), 1u);
  EXPECT_GT(s.version(), version);
  EXPECT_EQ(s.ctime_ms(), kNow + 1000);
  EXPECT_EQ(shard_test::count_keys(*engine_, kShard, topic_prefix(kStreamInode)), 1u);

  // The same name makes a new topic, with new shards.
  ASSERT_TRUE(create_topic("t", 1, 300).is_ok());
  EXPECT_EQ(shards_of("t"), (std::vector<uint64_t>{300}));
}

TEST_F(StreamAdminTest, RemoveTopicOfNoSuchTopicIsNotFound) {
  ASSERT_TRUE(create_topic("t", 1, 100).is_ok());
  Status missing = remove_topic("nope", owner_);
  EXPECT_EQ(missing.code(), Errc::not_found);
  EXPECT_EQ(missing.message(), "/s:nope: no such topic");

  ASSERT_TRUE(remove_topic("t", owner_).is_ok());
  Status again = remove_topic("t", owner_);  // a retried removal
  EXPECT_EQ(again.code(), Errc::not_found);
  EXPECT_EQ(again.message(), "/s:t: no such topic");
  EXPECT_EQ(stream_inode().topics(), 0u);

  EXPECT_EQ(remove_topic("t", owner_, nullptr, "/nothing").code(), Errc::not_found);
  EXPECT_EQ(remove_topic("t", owner_, nullptr, "/").code(), Errc::wrong_kind);
}

TEST_F(StreamAdminTest, RemoveTopicNeedsWriteOnTheStream) {
  ASSERT_TRUE(create_topic("t", 2, 100).is_ok());
  Status denied = remove_topic("t", stranger_);
  EXPECT_EQ(denied.code(), Errc::permission_denied);
  EXPECT_NE(denied.message().find("/s"), std::string::npos) << denied.message();
  // Read only: the group's write bit off.
  ASSERT_TRUE(run([](VolumeTxn& t) {
                auto n = t.inode_or_corrupt(kStreamInode);
                TESSERA_TRY(n.status());
                n->set_mode(0640);
                t.put_inode(*n);
                return Status::ok();
              }).is_ok());
  EXPECT_EQ(remove_topic("t", member_).code(), Errc::permission_denied);
  EXPECT_EQ(shards_of("t"), (std::vector<uint64_t>{100, 101}));
  EXPECT_EQ(stream_inode().topics(), 1u);
}

TEST_F(StreamAdminTest, RemoveTopicTakesItsBytesAndGrantsOutOfTheUsage) {
  set_quota(1u << 20);
  ASSERT_TRUE(create_topic("t", 2, 100).is_ok());
  ASSERT_TRUE(create_topic("u", 1, 200).is_ok());
  ASSERT_TRUE(request_grant("t", 0, 1000).is_ok());
  ASSERT_TRUE(request_grant("t", 1, 500).is_ok());
  ASSERT_TRUE(request_grant("u", 0, 2000).is_ok());
  ASSERT_TRUE(report("t", 0, 400).is_ok());
  ASSERT_TRUE(report("t", 1, 100).is_ok());
  ASSERT_TRUE(report("u", 0, 30).is_ok());
  ASSERT_EQ(stream_inode().size(), 530u);
  ASSERT_EQ(volume_state().streams_bytes(), 530u);
  const uint64_t u_grant = open("u")->topic.partitions(0).grant();
  ASSERT_GT(volume_state().streams_granted(), u_grant);

  ASSERT_TRUE(remove_topic("t", member_).is_ok());
  const auto vol = volume_state();
  EXPECT_EQ(stream_inode().size(), 30u);
  EXPECT_EQ(vol.streams_bytes(), 30u);
  EXPECT_EQ(vol.used_bytes(), 30u);
  EXPECT_EQ(vol.streams_granted(), u_grant);

  // Then removing the stream leaves nothing counted.
  Command rm = command(owner_);
  rm.mutable_remove()->set_path("/s");
  CommandResult result;
  ASSERT_TRUE(apply(rm, &result).is_ok());
  EXPECT_EQ(ids(result), (std::vector<uint64_t>{200}));
  EXPECT_EQ(volume_state().streams_bytes(), 0u);
  EXPECT_EQ(volume_state().used_bytes(), 0u);
  EXPECT_EQ(volume_state().streams_granted(), 0u);
}

TEST_F(StreamAdminTest, ReportsOfARemovedTopicsShardsDoNotReachItsSuccessor) {
  set_quota(1u << 20);
  ASSERT_TRUE(create_topic("t", 1, 100).is_ok());
  ASSERT_TRUE(report("t", 0, 70, 100).is_ok());
  ASSERT_TRUE(remove_topic("t", owner_).is_ok());
  ASSERT_TRUE(create_topic("t", 1, 300).is_ok());

  // The old shard, not dropped yet, reports and asks for a grant.
  EXPECT_EQ(report("t", 0, 70, 100).code(), Errc::not_found);
  EXPECT_EQ(request_grant("t", 0, 10, 100).status().code(), Errc::not_found);
  EXPECT_EQ(open("t")->topic.partitions(0).bytes(), 0u);
  EXPECT_EQ(volume_state().streams_bytes(), 0u);
  EXPECT_EQ(volume_state().streams_granted(), 0u);

  // The new one is heard.
  ASSERT_TRUE(report("t", 0, 5, 300).is_ok());
  ASSERT_TRUE(request_grant("t", 0, 10, 300).is_ok());
  EXPECT_EQ(volume_state().streams_bytes(), 5u);
  EXPECT_GT(volume_state().streams_granted(), 0u);
}

// ---------------------------------------------------------- add partitions

TEST_F(StreamAdminTest, AddPartitionsAppendsAndKeepsTheExistingOnes) {
  set_quota(1u << 20);
  ASSERT_TRUE(create_topic("t", 2, 100).is_ok());
  ASSERT_TRUE(request_grant("t", 1, 500).is_ok());
  ASSERT_TRUE(report("t", 1, 40).is_ok());
  const auto before = open("t")->topic;
  const uint64_t version = stream_inode().version();

  ASSERT_TRUE(add_partitions("t", 2, {200, 201}, member_).is_ok());
  const auto after = open("t")->topic;
  ASSERT_EQ(after.partitions_size(), 4);
  EXPECT_EQ(shards_of("t"), (std::vector<uint64_t>{100, 101, 200, 201}));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(after.partitions(i).SerializeAsString(), before.partitions(i).SerializeAsString());
  }
  EXPECT_EQ(after.partitions(2).bytes(), 0u);
  EXPECT_EQ(after.partitions(3).grant(), 0u);
  EXPECT_EQ(after.created_ms(), before.created_ms());
  EXPECT_EQ(stream_inode().topics(), 1u);
  EXPECT_EQ(stream_inode().version(), version + 1);
  EXPECT_EQ(stream_inode().size(), 40u);

  // The new partitions report and ask like the old ones.
  ASSERT_TRUE(report("t", 3, 9, 201).is_ok());
  EXPECT_EQ(stream_inode().size(), 49u);
  ASSERT_TRUE(add_partitions("t", 4, {202}, owner_).is_ok());
  EXPECT_EQ(open("t")->topic.partitions_size(), 5);
}

TEST_F(StreamAdminTest, AddPartitionsRefusesWhenTheCountChangedMeanwhile) {
  ASSERT_TRUE(create_topic("t", 2, 100).is_ok());
  // Two routers both saw 2 partitions: the first wins.
  ASSERT_TRUE(add_partitions("t", 2, {200}, owner_).is_ok());
  Status raced = add_partitions("t", 2, {300, 301}, owner_);
  EXPECT_EQ(raced.code(), Errc::failed_precondition);
  EXPECT_EQ(raced.message(), "/s:t: has 3 partitions now, not 2");
  EXPECT_EQ(shards_of("t"), (std::vector<uint64_t>{100, 101, 200}));
  EXPECT_EQ(add_partitions("t", 5, {300}, owner_).code(), Errc::failed_precondition);

  // Removed meanwhile.
  ASSERT_TRUE(remove_topic("t", owner_).is_ok());
  Status gone = add_partitions("t", 3, {300}, owner_);
  EXPECT_EQ(gone.code(), Errc::not_found);
  EXPECT_EQ(gone.message(), "/s:t: no such topic");
}

TEST_F(StreamAdminTest, AddPartitionsChecksRightsAndCounts) {
  ASSERT_TRUE(create_topic("t", 2, 100).is_ok());
  EXPECT_EQ(add_partitions("t", 2, {200}, stranger_).code(), Errc::permission_denied);
  Status none = add_partitions("t", 2, {}, owner_);
  EXPECT_EQ(none.code(), Errc::invalid_argument);
  EXPECT_EQ(none.message(), "/s:t: partitions must grow to 3..1024, not 2");
  std::vector<uint64_t> many(kPartitionsMax - 1, 7);
  EXPECT_EQ(add_partitions("t", 2, many, owner_).code(), Errc::invalid_argument);
  EXPECT_EQ(open("t")->topic.partitions_size(), 2);
  many.pop_back();
  ASSERT_TRUE(add_partitions("t", 2, many, owner_).is_ok());
  EXPECT_EQ(open("t")->topic.partitions_size(), static_cast<int>(kPartitionsMax));
}

// --------------------------------------------------------------- retention

TEST_F(StreamAdminTest, SetRetentionChangesOnlyTheFieldsGiven) {
  ASSERT_TRUE(create_topic("t", 2, 100).is_ok());
  ASSERT_TRUE(create_topic("u", 1, 200).is_ok());
  const uint64_t version = stream_inode().version();
  ASSERT_TRUE(set_retention(owner_, 60000, std::nullopt).is_ok());
  Inode s = stream_inode();
  EXPECT_EQ(s.retention_age_ms(), 60000);
  EXPECT_EQ(s.retention_bytes(), 0u);
  EXPECT_EQ(s.version(), version + 1);
  EXPECT_EQ(s.ctime_ms(), kNow + 3000);

  ASSERT_TRUE(set_retention(owner_, std::nullopt, 1u << 20).is_ok());
  s = stream_inode();
  EXPECT_EQ(s.retention_age_ms(), 60000);
  EXPECT_EQ(s.retention_bytes(), 1u << 20);

  // Every topic's shards get the settings at the next retention run.
  auto retained = read([](const VolumeView& v) { return streams_with_retention(v); });
  ASSERT_TRUE(retained.is_ok()) << retained.status().to_string();
  ASSERT_EQ(retained->size(), 1u);
  EXPECT_EQ((*retained)[0].retention_age_ms, 60000);
  EXPECT_EQ((*retained)[0].retention_bytes, 1u << 20);
  EXPECT_EQ((*retained)[0].shards, (std::vector<uint64_t>{100, 101, 200}));

  // 0: no limit; with both off the stream has no retention.
  ASSERT_TRUE(set_retention(owner_, 0, 0).is_ok());
  retained = read([](const VolumeView& v) { return streams_with_retention(v); });
  ASSERT_TRUE(retained.is_ok());
  EXPECT_TRUE(retained->empty());

  // Nothing given: nothing changes.
  const uint64_t v2 = stream_inode().version();
  ASSERT_TRUE(set_retention(owner_, std::nullopt, std::nullopt).is_ok());
  EXPECT_EQ(stream_inode().version(), v2);
}

TEST_F(StreamAdminTest, SetRetentionIsValidatedAsAtCreation) {
  ASSERT_TRUE(set_retention(owner_, 1000, 10).is_ok());
  Status neg = set_retention(owner_, -1, std::nullopt);
  EXPECT_EQ(neg.code(), Errc::invalid_argument);
  EXPECT_EQ(neg.message(), "/s: negative retention age");
  EXPECT_EQ(set_retention(owner_, -5, 20).code(), Errc::invalid_argument);
  EXPECT_EQ(stream_inode().retention_age_ms(), 1000);
  EXPECT_EQ(stream_inode().retention_bytes(), 10u);
  EXPECT_EQ(set_retention(owner_, 1, std::nullopt, "/").code(), Errc::wrong_kind);
  EXPECT_EQ(set_retention(owner_, 1, std::nullopt, "/x").code(), Errc::not_found);
}

TEST_F(StreamAdminTest, SetRetentionNeedsTheAdminRight) {
  // Write is not enough: admin belongs to the owner (or an ACL grant).
  Status denied = set_retention(member_, 1000, std::nullopt);
  EXPECT_EQ(denied.code(), Errc::permission_denied);
  EXPECT_NE(denied.message().find("/s"), std::string::npos) << denied.message();
  EXPECT_EQ(set_retention(stranger_, 1000, std::nullopt).code(), Errc::permission_denied);
  EXPECT_EQ(stream_inode().retention_age_ms(), 0);

  Principal root = user(0, 0);
  root.set_admin(true);
  ASSERT_TRUE(set_retention(root, 1000, std::nullopt).is_ok());
  ASSERT_TRUE(run([&](VolumeTxn& t) {
                auto n = t.inode_or_corrupt(kStreamInode);
                TESSERA_TRY(n.status());
                auto* e = n->add_acl();
                e->set_id(2000);
                e->set_admin(true);
                t.put_inode(*n);
                return Status::ok();
              }).is_ok());
  ASSERT_TRUE(set_retention(member_, 2000, std::nullopt).is_ok());
  EXPECT_EQ(stream_inode().retention_age_ms(), 2000);
}

}  // namespace
}  // namespace tessera::ns
