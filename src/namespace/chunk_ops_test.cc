// File data shards: placement (data_shard_index), init, chunk writes with
// their epochs, purges and reads (chunk_ops.h), and their dispatch by
// VolumeMachine.

#include "namespace/chunk_ops.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "namespace/shard_test_util.h"
#include "namespace/volume_machine.h"
#include "storage/test_engine.h"

namespace tessera::ns {
namespace {

using internal::Command;
using internal::CommandResult;
using internal::DataShardInfo;

constexpr ShardId kShard{5};
constexpr int64_t kNow = 1'700'000'000'000;
constexpr uint64_t kIno = 2;

DataShardInfo shard_info(uint64_t volume = 3, uint32_t index = 1) {
  DataShardInfo info;
  info.set_volume_id(volume);
  info.set_index(index);
  return info;
}

TEST(DataShardIndex, SpreadsStripesAndKeepsEachStripeOnOneShard) {
  std::array<int, 4> per_shard{};
  for (uint64_t stripe = 0; stripe < 1000; ++stripe) {
    const uint32_t shard = data_shard_index(kIno, stripe * kStripeChunks, 4);
    ASSERT_LT(shard, 4u);
    for (uint64_t c = 1; c < kStripeChunks; ++c) {
      EXPECT_EQ(data_shard_index(kIno, stripe * kStripeChunks + c, 4), shard) << stripe;
    }
    ++per_shard[shard];
  }
  for (int n : per_shard) {
    EXPECT_GE(n, 150);
    EXPECT_LE(n, 350);
  }
  // The first stripes of many files spread as well.
  std::array<int, 4> first_stripes{};
  for (uint64_t ino = 1; ino <= 1000; ++ino) ++first_stripes[data_shard_index(ino, 0, 4)];
  for (int n : first_stripes) {
    EXPECT_GE(n, 150);
    EXPECT_LE(n, 350);
  }
}

// The placement contract: chunks already stored live where these say, so
// they may never change.
TEST(DataShardIndex, IsStable) {
  EXPECT_EQ(data_shard_index(2, 0, 4), 3u);
  EXPECT_EQ(data_shard_index(2, 3, 4), 3u);
  EXPECT_EQ(data_shard_index(2, 4, 4), 2u);
  EXPECT_EQ(data_shard_index(2, 8, 4), 3u);
  EXPECT_EQ(data_shard_index(2, 12, 4), 1u);
  EXPECT_EQ(data_shard_index(3, 0, 4), 0u);
  EXPECT_EQ(data_shard_index(2, 0, 3), 1u);
  EXPECT_EQ(data_shard_index(1000, 123, 7), 5u);
  EXPECT_EQ(data_shard_index(1ull << 40, 1ull << 30, 1024), 563u);
  EXPECT_EQ(data_shard_index(5, 0, 1), 0u);
}

// A file data shard of volume 3 (index 1); commands run the way the shard
// host runs them (writes undone on error).
class ChunkOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(init(shard_info()).is_ok()); }

  template <typename Fn>
  Status apply(Fn fn, const Command& cmd, CommandResult* out = nullptr, ShardId shard = kShard) {
    return shard_test::apply_handler(*engine_, shard, fn, cmd, out);
  }
  static Command command() {
    Command c;
    c.set_now_ms(kNow);
    return c;
  }
  static Command write_command(uint64_t ino, uint64_t epoch, uint64_t offset, std::string data) {
    Command c = command();
    c.mutable_chunk_write()->set_ino(ino);
    c.mutable_chunk_write()->set_epoch(epoch);
    c.mutable_chunk_write()->set_offset(offset);
    c.mutable_chunk_write()->set_data(std::move(data));
    return c;
  }

  Status init(const DataShardInfo& info, ShardId shard = kShard) {
    Command c = command();
    *c.mutable_init_data_shard()->mutable_info() = info;
    return apply(apply_init_data_shard, c, nullptr, shard);
  }
  Status write(uint64_t offset, const std::string& data, uint64_t epoch = 0,
               uint64_t ino = kIno, ShardId shard = kShard) {
    return apply(apply_chunk_write, write_command(ino, epoch, offset, data), nullptr, shard);
  }
  // result.more of a ChunkPurgeOp.
  Result<bool> purge(uint64_t from, uint64_t epoch = 1, uint64_t ino = kIno,
                     ShardId shard = kShard) {
    Command c = command();
    c.mutable_chunk_purge()->set_ino(ino);
    c.mutable_chunk_purge()->set_epoch(epoch);
    c.mutable_chunk_purge()->set_from(from);
    CommandResult result;
    TESSERA_TRY(apply(apply_chunk_purge, c, &result, shard));
    return result.more();
  }
  Result<std::string> read(uint64_t offset, uint64_t length, uint64_t ino = kIno,
                           ShardId shard = kShard) {
    return shard_test::read_on(*engine_, shard, [&](const storage::StateReader& r) {
      return read_chunks(r, ino, offset, length);
    });
  }
  size_t chunks(uint64_t ino = kIno) {
    return shard_test::count_keys(*engine_, kShard, data_chunk_prefix(ino));
  }
  // The stored bytes of chunk `chunk` ("" when there is none).
  std::string stored(uint64_t chunk, uint64_t ino = kIno) {
    auto raw = shard_test::read_on(*engine_, kShard, [&](const storage::StateReader& r) {
      return r.get(data_chunk_key(ino, chunk));
    });
    EXPECT_TRUE(raw.is_ok());
    return raw.is_ok() && *raw ? **raw : std::string();
  }

  storage::TestEngine engine_{"chunks"};
};

TEST_F(ChunkOpsTest, InitStoresInfoAndIsIdempotent) {
  auto info = shard_test::read_on(*engine_, kShard, [](const storage::StateReader& r) {
    return data_shard_info(r);
  });
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(info->volume_id(), 3u);
  EXPECT_EQ(info->index(), 1u);
  EXPECT_EQ(info->created_ms(), kNow);

  Status again = init(shard_info());
  EXPECT_EQ(again.code(), Errc::already_exists);
  EXPECT_EQ(again.message(), "volume 3 file data shard 1: already exists");
  Status other = init(shard_info(3, 2));
  EXPECT_EQ(other.code(), Errc::invalid_argument);
  EXPECT_EQ(other.message(),
            "file data shard holds volume 3 file data shard 1, cannot initialise it as volume 3 "
            "file data shard 2");
  EXPECT_EQ(init(shard_info(4, 1)).code(), Errc::invalid_argument);
}

TEST_F(ChunkOpsTest, UninitialisedShardRefusesEverything) {
  const ShardId empty{7};
  EXPECT_EQ(write(0, "x", 0, kIno, empty).code(), Errc::not_found);
  EXPECT_EQ(purge(0, 1, kIno, empty).status().code(), Errc::not_found);
  Status st = read(0, 1, kIno, empty).status();
  EXPECT_EQ(st.code(), Errc::not_found);
  EXPECT_EQ(st.message(), "file data shard not initialised");
}

TEST_F(ChunkOpsTest, WritesStayInsideOneChunk) {
  EXPECT_TRUE(write(kChunkBytes - 3, "abc").is_ok());
  Status across = write(kChunkBytes - 3, "abcd");
  EXPECT_EQ(across.code(), Errc::invalid_argument);
  EXPECT_EQ(across.message(), "volume 3 file data shard 1: inode 2: chunk write of 4 bytes at "
                              "offset 1048573 crosses a chunk boundary");
  EXPECT_EQ(write(0, std::string(kChunkBytes + 1, 'a')).code(), Errc::invalid_argument);
  Status empty = write(5, "");
  EXPECT_EQ(empty.code(), Errc::invalid_argument);
  EXPECT_EQ(empty.message(),
            "volume 3 file data shard 1: inode 2: chunk write without data at offset 5");
  EXPECT_EQ(write(kFileBytesMax, "x").code(), Errc::invalid_argument);
  EXPECT_EQ(write(kFileBytesMax + kChunkBytes, "x").code(), Errc::invalid_argument);
  EXPECT_TRUE(write(kFileBytesMax - 1, "x").is_ok());
  EXPECT_EQ(chunks(), 2u);
}

TEST_F(ChunkOpsTest, WritesZeroFillGapsAndOverwrite) {
  ASSERT_TRUE(write(10, "abc").is_ok());
  EXPECT_EQ(stored(0), std::string(10, '\0') + "abc");
  ASSERT_TRUE(write(11, "XYZW").is_ok());
  EXPECT_EQ(stored(0), std::string(10, '\0') + "aXYZW");
  ASSERT_TRUE(write(2, "q").is_ok());  // inside what is stored: the length stays
  EXPECT_EQ(stored(0).size(), 15u);
  EXPECT_EQ(stored(0)[2], 'q');
  const std::string whole(kChunkBytes, 'w');
  ASSERT_TRUE(write(kChunkBytes, whole).is_ok());
  ASSERT_TRUE(write(kChunkBytes + 1, "v").is_ok());
  EXPECT_EQ(stored(1), "wv" + whole.substr(2));
  EXPECT_EQ(chunks(), 2u);
}

TEST_F(ChunkOpsTest, ReadsZeroFillHolesAndReturnExactlyTheLength) {
  ASSERT_TRUE(write(4, "abcd").is_ok());                    // chunk 0: 8 bytes stored
  ASSERT_TRUE(write(2 * kChunkBytes + 1, "xy").is_ok());    // chunk 2: 3 bytes; chunk 1 absent
  ASSERT_TRUE(write(0, "other", 0, kIno + 1).is_ok());      // the next inode's chunk 0
  auto all = read(0, 3 * kChunkBytes);
  ASSERT_TRUE(all.is_ok()) << all.status().to_string();
  std::string expect(3 * kChunkBytes, '\0');
  expect.replace(4, 4, "abcd");
  expect.replace(2 * kChunkBytes + 1, 2, "xy");
  EXPECT_EQ(*all, expect);
  EXPECT_EQ(*read(5, 2), "bc");
  EXPECT_EQ(*read(6, 10), std::string("cd") + std::string(8, '\0'));
  EXPECT_EQ(*read(kChunkBytes - 2, kChunkBytes + 4),
            expect.substr(kChunkBytes - 2, kChunkBytes + 4));
  EXPECT_EQ(*read(5 * kChunkBytes, 7), std::string(7, '\0'));  // past every chunk
  EXPECT_EQ(*read(3, 0), "");
  EXPECT_EQ(*read(0, 5, kIno + 1), "other");
  Status big = read(0, kChunkReadBytesMax + 1).status();
  EXPECT_EQ(big.code(), Errc::too_large);
  EXPECT_EQ(read(kFileBytesMax, 1).status().code(), Errc::invalid_argument);
}

TEST_F(ChunkOpsTest, WritesOlderThanThePurgeEpochAreDropped) {
  ASSERT_TRUE(purge(0, 5).is_ok());
  EXPECT_TRUE(write(0, "old", 4).is_ok());  // raced the purge: ok, nothing written
  EXPECT_EQ(chunks(), 0u);
  EXPECT_TRUE(write(0, "new", 5).is_ok());
  EXPECT_EQ(stored(0), "new");
  EXPECT_TRUE(write(kChunkBytes, "newer", 6).is_ok());
  EXPECT_EQ(chunks(), 2u);
  ASSERT_TRUE(purge(kChunkBytes * 4, 3).is_ok());  // an older purge never lowers the epoch
  EXPECT_TRUE(write(0, "OLD", 4).is_ok());
  EXPECT_EQ(stored(0), "new");
  // Another file's epoch is its own.
  EXPECT_TRUE(write(0, "x", 0, kIno + 1).is_ok());
  EXPECT_EQ(chunks(kIno + 1), 1u);
}

TEST_F(ChunkOpsTest, AFinishedPurgeSentAgainKeepsWritesOfItsEpoch) {
  ASSERT_TRUE(write(0, std::string(100, 'a')).is_ok());
  ASSERT_FALSE(*purge(10, 1));
  // The file grew again at epoch 1 after its purge finished everywhere; a
  // slow second purger's copy of that purge must not cut it.
  ASSERT_TRUE(write(10, "grown", 1).is_ok());
  ASSERT_FALSE(*purge(10, 1));
  EXPECT_EQ(*read(0, 15), std::string(10, 'a') + "grown");
  // Nor an older one.
  ASSERT_FALSE(*purge(0, 0));
  EXPECT_EQ(*read(0, 15), std::string(10, 'a') + "grown");
}

TEST_F(ChunkOpsTest, PurgeFromZeroRemovesEveryChunkOfTheFile) {
  for (uint64_t c : {0, 1, 7}) ASSERT_TRUE(write(c * kChunkBytes, "data").is_ok());
  ASSERT_TRUE(write(0, "keep", 0, kIno + 1).is_ok());
  auto more = purge(0);
  ASSERT_TRUE(more.is_ok()) << more.status().to_string();
  EXPECT_FALSE(*more);
  EXPECT_EQ(chunks(), 0u);
  EXPECT_EQ(chunks(kIno + 1), 1u);
  EXPECT_FALSE(*purge(0));  // again: nothing left, nothing changes
  EXPECT_EQ(chunks(kIno + 1), 1u);
}

TEST_F(ChunkOpsTest, PurgeFromTheMiddleCutsItsChunkAndDropsLaterOnes) {
  ASSERT_TRUE(write(0, std::string(100, 'a')).is_ok());
  ASSERT_TRUE(write(kChunkBytes, std::string(100, 'b')).is_ok());
  ASSERT_TRUE(write(3 * kChunkBytes, "c").is_ok());
  ASSERT_FALSE(*purge(kChunkBytes + 40));
  EXPECT_EQ(stored(0), std::string(100, 'a'));
  EXPECT_EQ(stored(1), std::string(40, 'b'));
  EXPECT_EQ(chunks(), 2u);
  ASSERT_FALSE(*purge(kChunkBytes + 40));  // idempotent
  EXPECT_EQ(stored(1), std::string(40, 'b'));
  ASSERT_FALSE(*purge(kChunkBytes, 2));  // on a chunk boundary: chunk 1 goes whole
  EXPECT_EQ(chunks(), 1u);
  ASSERT_FALSE(*purge(200, 3));  // past what chunk 0 stores: it stays whole
  EXPECT_EQ(stored(0), std::string(100, 'a'));
  ASSERT_FALSE(*purge(60, 4));
  EXPECT_EQ(stored(0), std::string(60, 'a'));
  EXPECT_EQ(*read(0, 100), std::string(60, 'a') + std::string(40, '\0'));
}

TEST_F(ChunkOpsTest, PurgeDeletesAtMostTheLimitAndAsksForMore) {
  const uint64_t n = kPurgeChunksMax + 2;
  Status st = shard_test::apply_on(*engine_, kShard, [&](storage::StateWriter& w) {
    for (uint64_t c = 0; c < n; ++c) {
      CommandResult result;
      TESSERA_TRY(apply_chunk_write(w, write_command(kIno, 0, c * kChunkBytes, "z"), result));
    }
    return Status::ok();
  });
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  ASSERT_EQ(chunks(), n);
  auto more = purge(0);
  ASSERT_TRUE(more.is_ok());
  EXPECT_TRUE(*more);
  EXPECT_EQ(chunks(), 2u);
  EXPECT_TRUE(write(kChunkBytes * (n + 5), "late", 0).is_ok());  // older than the purge: dropped
  more = purge(0);  // an unfinished purge goes on at its epoch
  EXPECT_FALSE(*more);
  EXPECT_EQ(chunks(), 0u);
}

TEST_F(ChunkOpsTest, VolumeMachineDispatchesDataShardCommands) {
  VolumeMachine machine;
  const ShardId other{8};
  Command init = command();
  *init.mutable_init_data_shard()->mutable_info() = shard_info(3, 2);
  EXPECT_EQ(shard_test::apply_machine(*engine_, other, machine, init).errc(), 0u);
  CommandResult again = shard_test::apply_machine(*engine_, other, machine, init);
  EXPECT_EQ(static_cast<Errc>(again.errc()), Errc::already_exists);
  EXPECT_EQ(shard_test::apply_machine(*engine_, other, machine, write_command(kIno, 1, 0, "hi"))
                .errc(),
            0u);
  EXPECT_EQ(*read(0, 2, kIno, other), "hi");
  Command purge_cmd = command();
  purge_cmd.mutable_chunk_purge()->set_ino(kIno);
  purge_cmd.mutable_chunk_purge()->set_epoch(2);
  CommandResult purged = shard_test::apply_machine(*engine_, other, machine, purge_cmd);
  EXPECT_EQ(purged.errc(), 0u);
  EXPECT_FALSE(purged.more());
  EXPECT_EQ(*read(0, 2, kIno, other), std::string(2, '\0'));
}

}  // namespace
}  // namespace tessera::ns
