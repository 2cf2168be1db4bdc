#pragma once
// Files: bytes in fixed chunks of kChunkBytes under C ino(8) chunk(8); a
// missing chunk inside the file's size reads as zeros (sparse). A file's
// logical size counts toward the volume quota.
//
// A volume with data shards (VolumeState.data_shards non-empty) keeps file
// bytes there instead (chunk_ops.h); its name shard keeps only the inode and
// does the name side of every file command. Bytes land before the size that
// shows them, so a crash never leaves zeros or stale bytes where a write
// that was not acknowledged would be: bytes past the size are invisible.
//  - A write carries data_elsewhere and the bytes' length, not the bytes
//    (writes carrying bytes are refused on such a volume), in three phases:
//    WRITE_PREPARE opens or creates the file, truncates, checks permission
//    and quota, and answers result.write_offset and the inode (its
//    data_epoch, the epoch the bytes go at): the offset asked for, or for
//    an append a reservation after the last one (or at the size), kept in
//    the inode with the node and process (op.node, op.incarnation) that
//    made it until a commit passes it (at most kReservationsMax). A write starting past the size leaves a hole that must read
//    zeros: unless tail_clean, the prepare instead starts a purge from the
//    size (as a shrink does) and the server prepares again after it. Any
//    prepare with bytes clears tail_clean.
//    The server then writes the bytes to the data shards at that epoch, and
//    WRITE_COMMIT [offset, offset + length) of inode `ino` at `epoch` sets
//    size, quota and times. A commit is refused with failed_precondition
//    (result.inode says why) when the epoch moved (a shrink or purge since:
//    the data shards may have dropped the bytes; write them again from the
//    prepare) or, for an append, when appends before it are not committed
//    yet (commit in order). A commit may cover several writes of one stream.
//    WRITE_RESET at `epoch` with offset = the size the caller saw drops the
//    reservations (a purge from the size at a new epoch) when neither
//    moved: an appender that went away leaves its reservation, and the next
//    appender, finding the size stuck below its offset, resets it.
//  - A shrink (truncate, O_TRUNC, set size) gives back the quota, bumps
//    data_epoch and sets purge_pending with purge_from = the lowest size
//    shrunk to since the last purge. Until the server purged every data
//    shard from purge_from at data_epoch (ChunkPurgeOp) and sent
//    FilePurgedOp, the file may not grow: a growing prepare or truncate is
//    refused with failed_precondition and nothing changes. A prepare whose
//    own truncate shrinks the file: with a length of 0 it just truncates;
//    with bytes, it is refused, and its result.inode (the stored inode, not
//    purge_pending) tells the server to propose the truncate alone first.
//    Extending a file by truncate needs tail_clean (else
//    failed_precondition: a prepare at the new size purges first).
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
// Append reservations one file holds at most (more: unavailable).
inline constexpr size_t kReservationsMax = 1024;
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
// bytes_written), result.inode: the file after; with data_elsewhere and
// WRITE_PREPARE, result.write_offset: where the bytes go.
Status apply_write(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
// Sets `file`'s size, updates and stores the inode. Shrinking drops the
// chunks past the size, or on a volume with data shards marks the purge
// (see above); growing while purge_pending is failed_precondition.
Status truncate_file(VolumeTxn& txn, internal::Inode& file, uint64_t size, int64_t now_ms,
                     std::string_view subject);
// The bytes of a file being destroyed: deleted here, or on a volume with
// data shards recorded as doomed; its size goes off the volume's usage.
Status purge_file(VolumeTxn& txn, const internal::Inode& file);

// FilePurgedOp (nodes only): clears purge_pending (and sets tail_clean)
// when the file still waits for the purge the op reports (same purge_from
// and data_epoch);
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
