#include "namespace/file_ops.h"

#include <algorithm>
#include <set>
#include <string>

#include "base/coding.h"
#include "namespace/keys.h"
#include "namespace/permissions.h"

namespace tessera::ns {

using internal::Inode;
using tessera::v1::ObjectKind;

namespace {

// The stored bytes of one chunk (possibly shorter than kChunkBytes, or empty).
Result<std::string> load_chunk(const VolumeView& view, uint64_t ino, uint64_t chunk) {
  TESSERA_ASSIGN_OR_RETURN(auto raw, view.state().get(chunk_key(ino, chunk)));
  return raw ? std::move(*raw) : std::string();
}

// Resolves the file a write goes to, creating it when asked to.
Result<Inode> open_for_write(VolumeTxn& txn, const internal::Command& cmd) {
  const auto& op = cmd.write();
  const auto& who = cmd.principal();
  TESSERA_ASSIGN_OR_RETURN(auto pr, txn.resolve_parent(op.path(), who));
  if (!pr.child) {
    if (!op.create()) return error(Errc::not_found, op.path());
    TESSERA_TRY(check_access(pr.parent, who, Access::write, op.path()));
    Inode n = txn.new_inode(ObjectKind::KIND_FILE, 0644, who, cmd.now_ms());
    if (pr.parent.mode() & 02000) n.set_gid(pr.parent.gid());
    txn.put_dirent(pr.parent.id(), pr.name, n.id());
    pr.parent.set_entries(pr.parent.entries() + 1);
    pr.parent.set_mtime_ms(cmd.now_ms());
    pr.parent.set_version(pr.parent.version() + 1);
    txn.put_inode(pr.parent);
    return n;
  }
  Inode n = *pr.child;
  if (n.kind() == ObjectKind::KIND_DIRECTORY) return error(Errc::is_a_directory, op.path());
  if (n.kind() != ObjectKind::KIND_FILE) {
    return Status(Errc::wrong_kind, op.path() + ": is not a file");
  }
  TESSERA_TRY(check_access(n, who, Access::write, op.path()));
  return n;
}

// ok for a command of a node (an admin principal: the server's own
// commands, `what`); permission_denied otherwise.
Status check_node(VolumeTxn& txn, const internal::Command& cmd, std::string_view what) {
  if (cmd.principal().admin()) return Status::ok();
  return Status(Errc::permission_denied,
                txn.vol().mount_path() + ": only nodes send " + std::string(what));
}

// The refusal of growing `file` while the bytes of a shrink are purged.
Status growth_refused(std::string_view subject, const Inode& file) {
  return Status(Errc::failed_precondition,
                std::string(subject) + ": cannot grow the file while its bytes from " +
                    std::to_string(file.purge_from()) + " on are purged from the data shards " +
                    "(data epoch " + std::to_string(file.data_epoch()) + "); retry after it");
}

// A shrink to `size` on a volume with data shards: the bytes past it go by
// a purge at the next data epoch.
// Writes prepared at older epochs are then dropped, and so are the append
// reservations.
void mark_purge(Inode& file, uint64_t size) {
  file.set_purge_from(file.purge_pending() ? std::min(file.purge_from(), size) : size);
  file.set_purge_pending(true);
  file.set_data_epoch(file.data_epoch() + 1);
  file.clear_reservations();
  file.set_tail_clean(false);
}

// Drops the chunks of `file` past `size` (< its size `old`) from this shard:
// whole chunks past the new end; the chunk that holds it cut.
Status drop_chunks(VolumeTxn& txn, const Inode& file, uint64_t size, uint64_t old) {
  uint64_t first_dropped = (size + kChunkBytes - 1) / kChunkBytes;
  uint64_t last = (old + kChunkBytes - 1) / kChunkBytes;
  for (uint64_t c = first_dropped; c < last; ++c) txn.writer().del(chunk_key(file.id(), c));
  if (size % kChunkBytes == 0) return Status::ok();
  uint64_t c = size / kChunkBytes;
  TESSERA_ASSIGN_OR_RETURN(auto data, load_chunk(txn, file.id(), c));
  size_t keep = static_cast<size_t>(size % kChunkBytes);
  if (data.size() > keep) {
    data.resize(keep);
    txn.writer().put(chunk_key(file.id(), c), data);
  }
  return Status::ok();
}

// Stores `data` at `offset` of file `ino` in this shard's chunks.
Status store_bytes(VolumeTxn& txn, uint64_t ino, uint64_t offset, const std::string& data) {
  size_t pos = 0;
  while (pos < data.size()) {
    uint64_t at = offset + pos;
    uint64_t chunk = at / kChunkBytes;
    size_t in_chunk = static_cast<size_t>(at % kChunkBytes);
    size_t n = std::min<size_t>(data.size() - pos, kChunkBytes - in_chunk);
    std::string bytes;
    if (in_chunk == 0 && n == kChunkBytes) {
      bytes.assign(data, pos, n);  // whole chunk: no read needed
    } else {
      TESSERA_ASSIGN_OR_RETURN(bytes, load_chunk(txn, ino, chunk));
      if (bytes.size() < in_chunk + n) bytes.resize(in_chunk + n, '\0');
      bytes.replace(in_chunk, n, data, pos, n);
    }
    txn.writer().put(chunk_key(ino, chunk), bytes);
    pos += n;
  }
  return Status::ok();
}

// The length of a write's bytes: its data, or with data_elsewhere (on a
// volume with data shards only, without data) op.length; at most
// kWriteBytesMax (a COMMIT may cover several writes: kFileBytesMax).
Result<uint64_t> write_length(const internal::VolumeState& vol, const internal::WriteOp& op) {
  const bool elsewhere = op.data_elsewhere();
  auto refuse = [&](const char* why) {
    return Status(Errc::invalid_argument, op.path() + ": " + why);
  };
  if (elsewhere && !has_data_shards(vol)) {
    return refuse("the volume keeps file bytes in its name shard; the write must carry them");
  }
  if (elsewhere && !op.data().empty()) return refuse("a write with data_elsewhere carries no data");
  if (!elsewhere && has_data_shards(vol) && !op.data().empty()) {
    return refuse("the volume keeps file bytes in data shards; write them there");
  }
  const uint64_t length = elsewhere ? op.length() : op.data().size();
  const uint64_t max = elsewhere && op.phase() == internal::WRITE_COMMIT ? kFileBytesMax : kWriteBytesMax;
  if (length > max) {
    return Status(Errc::too_large, op.path() + ": write of " + std::to_string(length) +
                                       " bytes exceeds " + std::to_string(max));
  }
  return length;
}

// Where a write's bytes end, or too_large past the maximum file size.
Result<uint64_t> write_end(const internal::WriteOp& op, uint64_t offset, uint64_t length) {
  if (offset > kFileBytesMax || length > kFileBytesMax - offset) {
    return Status(Errc::too_large, op.path() + ": write past the maximum file size");
  }
  return offset + length;
}

// Sets the times and version of a file whose data changed, and stores it.
void touch(VolumeTxn& txn, Inode& file, int64_t now_ms) {
  file.set_mtime_ms(now_ms);
  file.set_ctime_ms(now_ms);
  file.set_version(file.version() + 1);
  txn.put_inode(file);
}

// WRITE_PREPARE (see file_ops.h).
Status prepare_write(VolumeTxn& txn, const internal::Command& cmd, uint64_t length,
                     internal::CommandResult& result) {
  const auto& op = cmd.write();
  TESSERA_ASSIGN_OR_RETURN(Inode file, open_for_write(txn, cmd));
  const Inode stored = file;  // a refusal reports the inode unchanged
  if (op.truncate()) TESSERA_TRY(truncate_file(txn, file, 0, cmd.now_ms(), op.path()));
  const auto& held = file.reservations();
  const uint64_t offset =
      !op.append() ? op.offset() : std::max(file.size(), held.empty() ? 0 : held.rbegin()->end());
  TESSERA_ASSIGN_OR_RETURN(const uint64_t end, write_end(op, offset, length));
  const bool grows = end > file.size();  // also a hole: end >= offset
  if (grows && file.purge_pending()) {
    *result.mutable_inode() = stored;
    return growth_refused(op.path(), file);
  }
  if (!op.append() && offset > file.size() && !file.tail_clean()) {
    // A hole: bytes of unfinished writes may lie past the size, and would
    // show in it. Purge them first (the caller prepares again after).
    mark_purge(file, file.size());
  } else if (length > 0) {
    if (end > file.size()) TESSERA_TRY(check_quota(txn.vol(), end - file.size(), op.path()));
    if (op.append() && static_cast<size_t>(held.size()) >= kReservationsMax) {
      return Status(Errc::unavailable, op.path() + ": " + std::to_string(held.size()) +
                                           " appends in flight; retry");
    }
    file.set_tail_clean(false);
    if (op.append()) {
      auto* r = file.add_reservations();
      r->set_offset(offset);
      r->set_end(end);
      r->set_node(op.node());
      r->set_incarnation(op.incarnation());
    }
  }
  txn.put_inode(file);  // also a file created here
  result.set_write_offset(offset);
  result.mutable_write()->set_size(file.size());
  *result.mutable_inode() = file;
  return Status::ok();
}

// WRITE_COMMIT (see file_ops.h).
Status commit_write(VolumeTxn& txn, const internal::Command& cmd, uint64_t length,
                    internal::CommandResult& result) {
  const auto& op = cmd.write();
  TESSERA_ASSIGN_OR_RETURN(Inode file, open_for_write(txn, cmd));
  if (file.id() != op.ino()) {
    return Status(Errc::not_found, op.path() + ": removed or replaced while being written");
  }
  TESSERA_ASSIGN_OR_RETURN(const uint64_t end, write_end(op, op.offset(), length));
  *result.mutable_inode() = file;  // what a refusal reports
  if (file.data_epoch() != op.epoch()) {
    return Status(Errc::failed_precondition,
                  op.path() + ": the file's data epoch moved from " + std::to_string(op.epoch()) +
                      " to " + std::to_string(file.data_epoch()) +
                      " (a truncate or purge) after the bytes went out; write them again");
  }
  if (op.append() && op.offset() > file.size()) {
    return Status(Errc::failed_precondition,
                  op.path() + ": appends before offset " + std::to_string(op.offset()) +
                      " are not committed yet (size " + std::to_string(file.size()) + ")");
  }
  if (end > file.size()) {
    if (file.purge_pending()) return growth_refused(op.path(), file);
    TESSERA_TRY(txn.charge(UsageKind::files, static_cast<int64_t>(end - file.size()), op.path()));
    file.set_size(end);
  }
  // Reservations the size now covers are done (ends ascend).
  auto* held = file.mutable_reservations();
  int done = 0;
  while (done < held->size() && held->Get(done).end() <= file.size()) ++done;
  if (done > 0) held->DeleteSubrange(0, done);
  touch(txn, file, cmd.now_ms());
  result.mutable_write()->set_bytes_written(length);
  result.mutable_write()->set_size(file.size());
  *result.mutable_inode() = file;
  return Status::ok();
}

// WRITE_RESET (see file_ops.h).
Status reset_writes(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const auto& op = cmd.write();
  TESSERA_ASSIGN_OR_RETURN(Inode file, open_for_write(txn, cmd));
  if (file.id() == op.ino() && file.data_epoch() == op.epoch() && file.size() == op.offset() &&
      !file.purge_pending()) {
    mark_purge(file, file.size());
    txn.put_inode(file);
  }
  *result.mutable_inode() = file;
  return Status::ok();
}

}  // namespace

Status init_data_shards(internal::VolumeState& vol, const internal::InitVolumeOp& op) {
  if (static_cast<size_t>(op.data_shards_size()) > kDataShardsMax) {
    return Status(Errc::invalid_argument, op.mount_path() + ": " +
                                              std::to_string(op.data_shards_size()) +
                                              " data shards, at most " +
                                              std::to_string(kDataShardsMax));
  }
  std::set<uint64_t> seen;
  for (uint64_t shard : op.data_shards()) {
    if (shard == 0 || !seen.insert(shard).second) {
      const char* why = shard == 0 ? " is not a shard id" : " named twice";
      return Status(Errc::invalid_argument,
                    op.mount_path() + ": data shard " + std::to_string(shard) + why);
    }
  }
  *vol.mutable_data_shards() = op.data_shards();
  return Status::ok();
}

Status truncate_file(VolumeTxn& txn, Inode& file, uint64_t size, int64_t now_ms,
                     std::string_view subject) {
  if (size > kFileBytesMax) return Status(Errc::too_large, std::string(subject) + ": size too large");
  uint64_t old = file.size();
  if (size == old) return Status::ok();
  const bool elsewhere = has_data_shards(txn.vol());
  if (elsewhere && size > old && file.purge_pending()) return growth_refused(subject, file);
  if (elsewhere && size > old && !file.tail_clean()) {
    return Status(Errc::failed_precondition,
                  std::string(subject) + ": cannot extend the file over bytes that unfinished " +
                      "writes may have left past its end; purge them first (a write PREPARE " +
                      "at the new size does)");
  }
  TESSERA_TRY(txn.charge(UsageKind::files, static_cast<int64_t>(size) - static_cast<int64_t>(old),
                         subject));
  if (size < old && elsewhere) mark_purge(file, size);
  if (size < old && !elsewhere) TESSERA_TRY(drop_chunks(txn, file, size, old));
  file.set_size(size);
  file.set_mtime_ms(now_ms);
  file.set_ctime_ms(now_ms);
  file.set_version(file.version() + 1);
  txn.put_inode(file);
  return Status::ok();
}

Status apply_write(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const auto& op = cmd.write();
  TESSERA_ASSIGN_OR_RETURN(const uint64_t length, write_length(txn.vol(), op));
  if (op.data_elsewhere()) {
    switch (op.phase()) {
      case internal::WRITE_PREPARE: return prepare_write(txn, cmd, length, result);
      case internal::WRITE_COMMIT: return commit_write(txn, cmd, length, result);
      case internal::WRITE_RESET: return reset_writes(txn, cmd, result);
      default:
        return Status(Errc::invalid_argument,
                      op.path() + ": unknown write phase " + std::to_string(op.phase()));
    }
  }
  TESSERA_ASSIGN_OR_RETURN(Inode file, open_for_write(txn, cmd));
  if (op.truncate()) TESSERA_TRY(truncate_file(txn, file, 0, cmd.now_ms(), op.path()));
  const uint64_t offset = op.append() ? file.size() : op.offset();
  TESSERA_ASSIGN_OR_RETURN(const uint64_t end, write_end(op, offset, length));
  if (end > file.size()) {
    TESSERA_TRY(txn.charge(UsageKind::files, static_cast<int64_t>(end - file.size()), op.path()));
    file.set_size(end);
  }
  TESSERA_TRY(store_bytes(txn, file.id(), offset, op.data()));
  touch(txn, file, cmd.now_ms());
  result.mutable_write()->set_bytes_written(length);
  result.mutable_write()->set_size(file.size());
  *result.mutable_inode() = file;
  return Status::ok();
}

Status purge_file(VolumeTxn& txn, const Inode& file) {
  if (has_data_shards(txn.vol())) {
    std::string epoch;
    put_be64(epoch, file.data_epoch() + 1);
    txn.writer().put(doomed_key(file.id()), epoch);
  } else {
    uint64_t chunks = (file.size() + kChunkBytes - 1) / kChunkBytes;
    for (uint64_t c = 0; c < chunks; ++c) txn.writer().del(chunk_key(file.id(), c));
  }
  return txn.charge(UsageKind::files, -static_cast<int64_t>(file.size()), "purge");
}

Status apply_file_purged(VolumeTxn& txn, const internal::Command& cmd,
                         internal::CommandResult& result) {
  const auto& op = cmd.file_purged();
  TESSERA_TRY(check_node(txn, cmd, "FilePurgedOp"));
  TESSERA_ASSIGN_OR_RETURN(auto file, txn.inode(op.ino()));
  if (!file) return Status::ok();  // removed since: its doomed record purges it
  if (file->kind() == ObjectKind::KIND_FILE && file->purge_pending() &&
      file->purge_from() == op.from() && file->data_epoch() == op.epoch()) {
    file->set_purge_pending(false);
    file->set_purge_from(0);
    file->set_tail_clean(true);  // nothing past the size at this epoch now
    txn.put_inode(*file);
  }
  *result.mutable_inode() = *file;
  return Status::ok();
}

Status apply_clear_doomed(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult&) {
  const auto& op = cmd.clear_doomed();
  TESSERA_TRY(check_node(txn, cmd, "ClearDoomedOp"));
  if (static_cast<size_t>(op.inos_size()) > kClearDoomedMax) {
    return Status(Errc::too_large, txn.vol().mount_path() + ": ClearDoomedOp of " +
                                       std::to_string(op.inos_size()) + " files, at most " +
                                       std::to_string(kClearDoomedMax));
  }
  for (uint64_t ino : op.inos()) txn.writer().del(doomed_key(ino));
  return Status::ok();
}

Result<std::vector<uint64_t>> doomed_files(const VolumeView& view, size_t max) {
  std::vector<uint64_t> inos;
  if (max == 0) return inos;
  const std::string prefix = doomed_prefix();
  TESSERA_TRY(view.state().scan(prefix, prefix_successor(prefix),
                                [&](std::string_view k, std::string_view) {
                                  inos.push_back(get_be64(k.substr(prefix.size())));
                                  return inos.size() < max;
                                }));
  return inos;
}

Status read_file(const VolumeView& view, const internal::Principal& who, std::string_view path,
                 uint64_t offset, uint64_t length,
                 const std::function<bool(uint64_t, std::string_view)>& sink) {
  TESSERA_ASSIGN_OR_RETURN(auto r, view.resolve_kind(path, who, ObjectKind::KIND_FILE,
                                                     static_cast<int>(Access::read)));
  TESSERA_ASSIGN_OR_RETURN(auto vol, view.volume());
  if (has_data_shards(vol)) {
    return Status(Errc::invalid_argument, std::string(path) +
                                              ": the volume keeps file bytes in data shards; "
                                              "read them there");
  }
  uint64_t size = r.inode.size();
  if (offset >= size) return Status::ok();
  uint64_t end = length == 0 ? size : std::min(size, offset + std::min(length, size));
  uint64_t at = offset;
  std::string zeros;
  while (at < end) {
    uint64_t chunk = at / kChunkBytes;
    size_t in_chunk = static_cast<size_t>(at % kChunkBytes);
    size_t n = static_cast<size_t>(std::min<uint64_t>(end - at, kChunkBytes - in_chunk));
    TESSERA_ASSIGN_OR_RETURN(auto bytes, load_chunk(view, r.inode.id(), chunk));
    // Bytes past what the chunk stores are a hole: zeros.
    if (bytes.size() < in_chunk + n) bytes.resize(in_chunk + n, '\0');
    if (!sink(at, std::string_view(bytes).substr(in_chunk, n))) return Status::ok();
    at += n;
  }
  return Status::ok();
}

}  // namespace tessera::ns
