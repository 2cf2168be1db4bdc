#include "namespace/file_ops.h"

#include <algorithm>

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

}  // namespace

Status truncate_file(VolumeTxn& txn, Inode& file, uint64_t size, int64_t now_ms,
                     std::string_view subject) {
  if (size > kFileBytesMax) return Status(Errc::too_large, std::string(subject) + ": size too large");
  uint64_t old = file.size();
  if (size == old) return Status::ok();
  TESSERA_TRY(txn.charge(UsageKind::files, static_cast<int64_t>(size) - static_cast<int64_t>(old),
                         subject));
  if (size < old) {
    // Drop whole chunks past the new end; cut the chunk that holds it.
    uint64_t first_dropped = (size + kChunkBytes - 1) / kChunkBytes;
    uint64_t last = (old + kChunkBytes - 1) / kChunkBytes;
    for (uint64_t c = first_dropped; c < last; ++c) txn.writer().del(chunk_key(file.id(), c));
    if (size % kChunkBytes != 0) {
      uint64_t c = size / kChunkBytes;
      TESSERA_ASSIGN_OR_RETURN(auto data, load_chunk(txn, file.id(), c));
      size_t keep = static_cast<size_t>(size % kChunkBytes);
      if (data.size() > keep) {
        data.resize(keep);
        txn.writer().put(chunk_key(file.id(), c), data);
      }
    }
  }
  file.set_size(size);
  file.set_mtime_ms(now_ms);
  file.set_ctime_ms(now_ms);
  file.set_version(file.version() + 1);
  txn.put_inode(file);
  return Status::ok();
}

Status apply_write(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const auto& op = cmd.write();
  if (op.data().size() > kWriteBytesMax) {
    return Status(Errc::too_large, op.path() + ": write of " + std::to_string(op.data().size()) +
                                       " bytes exceeds " + std::to_string(kWriteBytesMax));
  }
  TESSERA_ASSIGN_OR_RETURN(Inode file, open_for_write(txn, cmd));
  if (op.truncate()) TESSERA_TRY(truncate_file(txn, file, 0, cmd.now_ms(), op.path()));
  uint64_t offset = op.append() ? file.size() : op.offset();
  const std::string& data = op.data();
  if (offset > kFileBytesMax || data.size() > kFileBytesMax - offset) {
    return Status(Errc::too_large, op.path() + ": write past the maximum file size");
  }
  uint64_t end = offset + data.size();
  if (end > file.size()) {
    TESSERA_TRY(txn.charge(UsageKind::files, static_cast<int64_t>(end - file.size()), op.path()));
    file.set_size(end);
  }
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
      TESSERA_ASSIGN_OR_RETURN(bytes, load_chunk(txn, file.id(), chunk));
      if (bytes.size() < in_chunk + n) bytes.resize(in_chunk + n, '\0');
      bytes.replace(in_chunk, n, data, pos, n);
    }
    txn.writer().put(chunk_key(file.id(), chunk), bytes);
    pos += n;
  }
  file.set_mtime_ms(cmd.now_ms());
  file.set_ctime_ms(cmd.now_ms());
  file.set_version(file.version() + 1);
  txn.put_inode(file);
  result.mutable_write()->set_bytes_written(data.size());
  result.mutable_write()->set_size(file.size());
  *result.mutable_inode() = file;
  return Status::ok();
}

Status purge_file(VolumeTxn& txn, const Inode& file) {
  uint64_t chunks = (file.size() + kChunkBytes - 1) / kChunkBytes;
  for (uint64_t c = 0; c < chunks; ++c) txn.writer().del(chunk_key(file.id(), c));
  return txn.charge(UsageKind::files, -static_cast<int64_t>(file.size()), "purge");
}

Status read_file(const VolumeView& view, const internal::Principal& who, std::string_view path,
                 uint64_t offset, uint64_t length,
                 const std::function<bool(uint64_t, std::string_view)>& sink) {
  TESSERA_ASSIGN_OR_RETURN(auto r, view.resolve_kind(path, who, ObjectKind::KIND_FILE,
                                                     static_cast<int>(Access::read)));
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
