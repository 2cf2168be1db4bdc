#include "cluster/meta_machine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "storage/engine.h"
#include "storage/state_view.h"
#include "storage/test_engine.h"
#include "tessera/internal/state.pb.h"

namespace tessera::cluster {
namespace {

using internal::Command;
using internal::CommandResult;
using internal::Principal;
using internal::ShardRecord;
using internal::VolumeRecord;

constexpr ShardId kShard{kMetaShard};
constexpr int64_t kNow = 1'700'000'000'000;
constexpr uint64_t kFirstNode = 1;
constexpr uint64_t kStreamInode = 2;

Principal admin() {
  Principal p;
  p.set_uid(kAdminUid);
  p.add_gids(kAdminGid);
  p.set_admin(true);
  return p;
}

Principal user() {
  Principal p;
  p.set_uid(kFirstUid);
  p.add_gids(kFirstUid);
  return p;
}

Command command(const Principal& who = admin()) {
  Command c;
  *c.mutable_principal() = who;
  c.set_now_ms(kNow);
  return c;
}

Command create_shards(uint32_t count, uint32_t replication = 3, uint32_t first_partition = 0,
                      const Principal& who = admin()) {
  Command c = command(who);
  auto* op = c.mutable_create_shards();
  op->set_volume_id(kRootVolume);
  op->set_count(count);
  op->set_replication(replication);
  op->set_initial_node(kFirstNode);
  op->set_stream_ino(kStreamInode);
  op->set_topic("orders");
  op->set_first_partition(first_partition);
  return c;
}

Command remove_shards(const std::vector<uint64_t>& ids, const Principal& who = admin()) {
  Command c = command(who);
  for (uint64_t id : ids) c.mutable_remove_shards()->add_shards(id);
  return c;
}

Command mark_ready(uint64_t volume_id, const std::vector<uint64_t>& shards,
                   const Principal& who = admin()) {
  Command c = command(who);
  c.mutable_mark_ready()->set_volume_id(volume_id);
  for (uint64_t id : shards) c.mutable_mark_ready()->add_shards(id);
  return c;
}

Command create_volume(const std::string& path) {
  Command c = command();
  c.mutable_create_volume()->set_path(path);
  c.mutable_create_volume()->set_initial_node(kFirstNode);
  return c;
}

Errc errc(const CommandResult& r) { return static_cast<Errc>(r.errc()); }

std::vector<uint64_t> ids(const CommandResult& r) {
  return std::vector<uint64_t>(r.shards().begin(), r.shards().end());
}

std::vector<uint64_t> ids(const std::vector<ShardRecord>& records) {
  std::vector<uint64_t> out;
  for (const auto& s : records) out.push_back(s.id());
  return out;
}

// The meta shard of a cluster initialised by node 1; commands run the way
// the shard host runs them (writes undone when the result has an errc).
class MetaMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Command init = command();
    init.mutable_init_cluster()->set_cluster_id("test-cluster");
    init.mutable_init_cluster()->set_first_node(kFirstNode);
    CommandResult r = apply(init);
    ASSERT_EQ(r.errc(), 0u) << r.message();
  }

  CommandResult apply(const Command& cmd) {
    auto txn = engine_->begin();
    storage::TxnWriter w(*txn, kShard);
    txn->set_save_point();
    CommandResult result;
    machine_.apply(LogIndex(1), cmd, w, result);
    if (result.errc() != 0) {
      txn->rollback_to_save_point();
    } else {
      txn->pop_save_point();
    }
    EXPECT_TRUE(engine_->commit(*txn, false).is_ok());
    return result;
  }

  // Calls fn with a MetaReader over a fresh snapshot.
  template <typename Fn>
  auto read(Fn fn) {
    auto snap = engine_->snapshot();
    storage::SnapshotReader r(*snap, kShard);
    return fn(MetaReader(r));
  }
  std::vector<ShardRecord> shards() {
    auto got = read([](const MetaReader& m) { return m.shards(); });
    EXPECT_TRUE(got.is_ok()) << got.status().to_string();
    return got.is_ok() ? *got : std::vector<ShardRecord>();
  }
  uint64_t next_shard() {
    return read([](const MetaReader& m) { return m.next_shard(); });
  }
  VolumeRecord volume(const std::string& path) {
    auto all = read([](const MetaReader& m) { return m.volumes(); });
    EXPECT_TRUE(all.is_ok());
    for (const auto& v : *all) {
      if (v.path() == path) return v;
    }
    ADD_FAILURE() << "no volume " << path;
    return VolumeRecord();
  }
  ShardRecord shard(uint64_t id) {
    for (const auto& s : shards()) {
      if (s.id() == id) return s;
    }
    ADD_FAILURE() << "no shard " << id;
    return ShardRecord();
  }

  // Allocates `count` shards, expecting success.
  std::vector<uint64_t> allocate(uint32_t count) {
    CommandResult r = apply(create_shards(count));
    EXPECT_EQ(r.errc(), 0u) << r.message();
    return ids(r);
  }

  storage::TestEngine engine_{"meta"};
  MetaMachine machine_;
};

TEST_F(MetaMachineTest, CreateShardsAllocatesConsecutiveIdsFromTheVolumeCounter) {
  const uint64_t first = next_shard();
  EXPECT_EQ(first, kRootVolumeShard + 1);
  CommandResult r = apply(create_shards(3, 5, 4));
  ASSERT_EQ(r.errc(), 0u) << r.message();
  EXPECT_EQ(ids(r), (std::vector<uint64_t>{first, first + 1, first + 2}));
  EXPECT_EQ(next_shard(), first + 3);

  const std::vector<ShardRecord> records = shards();
  ASSERT_EQ(records.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const ShardRecord& s = records[i];
    EXPECT_EQ(s.id(), first + i);
    EXPECT_EQ(s.volume_id(), kRootVolume);
    EXPECT_EQ(s.stream_ino(), kStreamInode);
    EXPECT_EQ(s.topic(), "orders");
    EXPECT_EQ(s.partition(), 4 + i);
    EXPECT_EQ(s.replication(), 5u);
    EXPECT_EQ(s.initial_node(), kFirstNode);
    EXPECT_EQ(s.created_ms(), kNow);
    EXPECT_FALSE(s.ready());
  }

  CommandResult v = apply(create_volume("/v"));
  ASSERT_EQ(v.errc(), 0u) << v.message();
  EXPECT_EQ(v.volume().shard(), first + 3);
  EXPECT_EQ(allocate(1), (std::vector<uint64_t>{first + 4}));
  EXPECT_EQ(next_shard(), first + 5);
}

TEST_F(MetaMachineTest, CreateShardsOfATableRecordItsInode) {
  constexpr uint64_t kTableInode = 7;
  Command c = command();
  auto* op = c.mutable_create_shards();
  op->set_volume_id(kRootVolume);
  op->set_count(2);
  op->set_replication(3);
  op->set_initial_node(kFirstNode);
  op->set_table_ino(kTableInode);
  CommandResult r = apply(c);
  ASSERT_EQ(r.errc(), 0u) << r.message();
  ASSERT_EQ(ids(r).size(), 2u);
  CommandResult partitions = apply(create_shards(1));
  ASSERT_EQ(partitions.errc(), 0u) << partitions.message();

  const std::vector<ShardRecord> records = shards();
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    const ShardRecord& s = records[static_cast<size_t>(i)];
    EXPECT_EQ(s.id(), ids(r)[static_cast<size_t>(i)]);
    EXPECT_EQ(s.table_ino(), kTableInode);
    EXPECT_EQ(s.volume_id(), kRootVolume);
    EXPECT_EQ(s.stream_ino(), 0u);
    EXPECT_EQ(s.partition(), 0u);
    EXPECT_EQ(s.replication(), 3u);
    EXPECT_EQ(std::string(shard_kind(s)), "tablet");
  }
  EXPECT_EQ(records[2].table_ino(), 0u);
  EXPECT_EQ(records[2].stream_ino(), kStreamInode);
  EXPECT_EQ(std::string(shard_kind(records[2])), "partition");

  Command both = create_shards(1);
  both.mutable_create_shards()->set_table_ino(kTableInode);
  CommandResult refused = apply(both);
  EXPECT_EQ(errc(refused), Errc::invalid_argument);
  EXPECT_EQ(refused.message(), "shards: for stream inode 2 and table inode 7; a shard has one");
  EXPECT_EQ(shards().size(), 3u);
}

TEST_F(MetaMachineTest, CreateShardsChecksCountReplicationAndPrincipal) {
  const uint64_t before = next_shard();
  for (uint32_t count : {0u, 1025u}) {
    CommandResult r = apply(create_shards(count));
    EXPECT_EQ(errc(r), Errc::invalid_argument) << count;
    EXPECT_EQ(r.message(), "shards: count must be 1..1024");
  }
  for (uint32_t replication : {0u, 8u}) {
    CommandResult r = apply(create_shards(1, replication));
    EXPECT_EQ(errc(r), Errc::invalid_argument) << replication;
    EXPECT_EQ(r.message(), "shards: replication must be 1..7");
  }
  EXPECT_EQ(errc(apply(create_shards(1, 3, 0, user()))), Errc::permission_denied);
  EXPECT_EQ(next_shard(), before);
  EXPECT_TRUE(shards().empty());

  EXPECT_EQ(allocate(1024).size(), 1024u);
  EXPECT_EQ(apply(create_shards(1, 1)).errc(), 0u);
  EXPECT_EQ(apply(create_shards(1, 7)).errc(), 0u);
  EXPECT_EQ(next_shard(), before + 1026);
}

TEST_F(MetaMachineTest, RemoveShardsIsIdempotentAndListsWhatItRemoved) {
  const std::vector<uint64_t> s = allocate(3);
  ASSERT_EQ(s.size(), 3u);
  const uint64_t unknown = next_shard() + 100;

  CommandResult r = apply(remove_shards({s[0], s[2], unknown}));
  ASSERT_EQ(r.errc(), 0u) << r.message();
  EXPECT_EQ(ids(r), (std::vector<uint64_t>{s[0], s[2]}));
  EXPECT_EQ(ids(shards()), (std::vector<uint64_t>{s[1]}));

  CommandResult again = apply(remove_shards({s[0], s[2], s[0]}));
  EXPECT_EQ(again.errc(), 0u) << again.message();
  EXPECT_TRUE(ids(again).empty());

  EXPECT_EQ(errc(apply(remove_shards({s[1]}, user()))), Errc::permission_denied);
  EXPECT_EQ(ids(shards()), (std::vector<uint64_t>{s[1]}));
  const uint64_t next = next_shard();
  EXPECT_EQ(ids(apply(remove_shards({s[1]}))), (std::vector<uint64_t>{s[1]}));
  EXPECT_TRUE(shards().empty());
  EXPECT_EQ(next_shard(), next);  // ids are never reused
}

TEST_F(MetaMachineTest, MarkReadySetsShardsAndVolumesReady) {
  ASSERT_EQ(apply(create_volume("/v")).errc(), 0u);
  const VolumeRecord v = volume("/v");
  EXPECT_FALSE(v.ready());
  const std::vector<uint64_t> s = allocate(2);

  CommandResult r = apply(mark_ready(v.id(), {s[0]}));
  ASSERT_EQ(r.errc(), 0u) << r.message();
  EXPECT_TRUE(volume("/v").ready());
  EXPECT_FALSE(volume("/").ready());
  EXPECT_TRUE(shard(s[0]).ready());
  EXPECT_FALSE(shard(s[1]).ready());
  EXPECT_EQ(shard(s[0]).topic(), "orders");  // the rest of the record is kept

  ASSERT_EQ(apply(mark_ready(0, {s[1]})).errc(), 0u);
  EXPECT_TRUE(shard(s[1]).ready());
  ASSERT_EQ(apply(mark_ready(kRootVolume, {})).errc(), 0u);
  EXPECT_TRUE(volume("/").ready());
  EXPECT_EQ(volume("/").shard(), kRootVolumeShard);
  ASSERT_EQ(apply(mark_ready(v.id(), {s[0]})).errc(), 0u);  // again: still ready
  EXPECT_TRUE(volume("/v").ready());
}

TEST_F(MetaMachineTest, MarkReadyOfUnknownVolumeOrShardIsNotFound) {
  const std::vector<uint64_t> s = allocate(1);
  CommandResult vol = apply(mark_ready(99, {s[0]}));
  EXPECT_EQ(errc(vol), Errc::not_found);
  EXPECT_EQ(vol.message(), "volume 99: no such volume");
  EXPECT_FALSE(shard(s[0]).ready());

  const uint64_t unknown = next_shard();
  CommandResult sh = apply(mark_ready(kRootVolume, {s[0], unknown}));
  EXPECT_EQ(errc(sh), Errc::not_found);
  EXPECT_EQ(sh.message(), "shard " + std::to_string(unknown) + ": no such shard");
  EXPECT_FALSE(volume("/").ready());  // the host undoes the whole command
  EXPECT_FALSE(shard(s[0]).ready());
  EXPECT_EQ(shards().size(), 1u);  // marking never creates a record

  EXPECT_EQ(errc(apply(mark_ready(0, {s[0]}, user()))), Errc::permission_denied);
  EXPECT_FALSE(shard(s[0]).ready());
}

TEST_F(MetaMachineTest, ReaderShardsAndNextShardAgree) {
  std::vector<uint64_t> live = allocate(4);
  ASSERT_EQ(apply(create_volume("/a")).errc(), 0u);
  const std::vector<uint64_t> more = allocate(2);
  live.insert(live.end(), more.begin(), more.end());
  ASSERT_EQ(apply(remove_shards({live[1], live[4]})).errc(), 0u);
  live.erase(live.begin() + 4);
  live.erase(live.begin() + 1);

  const std::vector<ShardRecord> records = shards();
  EXPECT_EQ(ids(records), live);  // in id order
  const uint64_t next = next_shard();
  EXPECT_EQ(next, more.back() + 1);
  for (const auto& s : records) EXPECT_LT(s.id(), next);
  EXPECT_LT(volume("/a").shard(), next);

  storage::TestEngine empty("meta-empty");
  auto snap = empty->snapshot();
  storage::SnapshotReader r(*snap, kShard);
  MetaReader uninitialised(r);
  EXPECT_EQ(uninitialised.next_shard(), 0u);
  ASSERT_TRUE(uninitialised.shards().is_ok());
  EXPECT_TRUE(uninitialised.shards()->empty());
}

TEST_F(MetaMachineTest, MetaCommandsNeedAnInitialisedCluster) {
  storage::TestEngine empty("meta-uninit");
  auto txn = empty->begin();
  storage::TxnWriter w(*txn, kShard);
  CommandResult result;
  machine_.apply(LogIndex(1), create_shards(1), w, result);
  EXPECT_EQ(errc(result), Errc::unavailable);
  EXPECT_EQ(result.message(), "cluster not initialised");
}

TEST_F(MetaMachineTest, AVolumesDataShardsAreAllocatedReadiedAndRemovedWithIt) {
  Command c = create_volume("/v");
  c.mutable_create_volume()->set_data_shards(3);
  const uint64_t first = next_shard();
  CommandResult r = apply(c);
  ASSERT_EQ(r.errc(), 0u) << r.message();
  const VolumeRecord v = volume("/v");
  // The volume shard, then its data shards, from the one counter.
  EXPECT_EQ(v.shard(), first);
  ASSERT_EQ(v.data_shards_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const ShardRecord s = shard(v.data_shards(i));
    EXPECT_EQ(s.id(), first + 1 + static_cast<uint64_t>(i));
    EXPECT_TRUE(s.file_data());
    EXPECT_EQ(s.volume_id(), v.id());
    EXPECT_EQ(s.initial_node(), kFirstNode);
    EXPECT_FALSE(s.ready());
    EXPECT_STREQ(shard_kind(s), "data");
  }
  EXPECT_EQ(next_shard(), first + 4);
  // Ready with the volume.
  ASSERT_EQ(apply(mark_ready(v.id(), {})).errc(), 0u);
  for (uint64_t id : v.data_shards()) EXPECT_TRUE(shard(id).ready()) << id;
  // Too many is refused, and allocates nothing.
  Command many = create_volume("/w");
  many.mutable_create_volume()->set_data_shards(kDataShardsMax + 1);
  EXPECT_EQ(errc(apply(many)), Errc::invalid_argument);
  EXPECT_EQ(next_shard(), first + 4);
  // Removed with the volume: their replicas are then dropped as unknown.
  Command rm = command();
  rm.mutable_remove_volume()->set_path("/v");
  ASSERT_EQ(apply(rm).errc(), 0u);
  for (const auto& s : shards()) EXPECT_FALSE(s.file_data()) << s.id();
}

}  // namespace
}  // namespace tessera::cluster
