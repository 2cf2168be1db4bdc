// Tables over tablet shards, name shard side (table_map.h): creation with a
// tablet, the tablet map, usage reports, grants, removal, and the quota
// check of files counting tablets by grant. Commands run through
// VolumeMachine, as the shard host runs them.

#include "namespace/table_map.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/permissions.h"
#include "namespace/row_ops.h"
#include "namespace/row_ops_test_util.h"
#include "namespace/shard_test_util.h"
#include "namespace/volume_machine.h"
#include "storage/test_engine.h"

namespace tessera::ns {
namespace {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::Principal;
using internal::TabletRef;
using shard_test::user;
using tessera::v1::ObjectKind;
using Shards = std::vector<uint64_t>;

constexpr ShardId kShard{1};
constexpr uint64_t kTable = 2;  // the first inode after the root: "/t"
constexpr uint64_t kFirst = 100;
constexpr uint64_t kSecond = 101;
constexpr int64_t kNow = 1'700'000'000'000;
constexpr int kRead = static_cast<int>(Access::read);
constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

TabletRef tablet(std::string start_key, uint64_t shard) {
  TabletRef t;
  t.set_start_key(std::move(start_key));
  t.set_shard(shard);
  return t;
}

// The name shard of a volume mounted at "/" (root mode 0777) holding table
// "/t" (inode 2, owner 1000:100, mode 0640) on tablet shard 100.
class TableMapTest : public ::testing::Test {
 protected:
  const Principal owner_ = user(1000, 100);
  const Principal stranger_ = user(3000, 300);

  void SetUp() override {
    Command init = command(Principal());
    init.mutable_principal()->set_admin(true);
    init.mutable_init_volume()->set_volume_id(1);
    init.mutable_init_volume()->set_mount_path("/");
    init.mutable_init_volume()->set_mode(0777);
    ASSERT_TRUE(run(init).is_ok());
    ASSERT_TRUE(create("/t", ObjectKind::KIND_TABLE, kFirst).is_ok());
  }

  static Command command(const Principal& who, int64_t now_ms = kNow) {
    return shard_test::command(who, now_ms);
  }
  // Applies `cmd` with VolumeMachine; its writes are undone when it fails.
  Status run(const Command& cmd, CommandResult* out = nullptr) {
    return shard_test::run_machine(*engine_, kShard, machine_, cmd, out);
  }

  Status create(const std::string& path, ObjectKind kind, uint64_t tablet_shard = 0) {
    Command c = command(owner_);
    c.mutable_create()->set_path(path);
    c.mutable_create()->set_kind(kind);
    c.mutable_create()->set_mode(0640);
    c.mutable_create()->set_tablet_shard(tablet_shard);
    return run(c);
  }
  // Removes `path`; the shards released.
  Result<Shards> remove(const std::string& path) {
    Command c = command(owner_);
    c.mutable_remove()->set_path(path);
    CommandResult result;
    TESSERA_TRY(run(c, &result));
    return Shards(result.shards().begin(), result.shards().end());
  }
  Status map(const std::string& start_key, uint64_t shard, uint64_t ino = kTable) {
    Command c = command(Principal());
    c.mutable_tablet_map()->set_table_ino(ino);
    c.mutable_tablet_map()->set_start_key(start_key);
    c.mutable_tablet_map()->set_shard(shard);
    return run(c);
  }
  Status usage(const std::string& start_key, uint64_t shard, uint64_t bytes, uint64_t rows,
               uint64_t grant = 0, int64_t now_ms = kNow, uint64_t ino = kTable) {
    Command c = command(Principal(), now_ms);
    auto* u = c.mutable_table_usage();
    u->set_table_ino(ino);
    u->set_start_key(start_key);
    u->set_shard(shard);
    u->set_bytes(bytes);
    u->set_rows(rows);
    u->set_grant(grant);
    return run(c);
  }
  // TableGrantOp: the tablet holds `held` bytes and needs `want` more.
  Result<uint64_t> grant(const std::string& start_key, uint64_t shard, uint64_t held,
                         uint64_t want, uint64_t ino = kTable) {
    Command c = command(Principal());
    auto* g = c.mutable_table_grant();
    g->set_table_ino(ino);
    g->set_start_key(start_key);
    g->set_shard(shard);
    g->set_held(held);
    g->set_want(want);
    CommandResult result;
    TESSERA_TRY(run(c, &result));
    return result.tablet().grant();
  }

  // Runs fn(VolumeTxn&) in a transaction that saves the volume record.
  template <typename Fn>
  Status in_txn(Fn fn) {
    return shard_test::apply_on(*engine_, kShard, [&](storage::StateWriter& w) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto txn, VolumeTxn::open(w));
      TESSERA_TRY(fn(txn));
      txn.save();
      return Status::ok();
    });
  }
  void set_quota(uint64_t bytes) {
    ASSERT_TRUE(in_txn([&](VolumeTxn& t) {
                  t.vol().set_quota_bytes(bytes);
                  return Status::ok();
                }).is_ok());
  }
  // A file write of `bytes` more bytes, with the quota check.
  Status charge_file(uint64_t bytes) {
    return in_txn([&](VolumeTxn& t) {
      return t.charge(UsageKind::files, static_cast<int64_t>(bytes), "/f");
    });
  }

  template <typename Fn>
  auto read(Fn fn) {
    return shard_test::read_on(*engine_, kShard, [&](const storage::StateReader& r) {
      VolumeView view(r);
      return fn(view);
    });
  }
  Result<TableTablets> open(const std::string& path, const Principal& who, int want = kRead) {
    return read([&](const VolumeView& v) { return open_table(v, who, path, want); });
  }
  std::vector<TabletRef> tablets(const std::string& path = "/t") {
    auto t = open(path, owner_);
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    return t.is_ok() ? t->tablets : std::vector<TabletRef>();
  }
  Inode inode(uint64_t ino = kTable) {
    return read([&](const VolumeView& v) { return v.inode_or_corrupt(ino); }).value();
  }
  internal::VolumeState vol() {
    return read([](const VolumeView& v) { return v.volume(); }).value();
  }
  size_t count_keys(const std::string& prefix) {
    return shard_test::count_keys(*engine_, kShard, prefix);
  }

  storage::TestEngine engine_{"table_map"};
  VolumeMachine machine_;
};

TEST_F(TableMapTest, CreateWithATabletShardMapsEveryKeyToIt) {
  auto t = open("/t", owner_);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->table.inode.id(), kTable);
  EXPECT_EQ(t->table.path, "/t");
  ASSERT_EQ(t->tablets.size(), 1u);
  EXPECT_EQ(t->tablets[0].SerializeAsString(), tablet("", kFirst).SerializeAsString());

  ASSERT_TRUE(create("/legacy", ObjectKind::KIND_TABLE).is_ok());  // rows in the volume shard
  EXPECT_TRUE(tablets("/legacy").empty());
  EXPECT_EQ(create("/t", ObjectKind::KIND_TABLE, 7).code(), Errc::already_exists);
  EXPECT_EQ(tablets().size(), 1u);
  Status stream = create("/s", ObjectKind::KIND_STREAM, 7);
  EXPECT_EQ(stream.code(), Errc::invalid_argument);
  EXPECT_EQ(stream.message(), "/s: only a table has a tablet shard");

  EXPECT_EQ(open("/t", stranger_).status().code(), Errc::permission_denied);
  EXPECT_EQ(open("/", owner_).status().code(), Errc::wrong_kind);
  EXPECT_EQ(open("/none", owner_).status().code(), Errc::not_found);
}

TEST_F(TableMapTest, TabletIndexPicksTheLastTabletStartingAtOrBeforeTheKey) {
  const std::vector<TabletRef> one = {tablet("", 1)};
  EXPECT_EQ(tablet_index(one, "a"), 0u);
  EXPECT_EQ(tablet_index(one, "\xff"), 0u);
  const std::vector<TabletRef> three = {tablet("", 1), tablet("g", 2), tablet("p", 3)};
  EXPECT_EQ(tablet_index(three, "a"), 0u);
  EXPECT_EQ(tablet_index(three, "f\xff"), 0u);
  EXPECT_EQ(tablet_index(three, "g"), 1u);
  EXPECT_EQ(tablet_index(three, "g\x01"), 1u);
  EXPECT_EQ(tablet_index(three, "oz"), 1u);
  EXPECT_EQ(tablet_index(three, "p"), 2u);
  EXPECT_EQ(tablet_index(three, "\x80"), 2u);  // bytes compare unsigned
}

TEST_F(TableMapTest, TabletMapAddsAnEntryOnce) {
  ASSERT_TRUE(map("m", kSecond).is_ok());
  ASSERT_TRUE(map("c", 102).is_ok());
  std::vector<TabletRef> got = tablets();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].shard(), kFirst);
  EXPECT_EQ(got[1].SerializeAsString(), tablet("c", 102).SerializeAsString());
  EXPECT_EQ(got[2].SerializeAsString(), tablet("m", kSecond).SerializeAsString());
  EXPECT_EQ(tablet_index(got, "d"), 1u);

  ASSERT_TRUE(usage("m", kSecond, 40, 2).is_ok());
  EXPECT_TRUE(map("m", kSecond).is_ok());  // a retry changes nothing
  EXPECT_EQ(tablets()[2].bytes(), 40u);
  Status other = map("m", 9);
  EXPECT_EQ(other.code(), kFailedPrecondition);
  EXPECT_EQ(other.message(),
            "table inode 2 tablet m.. on shard 9: the table's tablet map has shard 101 there");
  Status first = map("", 9);
  EXPECT_EQ(first.code(), Errc::invalid_argument);
  EXPECT_EQ(first.message(),
            "table inode 2 tablet .. on shard 9: the first tablet of a table never moves");
  EXPECT_EQ(map("x", 0).code(), Errc::invalid_argument);
  EXPECT_EQ(map(std::string(kRowKeyBytesMax + 1, 'x'), 9).code(), Errc::invalid_argument);
  EXPECT_EQ(tablets().size(), 3u);

  ASSERT_TRUE(create("/legacy", ObjectKind::KIND_TABLE).is_ok());
  EXPECT_EQ(map("m", 9, 3).code(), kFailedPrecondition);
  EXPECT_EQ(map("m", 9, kRootInode).code(), Errc::not_found);
  ASSERT_TRUE(remove("/t").is_ok());
  Status gone = map("x", 9);
  EXPECT_EQ(gone.code(), Errc::not_found);
  EXPECT_EQ(gone.message(), "table inode 2 tablet x.. on shard 9: not found");
}

TEST_F(TableMapTest, UsageMovesTheTableAndTheVolumeByDeltas) {
  const uint64_t version = inode().version();
  ASSERT_TRUE(usage("", kFirst, 500, 5, 0, kNow + 5).is_ok());
  ASSERT_TRUE(map("m", kSecond).is_ok());
  ASSERT_TRUE(usage("m", kSecond, 300, 2, 0, kNow + 9).is_ok());
  Inode t = inode();
  EXPECT_EQ(t.size(), 800u);
  EXPECT_EQ(t.rows(), 7u);
  EXPECT_EQ(t.mtime_ms(), kNow + 9);
  EXPECT_EQ(t.version(), version + 2);
  EXPECT_EQ(vol().tables_bytes(), 800u);
  EXPECT_EQ(vol().tablets_bytes(), 800u);
  EXPECT_EQ(vol().used_bytes(), 800u);
  EXPECT_EQ(vol().tablets_granted(), 800u);  // no grants: each counts its bytes

  ASSERT_TRUE(usage("", kFirst, 200, 3, 0, kNow + 20).is_ok());  // rows deleted
  t = inode();
  EXPECT_EQ(t.size(), 500u);
  EXPECT_EQ(t.rows(), 5u);
  EXPECT_EQ(t.mtime_ms(), kNow + 9);  // shrinking is no modification
  EXPECT_EQ(vol().tables_bytes(), 500u);
  EXPECT_EQ(vol().tablets_bytes(), 500u);
  EXPECT_EQ(vol().used_bytes(), 500u);
  EXPECT_EQ(tablets()[0].bytes(), 200u);
  EXPECT_EQ(tablets()[0].rows(), 3u);

  const uint64_t before = inode().version();
  ASSERT_TRUE(usage("", kFirst, 200, 3).is_ok());  // unchanged: writes nothing
  EXPECT_EQ(inode().version(), before);
  set_quota(100);
  ASSERT_TRUE(usage("", kFirst, 900, 9).is_ok());  // stored already: never refused
  EXPECT_EQ(vol().used_bytes(), 1200u);
}

TEST_F(TableMapTest, UsageOfATabletTheMapDoesNotNameChangesNothing) {
  ASSERT_TRUE(usage("", kFirst, 50, 1).is_ok());
  const std::string volume = vol().SerializeAsString();
  const std::string table = inode().SerializeAsString();
  Status early = usage("m", kSecond, 10, 1);  // a split's tablet before TabletMapOp
  EXPECT_EQ(early.code(), kFailedPrecondition);
  EXPECT_EQ(early.message(),
            "table inode 2 tablet m.. on shard 101: the table's tablet map has no tablet there");
  Status stale = usage("", 999, 10, 1);
  EXPECT_EQ(stale.code(), kFailedPrecondition);
  EXPECT_EQ(stale.message(),
            "table inode 2 tablet .. on shard 999: the table's tablet map has shard 100 there");
  EXPECT_EQ(grant("m", kSecond, 0, 10).status().code(), kFailedPrecondition);
  EXPECT_EQ(vol().SerializeAsString(), volume);
  EXPECT_EQ(inode().SerializeAsString(), table);

  ASSERT_TRUE(create("/legacy", ObjectKind::KIND_TABLE).is_ok());
  EXPECT_EQ(usage("", kFirst, 10, 1, 0, kNow, 3).code(), kFailedPrecondition);
  EXPECT_EQ(usage("", kFirst, 10, 1, 0, kNow, 99).code(), Errc::not_found);
  EXPECT_EQ(usage("", kFirst, 10, 1, 0, kNow, kRootInode).code(), Errc::not_found);
}

TEST_F(TableMapTest, GrantGrowsWithinTheQuotaAndRefusesBeyondIt) {
  set_quota(1000);
  auto first = grant("", kFirst, 0, 100);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(*first, 100u + 900u / 4);
  EXPECT_EQ(tablets()[0].grant(), *first);
  EXPECT_EQ(vol().tablets_granted(), *first);
  EXPECT_EQ(grant("", kFirst, 200, 125).value(), *first);  // covered already

  auto refused = grant("", kFirst, 300, 701);
  EXPECT_EQ(refused.status().code(), Errc::quota_exceeded);
  EXPECT_EQ(refused.status().message(),
            "table inode 2 tablet .. on shard 100: volume quota exceeded (/ uses 325 of 1000 "
            "bytes, this needs 701 more)");
  EXPECT_EQ(vol().tablets_granted(), *first);
  EXPECT_EQ(grant("", kFirst, 300, 700).value(), 1000u);
  EXPECT_EQ(grant("", kFirst, 1, kUnlimited).status().code(), Errc::invalid_argument);
}

TEST_F(TableMapTest, GrantCountsFilesStreamsAndOtherTablets) {
  set_quota(1000);
  ASSERT_TRUE(charge_file(100).is_ok());
  ASSERT_TRUE(in_txn([](VolumeTxn& t) {  // partition shards' grants
                t.vol().set_streams_granted(300);
                return Status::ok();
              }).is_ok());
  ASSERT_EQ(grant("", kFirst, 0, 500).value(), 500u + 100u / 4);  // 600 were free
  ASSERT_TRUE(map("m", kSecond).is_ok());
  auto refused = grant("m", kSecond, 0, 100);
  EXPECT_EQ(refused.status().code(), Errc::quota_exceeded);
  EXPECT_EQ(refused.status().message(),
            "table inode 2 tablet m.. on shard 101: volume quota exceeded (/ uses 925 of 1000 "
            "bytes, this needs 100 more)");

  ASSERT_TRUE(usage("m", kSecond, 50, 1).is_ok());  // no grant yet: counts its bytes
  EXPECT_EQ(vol().tablets_granted(), 525u + 50u);
  auto second = grant("m", kSecond, 50, 20);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_EQ(*second, 70u + 5u / 4);
  EXPECT_EQ(vol().tablets_granted(), 525u + 71u);
  EXPECT_EQ(grant("m", kSecond, 40, 20).value(), 71u);  // within what it counts already

  ASSERT_TRUE(in_txn([](VolumeTxn& t) {  // partitions holding more than they were granted
                t.account(UsageKind::streams, 400);
                return Status::ok();
              }).is_ok());
  EXPECT_EQ(grant("m", kSecond, 71, 1).status().message(),
            "table inode 2 tablet m.. on shard 101: volume quota exceeded (/ uses 1096 of 1000 "
            "bytes, this needs 1 more)");
}

TEST_F(TableMapTest, UsageWithALowerGrantGivesTheRestBack) {
  set_quota(1000);
  ASSERT_EQ(grant("", kFirst, 0, 100).value(), 325u);
  ASSERT_TRUE(usage("", kFirst, 50, 1, 120).is_ok());
  EXPECT_EQ(tablets()[0].grant(), 120u);
  EXPECT_EQ(vol().tablets_granted(), 120u);
  ASSERT_TRUE(usage("", kFirst, 60, 1, 500).is_ok());  // a higher grant is not taken
  EXPECT_EQ(tablets()[0].grant(), 120u);
  ASSERT_TRUE(usage("", kFirst, 200, 2).is_ok());  // bytes beyond the grant count
  EXPECT_EQ(vol().tablets_granted(), 200u);
  EXPECT_EQ(vol().tablets_bytes(), 200u);
}

TEST_F(TableMapTest, VolumeWithoutQuotaGrantsWithoutLimit) {
  auto g = grant("", kFirst, 0, 1ull << 40);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(*g, kUnlimited);
  EXPECT_EQ(tablets()[0].grant(), 0u);  // nothing to count against
  EXPECT_EQ(vol().tablets_granted(), 0u);
}

TEST_F(TableMapTest, RemoveReleasesTheTabletsAndTheirUsage) {
  set_quota(1u << 20);
  ASSERT_TRUE(create("/u", ObjectKind::KIND_TABLE, 200).is_ok());  // inode 3, kept
  ASSERT_TRUE(map("m", kSecond).is_ok());
  ASSERT_TRUE(grant("", kFirst, 0, 1000).is_ok());
  ASSERT_TRUE(usage("m", kSecond, 400, 4).is_ok());
  ASSERT_TRUE(usage("", 200, 30, 1, 0, kNow, 3).is_ok());
  const uint64_t kept = vol().tablets_granted() - tablets()[0].grant() - 400;
  ASSERT_EQ(kept, 30u);

  auto released = remove("/t");
  ASSERT_TRUE(released.is_ok()) << released.status().to_string();
  EXPECT_EQ(*released, (Shards{kFirst, kSecond}));
  EXPECT_EQ(count_keys(tablet_map_prefix(kTable)), 0u);
  EXPECT_EQ(vol().tablets_granted(), kept);
  EXPECT_EQ(vol().tablets_bytes(), 30u);
  EXPECT_EQ(vol().tables_bytes(), 30u);
  EXPECT_EQ(vol().used_bytes(), 30u);
  EXPECT_EQ(tablets("/u").size(), 1u);
}

TEST_F(TableMapTest, RenameOverATableReleasesItsTablets) {
  ASSERT_TRUE(map("m", kSecond).is_ok());
  ASSERT_TRUE(usage("m", kSecond, 10, 1).is_ok());
  ASSERT_TRUE(create("/u", ObjectKind::KIND_TABLE, 200).is_ok());
  Command mv = command(owner_);
  mv.mutable_rename()->set_src("/u");
  mv.mutable_rename()->set_dst("/t");
  CommandResult result;
  ASSERT_TRUE(run(mv, &result).is_ok());
  EXPECT_EQ(Shards(result.shards().begin(), result.shards().end()), (Shards{kFirst, kSecond}));
  EXPECT_EQ(tablets()[0].shard(), 200u);
  EXPECT_EQ(vol().used_bytes(), 0u);
}

TEST_F(TableMapTest, RemoveOfATableWithoutTabletsPurgesItsRows) {
  ASSERT_TRUE(create("/legacy", ObjectKind::KIND_TABLE).is_ok());
  Command put = command(owner_);
  *put.mutable_row_batch() = row_test::row_batch("/legacy", "k", {row_test::put_op("{}")});
  ASSERT_TRUE(run(put).is_ok());
  ASSERT_EQ(vol().tables_bytes(), 3u);
  auto released = remove("/legacy");
  ASSERT_TRUE(released.is_ok()) << released.status().to_string();
  EXPECT_TRUE(released->empty());
  EXPECT_EQ(count_keys(row_prefix(3)), 0u);
  EXPECT_EQ(vol().tables_bytes(), 0u);
  EXPECT_EQ(vol().used_bytes(), 0u);
}

TEST_F(TableMapTest, FilesQuotaCountsTabletsByGrant) {
  set_quota(1000);
  ASSERT_EQ(grant("", kFirst, 0, 700).value(), 775u);
  ASSERT_EQ(vol().used_bytes(), 0u);  // granted, not yet written
  Status file = charge_file(226);
  EXPECT_EQ(file.code(), Errc::quota_exceeded);
  EXPECT_EQ(file.message(),
            "/f: volume quota exceeded (/ uses 775 of 1000 bytes, this needs 226 more)");
  ASSERT_TRUE(charge_file(225).is_ok());

  ASSERT_TRUE(usage("", kFirst, 500, 5, 500).is_ok());  // gave 275 back
  EXPECT_EQ(quota_used(vol()), 725u);
  EXPECT_TRUE(check_quota(vol(), 275, "/f").is_ok());
  EXPECT_EQ(check_quota(vol(), 276, "/f").code(), Errc::quota_exceeded);
}

}  // namespace
}  // namespace tessera::ns
