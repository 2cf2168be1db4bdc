// Files of a volume with data shards, name shard side (file_ops.h): writes
// with data_elsewhere (prepare, commit, reset), shrinks and holes that wait
// for a purge, FilePurgedOp, removed files recorded as doomed and
// ClearDoomedOp. Commands run through
// VolumeMachine, as the shard host runs them.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "namespace/ns_ops.h"
#include "namespace/shard_test_util.h"
#include "namespace/volume_machine.h"
#include "storage/test_engine.h"

namespace tessera::ns {
namespace {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::Principal;
using shard_test::user;
using Inos = std::vector<uint64_t>;

constexpr ShardId kShard{1};   // the name shard of a volume with data shards
constexpr ShardId kLegacy{2};  // the name shard of a volume without
constexpr uint64_t kFile = 2;  // the first inode after the root: "/f"
constexpr int64_t kNow = 1'700'000'000'000;
constexpr uint64_t kQuota = 10u << 20;

struct WriteArgs {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool append = false;
  bool truncate = false;
};

Principal node() {
  Principal p;
  p.set_admin(true);
  return p;
}

// A volume at "/" (root mode 0777, quota 10 MiB) with data shards 100..102
// on kShard, and one without on kLegacy.
class FileDataTest : public ::testing::Test {
 protected:
  const Principal owner_ = user(1000, 100);

  void SetUp() override {
    ASSERT_TRUE(run(init_volume({100, 101, 102})).is_ok());
    ASSERT_TRUE(run(init_volume({}), nullptr, kLegacy).is_ok());
  }

  static Command init_volume(const std::vector<uint64_t>& data_shards) {
    Command init = shard_test::command(node(), kNow);
    init.mutable_init_volume()->set_volume_id(1);
    init.mutable_init_volume()->set_mount_path("/");
    init.mutable_init_volume()->set_mode(0777);
    init.mutable_init_volume()->set_quota_bytes(kQuota);
    for (uint64_t s : data_shards) init.mutable_init_volume()->add_data_shards(s);
    return init;
  }
  // Applies `cmd` with VolumeMachine; its writes are undone when it fails.
  Status run(const Command& cmd, CommandResult* out = nullptr, ShardId shard = kShard) {
    return shard_test::run_machine(*engine_, shard, machine_, cmd, out);
  }

  // The WRITE_PREPARE of a write of /f (created when missing) whose bytes
  // go to data shards.
  Status prepare(WriteArgs args, CommandResult* out = nullptr, ShardId shard = kShard) {
    Command c = shard_test::command(owner_, kNow);
    auto* w = c.mutable_write();
    w->set_path("/f");
    w->set_create(true);
    w->set_data_elsewhere(true);
    w->set_offset(args.offset);
    w->set_length(args.length);
    w->set_append(args.append);
    w->set_truncate(args.truncate);
    w->set_node(7);
    w->set_incarnation(99);
    return run(c, out, shard);
  }
  Status commit(uint64_t offset, uint64_t length, uint64_t epoch, bool append = false,
                CommandResult* out = nullptr, uint64_t ino = kFile) {
    Command c = shard_test::command(owner_, kNow);
    auto* w = c.mutable_write();
    w->set_path("/f");
    w->set_data_elsewhere(true);
    w->set_phase(internal::WRITE_COMMIT);
    w->set_ino(ino);
    w->set_epoch(epoch);
    w->set_offset(offset);
    w->set_length(length);
    w->set_append(append);
    return run(c, out);
  }
  Status reset(uint64_t size, uint64_t epoch) {
    Command c = shard_test::command(owner_, kNow);
    auto* w = c.mutable_write();
    w->set_path("/f");
    w->set_data_elsewhere(true);
    w->set_phase(internal::WRITE_RESET);
    w->set_ino(kFile);
    w->set_epoch(epoch);
    w->set_offset(size);
    return run(c);
  }
  // A whole write as the server does it (without the bytes): prepare, then
  // commit where the prepare said.
  Status write(WriteArgs args, CommandResult* out = nullptr, ShardId shard = kShard) {
    CommandResult prepared;
    TESSERA_TRY(prepare(args, &prepared, shard));
    if (out != nullptr) *out = prepared;
    if (args.length == 0 || shard != kShard) return Status::ok();
    return commit(prepared.write_offset(), args.length, prepared.inode().data_epoch(), args.append, out,
                  prepared.inode().id());
  }
  Status truncate(uint64_t size, const std::string& path = "/f") {
    Command c = shard_test::command(owner_, kNow);
    c.mutable_set_attr()->set_path(path);
    c.mutable_set_attr()->set_set_size(true);
    c.mutable_set_attr()->set_size(size);
    return run(c);
  }
  Status purged(uint64_t from, uint64_t epoch, const Principal& who = node()) {
    Command c = shard_test::command(who, kNow);
    c.mutable_file_purged()->set_ino(kFile);
    c.mutable_file_purged()->set_from(from);
    c.mutable_file_purged()->set_epoch(epoch);
    return run(c);
  }
  Status clear_doomed(const Inos& inos, const Principal& who = node()) {
    Command c = shard_test::command(who, kNow);
    for (uint64_t ino : inos) c.mutable_clear_doomed()->add_inos(ino);
    return run(c);
  }
  Status remove(const std::string& path) {
    Command c = shard_test::command(owner_, kNow);
    c.mutable_remove()->set_path(path);
    return run(c);
  }

  template <typename Fn>
  auto read(Fn fn, ShardId shard = kShard) {
    return shard_test::read_on(*engine_, shard, [&](const storage::StateReader& r) {
      return fn(VolumeView(r));
    });
  }
  Inode inode(const std::string& path = "/f") {
    return read([&](const VolumeView& v) { return stat_path(v, node(), path); }).value();
  }
  uint64_t files_bytes(ShardId shard = kShard) {
    return read([](const VolumeView& v) { return v.volume(); }, shard)->files_bytes();
  }
  Inos doomed(size_t max = 100) {
    return read([&](const VolumeView& v) { return doomed_files(v, max); }).value();
  }

  VolumeMachine machine_;
  storage::TestEngine engine_{"filedata"};
};

TEST_F(FileDataTest, InitVolumeRecordsDataShards) {
  auto vol = read([](const VolumeView& v) { return v.volume(); });
  ASSERT_TRUE(vol.is_ok());
  EXPECT_EQ(Inos(vol->data_shards().begin(), vol->data_shards().end()), (Inos{100, 101, 102}));
  EXPECT_EQ(run(init_volume({7, 0}), nullptr, ShardId{3}).code(), Errc::invalid_argument);
  Status twice = run(init_volume({7, 8, 7}), nullptr, ShardId{3});
  EXPECT_EQ(twice.code(), Errc::invalid_argument);
  EXPECT_EQ(twice.message(), "/: data shard 7 named twice");
}

TEST_F(FileDataTest, PrepareShowsNothingUntilTheCommit) {
  CommandResult result;
  ASSERT_TRUE(prepare({.offset = 10, .length = 100}, &result).is_ok());
  EXPECT_EQ(result.write_offset(), 10u);
  EXPECT_EQ(result.inode().size(), 0u);
  EXPECT_FALSE(result.inode().tail_clean());  // bytes may land past the size now
  EXPECT_EQ(inode().size(), 0u);
  EXPECT_EQ(files_bytes(), 0u);
  ASSERT_TRUE(commit(10, 100, 0, false, &result).is_ok());
  EXPECT_EQ(result.write().bytes_written(), 100u);
  EXPECT_EQ(result.write().size(), 110u);
  EXPECT_EQ(result.inode().id(), kFile);
  EXPECT_EQ(result.inode().size(), 110u);
  EXPECT_EQ(result.inode().version(), inode().version());
  EXPECT_EQ(inode().mtime_ms(), kNow);
  EXPECT_EQ(files_bytes(), 110u);
  EXPECT_EQ(shard_test::count_keys(*engine_, kShard, "C"), 0u);
  // An overwrite inside the file changes neither size nor usage.
  ASSERT_TRUE(write({.offset = 0, .length = 50}, &result).is_ok());
  EXPECT_EQ(result.write().size(), 110u);
  EXPECT_EQ(files_bytes(), 110u);
}

TEST_F(FileDataTest, AppendsReserveTheirOffsetsAndCommitInOrder) {
  CommandResult result;
  ASSERT_TRUE(prepare({.length = 30, .append = true}, &result).is_ok());
  EXPECT_EQ(result.write_offset(), 0u);
  ASSERT_TRUE(prepare({.offset = 999, .length = 20, .append = true}, &result).is_ok());
  EXPECT_EQ(result.write_offset(), 30u);
  ASSERT_EQ(result.inode().reservations_size(), 2);
  EXPECT_EQ(result.inode().reservations(1).offset(), 30u);
  EXPECT_EQ(result.inode().reservations(1).end(), 50u);
  EXPECT_EQ(result.inode().reservations(1).node(), 7u);
  EXPECT_EQ(result.inode().reservations(1).incarnation(), 99u);
  EXPECT_EQ(inode().size(), 0u);
  // The second cannot show before the first: the size would cover bytes
  // that may never come.
  Status early = commit(30, 20, 0, true, &result);
  EXPECT_EQ(early.code(), Errc::failed_precondition);
  EXPECT_EQ(early.message(), "/f: appends before offset 30 are not committed yet (size 0)");
  EXPECT_EQ(result.inode().size(), 0u);
  ASSERT_TRUE(commit(0, 30, 0, true, &result).is_ok());
  EXPECT_EQ(result.inode().reservations_size(), 1);  // the first is done
  ASSERT_TRUE(commit(30, 20, 0, true, &result).is_ok());
  EXPECT_EQ(result.inode().size(), 50u);
  EXPECT_EQ(result.inode().reservations_size(), 0);
  EXPECT_EQ(files_bytes(), 50u);
  // Committing again changes nothing (a commit whose answer was lost).
  ASSERT_TRUE(commit(30, 20, 0, true, &result).is_ok());
  EXPECT_EQ(result.inode().size(), 50u);
  EXPECT_EQ(files_bytes(), 50u);
}

TEST_F(FileDataTest, ResetDropsStalledReservations) {
  ASSERT_TRUE(prepare({.length = 30, .append = true}).is_ok());  // its appender goes away
  CommandResult second;
  ASSERT_TRUE(prepare({.length = 20, .append = true}, &second).is_ok());
  ASSERT_EQ(second.write_offset(), 30u);
  // A reset that saw another size or epoch does nothing.
  ASSERT_TRUE(reset(10, 0).is_ok());
  ASSERT_TRUE(reset(0, 5).is_ok());
  EXPECT_FALSE(inode().purge_pending());
  ASSERT_TRUE(reset(0, 0).is_ok());
  Inode f = inode();
  EXPECT_TRUE(f.purge_pending());  // bytes past the size go, at a new epoch
  EXPECT_EQ(f.purge_from(), 0u);
  EXPECT_EQ(f.data_epoch(), 1u);
  EXPECT_EQ(f.reservations_size(), 0);
  EXPECT_EQ(commit(30, 20, 0, true).code(), Errc::failed_precondition);  // written again
  ASSERT_TRUE(purged(0, 1).is_ok());
  EXPECT_TRUE(inode().tail_clean());
  CommandResult again;
  ASSERT_TRUE(prepare({.length = 20, .append = true}, &again).is_ok());
  EXPECT_EQ(again.write_offset(), 0u);
  EXPECT_EQ(again.inode().data_epoch(), 1u);
  ASSERT_TRUE(commit(0, 20, 1, true).is_ok());
  EXPECT_EQ(inode().size(), 20u);
}

TEST_F(FileDataTest, CommitRefusedWhenTheEpochMovedOrTheFileWasReplaced) {
  ASSERT_TRUE(write({.length = 1000}).is_ok());
  CommandResult prepared;
  ASSERT_TRUE(prepare({.offset = 900, .length = 200}, &prepared).is_ok());
  ASSERT_TRUE(truncate(500).is_ok());  // the data shards may drop the bytes
  CommandResult result;
  Status moved = commit(900, 200, prepared.inode().data_epoch(), false, &result);
  EXPECT_EQ(moved.code(), Errc::failed_precondition);
  EXPECT_EQ(moved.message(),
            "/f: the file's data epoch moved from 0 to 1 (a truncate or purge) after the bytes "
            "went out; write them again");
  EXPECT_EQ(inode().size(), 500u);
  ASSERT_TRUE(purged(500, 1).is_ok());
  ASSERT_TRUE(remove("/f").is_ok());
  ASSERT_TRUE(prepare({.length = 0}).is_ok());  // "/f" again, a new inode, epoch 0
  Status replaced = commit(0, 10, 0);
  EXPECT_EQ(replaced.code(), Errc::not_found);
  EXPECT_EQ(replaced.message(), "/f: removed or replaced while being written");
  EXPECT_EQ(inode().size(), 0u);
}

TEST_F(FileDataTest, AHoleOverUnfinishedWritesPurgesFirst) {
  ASSERT_TRUE(write({.length = 100}).is_ok());  // its bytes may lie past 100 too
  CommandResult result;
  ASSERT_TRUE(prepare({.offset = 300, .length = 10}, &result).is_ok());
  EXPECT_TRUE(result.inode().purge_pending());
  EXPECT_EQ(result.inode().purge_from(), 100u);
  EXPECT_EQ(result.inode().data_epoch(), 1u);
  EXPECT_EQ(inode().size(), 100u);
  ASSERT_TRUE(purged(100, 1).is_ok());
  ASSERT_TRUE(prepare({.offset = 300, .length = 10}, &result).is_ok());
  EXPECT_FALSE(result.inode().purge_pending());  // clean now: the hole may stay
  EXPECT_EQ(result.write_offset(), 300u);
  ASSERT_TRUE(commit(300, 10, 1).is_ok());
  EXPECT_EQ(inode().size(), 310u);
  // Extending by truncate needs a clean tail too; a prepare at the new
  // size purges.
  Status grow = truncate(400);
  EXPECT_EQ(grow.code(), Errc::failed_precondition);
  EXPECT_EQ(inode().size(), 310u);
  ASSERT_TRUE(prepare({.offset = 400}, &result).is_ok());
  EXPECT_TRUE(result.inode().purge_pending());
  ASSERT_TRUE(purged(310, 2).is_ok());
  ASSERT_TRUE(truncate(400).is_ok());
  EXPECT_EQ(inode().size(), 400u);
  EXPECT_TRUE(inode().tail_clean());
  EXPECT_EQ(files_bytes(), 400u);
}

TEST_F(FileDataTest, ANewFileMayStartWithAHole) {
  CommandResult result;
  ASSERT_TRUE(prepare({.offset = 1000, .length = 10}, &result).is_ok());
  EXPECT_FALSE(result.inode().purge_pending());
  ASSERT_TRUE(commit(1000, 10, 0).is_ok());
  EXPECT_EQ(inode().size(), 1010u);
}

TEST_F(FileDataTest, WriteElsewhereChecksQuotaAndArguments) {
  ASSERT_TRUE(write({.offset = kQuota - 4, .length = 4}).is_ok());
  Status over = prepare({.offset = kQuota - 1, .length = 2});  // refused before any byte goes
  EXPECT_EQ(over.code(), Errc::quota_exceeded);
  EXPECT_EQ(commit(kQuota - 1, 2, 0).code(), Errc::quota_exceeded);
  EXPECT_EQ(inode().size(), kQuota);
  Status big = write({.length = kWriteBytesMax + 1});
  EXPECT_EQ(big.code(), Errc::too_large);
  // One commit may cover several writes of a stream, not past the maximum size.
  EXPECT_EQ(commit(kFileBytesMax, 1, 0).code(), Errc::too_large);
  Command phase = shard_test::command(owner_, kNow);
  phase.mutable_write()->set_path("/f");
  phase.mutable_write()->set_data_elsewhere(true);
  phase.mutable_write()->set_phase(static_cast<internal::WritePhase>(7));
  Status unknown = run(phase);
  EXPECT_EQ(unknown.code(), Errc::invalid_argument);
  EXPECT_EQ(unknown.message(), "/f: unknown write phase 7");
  Command with_data = shard_test::command(owner_, kNow);
  with_data.mutable_write()->set_path("/f");
  with_data.mutable_write()->set_data_elsewhere(true);
  with_data.mutable_write()->set_data("x");
  EXPECT_EQ(run(with_data).code(), Errc::invalid_argument);
  with_data.mutable_write()->set_data_elsewhere(false);  // bytes must go to the data shards
  Status inline_bytes = run(with_data);
  EXPECT_EQ(inline_bytes.code(), Errc::invalid_argument);
  EXPECT_EQ(inline_bytes.message(),
            "/f: the volume keeps file bytes in data shards; write them there");
}

TEST_F(FileDataTest, LegacyVolumeRefusesDataElsewhere) {
  Status st = write({.length = 5}, nullptr, kLegacy);
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_EQ(st.message(),
            "/f: the volume keeps file bytes in its name shard; the write must carry them");
  EXPECT_EQ(files_bytes(kLegacy), 0u);
}

TEST_F(FileDataTest, ShrinkMarksAPurgeAndGivesQuotaBack) {
  ASSERT_TRUE(write({.length = 1000}).is_ok());
  ASSERT_TRUE(truncate(600).is_ok());
  Inode f = inode();
  EXPECT_EQ(f.size(), 600u);
  EXPECT_TRUE(f.purge_pending());
  EXPECT_EQ(f.purge_from(), 600u);
  EXPECT_EQ(f.data_epoch(), 1u);
  EXPECT_EQ(files_bytes(), 600u);
  ASSERT_TRUE(truncate(400).is_ok());  // shrinks further: the purge starts lower
  ASSERT_TRUE(truncate(400).is_ok());  // no change: no new epoch
  f = inode();
  EXPECT_EQ(f.purge_from(), 400u);
  EXPECT_EQ(f.data_epoch(), 2u);
  EXPECT_EQ(files_bytes(), 400u);
  // Writes inside the file go on.
  CommandResult result;
  EXPECT_TRUE(write({.offset = 100, .length = 300}, &result).is_ok());
  EXPECT_EQ(result.inode().data_epoch(), 2u);
}

TEST_F(FileDataTest, GrowthWaitsForThePurge) {
  ASSERT_TRUE(write({.length = 1000}).is_ok());
  ASSERT_TRUE(truncate(500).is_ok());
  CommandResult result;
  Status grow = prepare({.offset = 450, .length = 100}, &result);
  EXPECT_EQ(grow.code(), Errc::failed_precondition);
  EXPECT_EQ(grow.message(),
            "/f: cannot grow the file while its bytes from 500 on are purged from the data "
            "shards (data epoch 1); retry after it");
  EXPECT_TRUE(result.inode().purge_pending());
  EXPECT_EQ(result.inode().size(), 500u);
  EXPECT_EQ(truncate(501).code(), Errc::failed_precondition);
  EXPECT_EQ(prepare({.length = 1, .append = true}).code(), Errc::failed_precondition);
  EXPECT_EQ(inode().size(), 500u);
  EXPECT_EQ(files_bytes(), 500u);
  ASSERT_TRUE(purged(500, 1).is_ok());
  EXPECT_FALSE(inode().purge_pending());
  EXPECT_TRUE(inode().tail_clean());
  ASSERT_TRUE(truncate(600).is_ok());  // a clean tail: the hole needs no purge
  ASSERT_TRUE(write({.offset = 450, .length = 100}).is_ok());
  EXPECT_EQ(inode().size(), 600u);
  EXPECT_EQ(files_bytes(), 600u);
  EXPECT_FALSE(inode().purge_pending());
}

TEST_F(FileDataTest, TruncatingWriteShrinksAndRefusesBytesUntilThePurge) {
  ASSERT_TRUE(write({.length = 1000}).is_ok());
  const uint64_t version = inode().version();
  CommandResult result;
  Status refused = prepare({.length = 10, .truncate = true}, &result);
  EXPECT_EQ(refused.code(), Errc::failed_precondition);
  EXPECT_FALSE(result.inode().purge_pending());  // the stored inode: truncate alone first
  EXPECT_EQ(result.inode().size(), 1000u);
  EXPECT_EQ(inode().version(), version);
  EXPECT_EQ(files_bytes(), 1000u);
  ASSERT_TRUE(prepare({.length = 0, .truncate = true}, &result).is_ok());
  EXPECT_EQ(result.inode().size(), 0u);
  EXPECT_TRUE(result.inode().purge_pending());
  EXPECT_EQ(result.inode().purge_from(), 0u);
  EXPECT_EQ(files_bytes(), 0u);
}

TEST_F(FileDataTest, FilePurgedClearsOnlyTheMatchingPurge) {
  ASSERT_TRUE(write({.length = 1000}).is_ok());
  ASSERT_TRUE(truncate(700).is_ok());  // epoch 1, from 700
  ASSERT_TRUE(truncate(300).is_ok());  // epoch 2, from 300
  const uint64_t version = inode().version();
  ASSERT_TRUE(purged(700, 1).is_ok());  // superseded: nothing changes
  EXPECT_TRUE(inode().purge_pending());
  ASSERT_TRUE(purged(300, 1).is_ok());
  ASSERT_TRUE(purged(700, 2).is_ok());
  EXPECT_TRUE(inode().purge_pending());
  EXPECT_EQ(purged(300, 2, owner_).code(), Errc::permission_denied);
  EXPECT_TRUE(inode().purge_pending());
  ASSERT_TRUE(purged(300, 2).is_ok());
  EXPECT_FALSE(inode().purge_pending());
  EXPECT_EQ(inode().purge_from(), 0u);
  EXPECT_EQ(inode().data_epoch(), 2u);
  EXPECT_EQ(inode().version(), version);
  ASSERT_TRUE(purged(300, 2).is_ok());  // again: ok
  ASSERT_TRUE(remove("/f").is_ok());
  EXPECT_TRUE(purged(300, 2).is_ok());  // the file is gone: ok
}

TEST_F(FileDataTest, RemovedFilesAreDoomedUntilCleared) {
  ASSERT_TRUE(write({.length = 1000}).is_ok());
  ASSERT_TRUE(truncate(10).is_ok());
  ASSERT_TRUE(remove("/f").is_ok());
  EXPECT_EQ(files_bytes(), 0u);
  EXPECT_EQ(doomed(), (Inos{kFile}));
  auto epoch = shard_test::read_on(*engine_, kShard, [](const storage::StateReader& r) {
    return r.get(doomed_key(kFile));
  });
  ASSERT_TRUE(epoch.is_ok() && epoch->has_value());
  EXPECT_EQ(get_be64(**epoch), 2u);  // data epoch 1, + 1
  // A file replaced by a rename is doomed too; a link keeps the file alive.
  ASSERT_TRUE(write({.length = 5}).is_ok());  // "/f" again: inode 3
  Command link = shard_test::command(owner_, kNow);
  link.mutable_link()->set_src("/f");
  link.mutable_link()->set_dst("/l");
  ASSERT_TRUE(run(link).is_ok());
  ASSERT_TRUE(remove("/l").is_ok());
  EXPECT_EQ(doomed(), (Inos{kFile}));
  Command create = shard_test::command(owner_, kNow);
  create.mutable_create()->set_path("/g");
  create.mutable_create()->set_kind(tessera::v1::ObjectKind::KIND_FILE);
  ASSERT_TRUE(run(create).is_ok());  // inode 4
  Command rename = shard_test::command(owner_, kNow);
  rename.mutable_rename()->set_src("/g");
  rename.mutable_rename()->set_dst("/f");
  ASSERT_TRUE(run(rename).is_ok());
  EXPECT_EQ(doomed(), (Inos{kFile, kFile + 1}));
  EXPECT_EQ(doomed(1), (Inos{kFile}));
  EXPECT_EQ(doomed(0), Inos{});

  EXPECT_EQ(clear_doomed({kFile}, owner_).code(), Errc::permission_denied);
  EXPECT_EQ(doomed().size(), 2u);
  ASSERT_TRUE(clear_doomed({kFile, 99}).is_ok());
  EXPECT_EQ(doomed(), (Inos{kFile + 1}));
  EXPECT_EQ(clear_doomed(Inos(kClearDoomedMax + 1, kFile + 1)).code(), Errc::too_large);
}

TEST_F(FileDataTest, ReadFileRefusesAVolumeWithDataShards) {
  ASSERT_TRUE(write({.length = 5}).is_ok());
  Status st = read([](const VolumeView& v) {
    return read_file(v, node(), "/f", 0, 0, [](uint64_t, std::string_view) { return true; });
  });
  EXPECT_EQ(st.code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace tessera::ns
