#pragma once
// File data shards: raft shards holding the bytes of a volume's files, in
// chunks of kChunkBytes, so that one volume's file data spreads over several
// shards (and so over the nodes that lead them). Chunk c of inode i lives in
// data shard data_shard_index(i, c, n) of the volume's n data shards: whole
// stripes of kStripeChunks chunks go to one shard, stripes are spread by a
// hash, so a large sequential write or read uses every shard.
//
// Key layout (keys.h):
//   A                                   DataShardInfo
//   X ino(8) chunk(8)                   chunk bytes (may be shorter than a chunk)
//   E ino(8)                            purge epoch(8) of the file here [+ 1 byte:
//                                       that purge has chunks left]
//
// The name shard (file_ops.h) keeps the inode: size, permissions, and the
// file's data epoch. These commands are trusted: the server checked
// permissions and quota on the name shard first. Reads clamp to the size the
// caller read from the name shard; bytes a data shard lacks read as zeros.

#include <cstdint>
#include <string>

#include "base/status.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns {

inline constexpr uint64_t kStripeChunks = 4;
// Chunks one ChunkPurgeOp deletes at most; result.more asks for another.
inline constexpr uint64_t kPurgeChunksMax = 4096;
// Bytes one read_chunks returns at most.
inline constexpr uint64_t kChunkReadBytesMax = 16ull << 20;

// Which of `shards` (> 0) data shards holds chunk `chunk` of inode `ino`:
// a hash of (ino, chunk / kStripeChunks), stable across versions. The hash
// is splitmix64's finaliser of ino * 0x9e3779b97f4a7c15 + stripe (mod 2^64),
// reduced mod `shards`; stored data depends on it, so it never changes
// (chunk_ops_test.cc pins values).
uint32_t data_shard_index(uint64_t ino, uint64_t chunk, uint32_t shards);

// Stores cmd.init_data_shard().info() (created_ms = cmd.now_ms). Again
// with the same volume and index: already_exists (done); another:
// invalid_argument.
Status apply_init_data_shard(storage::StateWriter& state, const internal::Command& cmd,
                             internal::CommandResult& result);
// ChunkWriteOp: writes the bytes into their chunk (one chunk only, else
// invalid_argument), zero-filling a gap before them; ok and nothing written
// when op.epoch is below the file's purge epoch here (the write raced a
// truncate or a removal that comes after it). Idempotent.
Status apply_chunk_write(storage::StateWriter& state, const internal::Command& cmd,
                         internal::CommandResult& result);
// ChunkPurgeOp: raises the file's purge epoch here to op.epoch and deletes
// its bytes from op.from on: whole chunks past it, the chunk holding it cut
// at it; at most kPurgeChunksMax chunks, setting result.more when some are
// left (then the epoch is marked unfinished). A purge at an older epoch, or
// at the same epoch once it finished here, is ok and does nothing: bytes
// written at that epoch since — the file grew again after its purge — stay
// (one epoch has one purge: file_ops.h). Idempotent.
Status apply_chunk_purge(storage::StateWriter& state, const internal::Command& cmd,
                         internal::CommandResult& result);

// This shard's DataShardInfo; not_found when never initialised.
Result<internal::DataShardInfo> data_shard_info(const storage::StateReader& state);
// The bytes [offset, offset + length) of file `ino` held by this shard, in
// the chunks this shard holds; chunks (or their tails) it lacks are zeros,
// so the result is exactly `length` bytes. length <= 16 MiB.
Result<std::string> read_chunks(const storage::StateReader& state, uint64_t ino, uint64_t offset,
                                uint64_t length);

}  // namespace tessera::ns
