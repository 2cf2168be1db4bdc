#pragma once
// Files: bytes in fixed chunks of kChunkBytes under C ino(8) chunk(8); a
// missing chunk inside the file's size reads as zeros (sparse). A file's
// logical size counts toward the volume quota.

#include <functional>

#include "base/status.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

inline constexpr uint64_t kFileBytesMax = 1ull << 50;
inline constexpr size_t kWriteBytesMax = 4u << 20;  // per write command

Status apply_write(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
// Sets `file`'s size (shrinking drops chunks), updates and stores the inode.
Status truncate_file(VolumeTxn& txn, internal::Inode& file, uint64_t size, int64_t now_ms,
                     std::string_view subject);
Status purge_file(VolumeTxn& txn, const internal::Inode& file);

// Reads [offset, offset+length) (length 0 = to end), calling `sink` with
// consecutive pieces of at most kChunkBytes. Needs read permission.
Status read_file(const VolumeView& view, const internal::Principal& who, std::string_view path,
                 uint64_t offset, uint64_t length,
                 const std::function<bool(uint64_t offset, std::string_view data)>& sink);

}  // namespace tessera::ns
