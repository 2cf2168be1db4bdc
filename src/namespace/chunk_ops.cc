#include "namespace/chunk_ops.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/coding.h"
#include "namespace/data_shard.h"
#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::DataShardInfo;

namespace {

// splitmix64's finaliser (Steele, Lea, Flood: "Fast splittable pseudorandom
// number generators", 2014): a bijection of 64-bit words that spreads every
// input bit over the output.
uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// "volume V file data shard I": a data shard's identity, for messages.
std::string identity(const DataShardInfo& info) {
  return "volume " + std::to_string(info.volume_id()) + " file data shard " +
         std::to_string(info.index());
}

// "volume V file data shard I: inode N", the subject of a file's bytes here.
std::string file_subject(const DataShardInfo& info, uint64_t ino) {
  return identity(info) + ": inode " + std::to_string(ino);
}

// The file's last purge here: its epoch (0 when never purged) and whether
// it finished. Stored as epoch(8) and, while unfinished, one more byte.
struct PurgeMark {
  uint64_t epoch = 0;
  bool done = true;
};
Result<PurgeMark> purge_mark(const storage::StateReader& state, const DataShardInfo& info,
                             uint64_t ino) {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(purge_epoch_key(ino)));
  if (!raw) return PurgeMark{};
  if (raw->size() != 8 && raw->size() != 9) return unparsable(file_subject(info, ino) + " purge epoch");
  return PurgeMark{get_be64(*raw), raw->size() == 8};
}

// The chunk number of a data chunk key (X ino(8) chunk(8)).
uint64_t chunk_of(std::string_view key) {
  TESSERA_ASSERT(key.size() == 17);
  return get_be64(key.substr(9));
}

// A ChunkWriteOp's bytes: non-empty, within the maximum file size, in one chunk.
Status check_chunk_write(const DataShardInfo& info, const internal::ChunkWriteOp& op) {
  const std::string subject = file_subject(info, op.ino());
  const std::string at = " at offset " + std::to_string(op.offset());
  const uint64_t n = op.data().size();
  if (n == 0) return Status(Errc::invalid_argument, subject + ": chunk write without data" + at);
  if (op.offset() > kFileBytesMax || n > kFileBytesMax - op.offset()) {
    return Status(Errc::invalid_argument,
                  subject + ": chunk write" + at + " ends past the maximum file size");
  }
  if (op.offset() % kChunkBytes + n > kChunkBytes) {
    return Status(Errc::invalid_argument, subject + ": chunk write of " + std::to_string(n) +
                                              " bytes" + at + " crosses a chunk boundary");
  }
  return Status::ok();
}

// The chunk bytes after placing `data` at `in_chunk` (a gap before them
// zero-filled).
Result<std::string> patched_chunk(const storage::StateReader& state, const std::string& key,
                                  size_t in_chunk, const std::string& data) {
  if (in_chunk == 0 && data.size() == kChunkBytes) return data;  // whole chunk: no read needed
  TESSERA_ASSIGN_OR_RETURN(auto stored, state.get(key));
  std::string bytes = stored ? std::move(*stored) : std::string();
  if (bytes.size() < in_chunk + data.size()) bytes.resize(in_chunk + data.size(), '\0');
  bytes.replace(in_chunk, data.size(), data);
  return bytes;
}

// Cuts the stored chunk `chunk` of `ino` at `keep` bytes (when longer).
Status cut_chunk(storage::StateWriter& state, uint64_t ino, uint64_t chunk, size_t keep) {
  const std::string key = data_chunk_key(ino, chunk);
  TESSERA_ASSIGN_OR_RETURN(auto bytes, state.get(key));
  if (!bytes || bytes->size() <= keep) return Status::ok();
  bytes->resize(keep);
  state.put(key, *bytes);
  return Status::ok();
}

// Deletes at most kPurgeChunksMax stored chunks of `ino` from chunk `first`
// on; true when some are left.
Result<bool> delete_chunks_from(storage::StateWriter& state, uint64_t ino, uint64_t first) {
  std::vector<std::string> doomed;
  bool more = false;
  TESSERA_TRY(state.scan(data_chunk_key(ino, first), prefix_successor(data_chunk_prefix(ino)),
                         [&](std::string_view k, std::string_view) {
                           more = doomed.size() >= kPurgeChunksMax;
                           if (!more) doomed.emplace_back(k);
                           return !more;
                         }));
  for (const auto& k : doomed) state.del(k);
  return more;
}

void put_purge_mark(storage::StateWriter& state, uint64_t ino, const PurgeMark& mark) {
  std::string value;
  put_be64(value, mark.epoch);
  if (!mark.done) value.push_back('\1');
  state.put(purge_epoch_key(ino), value);
}

// Copies the part of `bytes` (stored at file offset `at`) that falls in
// `out` (the file's bytes from `offset` on).
void copy_overlap(std::string& out, uint64_t offset, uint64_t at, std::string_view bytes) {
  const uint64_t from = std::max(at, offset);
  const uint64_t to = std::min(at + bytes.size(), offset + out.size());
  if (from >= to) return;
  out.replace(static_cast<size_t>(from - offset), static_cast<size_t>(to - from),
              bytes.substr(static_cast<size_t>(from - at), static_cast<size_t>(to - from)));
}

// read_chunks' range: at most kChunkReadBytesMax, within the maximum file size.
Status check_read_range(const DataShardInfo& info, uint64_t ino, uint64_t offset,
                        uint64_t length) {
  if (length > kChunkReadBytesMax) {
    return Status(Errc::too_large, file_subject(info, ino) + ": read of " +
                                       std::to_string(length) + " bytes, at most " +
                                       std::to_string(kChunkReadBytesMax));
  }
  if (offset > kFileBytesMax || length > kFileBytesMax - offset) {
    return Status(Errc::invalid_argument, file_subject(info, ino) + ": read at offset " +
                                              std::to_string(offset) +
                                              " ends past the maximum file size");
  }
  return Status::ok();
}

}  // namespace

uint32_t data_shard_index(uint64_t ino, uint64_t chunk, uint32_t shards) {
  TESSERA_ASSERT(shards > 0);
  const uint64_t stripe = chunk / kStripeChunks;
  return static_cast<uint32_t>(splitmix64(ino * 0x9e3779b97f4a7c15ull + stripe) % shards);
}

Result<DataShardInfo> data_shard_info(const storage::StateReader& state) {
  TESSERA_ASSIGN_OR_RETURN(auto info, load_record<DataShardInfo>(state, data_shard_info_key(),
                                                                 "file data shard record"));
  if (!info) return Status(Errc::not_found, "file data shard not initialised");
  return *std::move(info);
}

Status apply_init_data_shard(storage::StateWriter& state, const Command& cmd,
                             CommandResult&) {
  DataShardInfo want = cmd.init_data_shard().info();
  TESSERA_ASSIGN_OR_RETURN(auto have, load_record<DataShardInfo>(state, data_shard_info_key(),
                                                                 "file data shard record"));
  if (have) {
    const bool same = have->volume_id() == want.volume_id() && have->index() == want.index();
    return init_conflict("file data", same, identity(*have), identity(want));
  }
  want.set_created_ms(cmd.now_ms());
  state.put(data_shard_info_key(), want.SerializeAsString());
  return Status::ok();
}

Status apply_chunk_write(storage::StateWriter& state, const Command& cmd, CommandResult&) {
  const internal::ChunkWriteOp& op = cmd.chunk_write();
  TESSERA_ASSIGN_OR_RETURN(auto info, data_shard_info(state));
  TESSERA_TRY(check_chunk_write(info, op));
  TESSERA_ASSIGN_OR_RETURN(auto purged, purge_mark(state, info, op.ino()));
  if (op.epoch() < purged.epoch) return Status::ok();  // it raced a truncate or removal purged here
  const std::string key = data_chunk_key(op.ino(), op.offset() / kChunkBytes);
  const size_t in_chunk = static_cast<size_t>(op.offset() % kChunkBytes);
  TESSERA_ASSIGN_OR_RETURN(auto bytes, patched_chunk(state, key, in_chunk, op.data()));
  state.put(key, bytes);
  return Status::ok();
}

Status apply_chunk_purge(storage::StateWriter& state, const Command& cmd, CommandResult& result) {
  const internal::ChunkPurgeOp& op = cmd.chunk_purge();
  TESSERA_ASSIGN_OR_RETURN(auto info, data_shard_info(state));
  TESSERA_ASSIGN_OR_RETURN(auto mark, purge_mark(state, info, op.ino()));
  // An older purge, or this one again once it finished here: writes at its
  // epoch may have landed since (the name shard let the file grow), and
  // must stay.
  if (op.epoch() < mark.epoch || (op.epoch() == mark.epoch && mark.done)) return Status::ok();
  const uint64_t cut = op.from() / kChunkBytes;  // the chunk holding `from`
  const size_t keep = static_cast<size_t>(op.from() % kChunkBytes);
  if (keep != 0) TESSERA_TRY(cut_chunk(state, op.ino(), cut, keep));
  const uint64_t first = keep != 0 ? cut + 1 : cut;  // the first chunk deleted whole
  TESSERA_ASSIGN_OR_RETURN(bool more, delete_chunks_from(state, op.ino(), first));
  put_purge_mark(state, op.ino(), PurgeMark{op.epoch(), !more});
  result.set_more(more);
  return Status::ok();
}

Result<std::string> read_chunks(const storage::StateReader& state, uint64_t ino, uint64_t offset,
                                uint64_t length) {
  TESSERA_ASSIGN_OR_RETURN(auto info, data_shard_info(state));
  TESSERA_TRY(check_read_range(info, ino, offset, length));
  std::string out(static_cast<size_t>(length), '\0');
  if (length == 0) return out;
  const uint64_t end = offset + length;
  TESSERA_TRY(state.scan(data_chunk_key(ino, offset / kChunkBytes),
                         prefix_successor(data_chunk_prefix(ino)),
                         [&](std::string_view k, std::string_view v) {
                           const uint64_t start = chunk_of(k) * kChunkBytes;
                           if (start >= end) return false;
                           copy_overlap(out, offset, start, v);
                           return true;
                         }));
  return out;
}

}  // namespace tessera::ns
