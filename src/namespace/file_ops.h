#pragma once
// Files: bytes in fixed chunks of kChunkBytes under C ino(8) chunk(8); a
// missing chunk inside the file's size reads as zeros (sparse). A file's
// logical size counts toward the volume quota.
//
// A volume with data shards (VolumeState.data_shards non-empty) keeps file
// bytes there instead (chunk_ops.h); its name shard keeps only the inode and
// does the name side of every file command:
//  - A write carries data_elsewhere and the bytes' length, not the bytes:
//    the name shard opens or creates the file, truncates, checks permission
//    and quota, sets size and times, and answers result.write_offset; the
//    server then writes the bytes to the data shards with the inode's
//    data_epoch. Writes carrying bytes are refused on such a volume.
//  - A shrink (truncate, O_TRUNC, set size) gives back the quota, bumps
//    data_epoch and sets purge_pending with purge_from = the lowest size
//    shrunk to since the last purge. Until the server purged every data
//    shard from purge_from at data_epoch (ChunkPurgeOp) and sent
//    FilePurgedOp, the file may not grow: a growing write or truncate is
//    refused with failed_precondition and nothing changes. This holds for
//    a write whose own truncate shrinks the file: with a length of 0 it
//    just truncates; with bytes, it is refused, and its result.inode (the
//    stored inode, not purge_pending) tells the server to propose the
//    truncate alone first.
//  - A removed file (last link gone, or replaced by a rename) leaves a
//    doomed record Z ino (keys.h): the server purges every data shard of it
//    from 0 at kRemovedFileEpoch, then sends ClearDoomedOp.
// Volumes without data shards never see these fields.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "base/status.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

inline constexpr uint64_t kFileBytesMax = 1ull << 50;
inline constexpr size_t kWriteBytesMax = 4u << 20;  // per write command
// Data shards of one volume, at most.
inline constexpr size_t kDataShardsMax = 1024;
// Inode numbers in one ClearDoomedOp, at most.
inline constexpr size_t kClearDoomedMax = 10000;
// The epoch of the purges of a removed file: above every write's, so a
// write arriving after its purge is dropped.
inline constexpr uint64_t kRemovedFileEpoch = std::numeric_limits<uint64_t>::max();

// Whether the volume keeps its file bytes in data shards.
inline bool has_data_shards(const internal::VolumeState& vol) {
  return vol.data_shards_size() > 0;
}
// Sets vol.data_shards from an InitVolumeOp: non-zero, distinct shard ids,
// at most kDataShardsMax (else invalid_argument naming the mount path).
Status init_data_shards(internal::VolumeState& vol, const internal::InitVolumeOp& op);

// WriteOp: see above for data_elsewhere. result.write (size,
// bytes_written), result.inode: the file after; with data_elsewhere,
// result.write_offset: where the bytes go (the size before, for append).
Status apply_write(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
// Sets `file`'s size, updates and stores the inode. Shrinking drops the
// chunks past the size, or on a volume with data shards marks the purge
// (see above); growing while purge_pending is failed_precondition.
Status truncate_file(VolumeTxn& txn, internal::Inode& file, uint64_t size, int64_t now_ms,
                     std::string_view subject);
// The bytes of a file being destroyed: deleted here, or on a volume with
// data shards recorded as doomed; its size goes off the volume's usage.
Status purge_file(VolumeTxn& txn, const internal::Inode& file);

// FilePurgedOp (nodes only): clears purge_pending when the file still
// waits for the purge the op reports (same purge_from and data_epoch);
// otherwise — a later shrink superseded it, the file is gone — ok and
// nothing changes. Version and times stay: the file's data did not change.
// result.inode: the file after, when it exists.
Status apply_file_purged(VolumeTxn& txn, const internal::Command& cmd,
                         internal::CommandResult& result);
// ClearDoomedOp (nodes only): forgets the doomed records of op.inos (at
// most kClearDoomedMax), whose data every data shard purged.
Status apply_clear_doomed(VolumeTxn& txn, const internal::Command& cmd,
                          internal::CommandResult& result);
// The removed files whose data shards may still hold bytes: at most `max`
// inode numbers, ascending.
Result<std::vector<uint64_t>> doomed_files(const VolumeView& view, size_t max);

// Reads [offset, offset+length) (length 0 = to end), calling `sink` with
// consecutive pieces of at most kChunkBytes. Needs read permission. On a
// volume with data shards: invalid_argument (the bytes are there).
Status read_file(const VolumeView& view, const internal::Principal& who, std::string_view path,
                 uint64_t offset, uint64_t length,
                 const std::function<bool(uint64_t offset, std::string_view data)>& sink);

}  // namespace tessera::ns
