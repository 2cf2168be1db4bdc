#pragma once
// FileRouter: file data over a volume's data shards.
//
// A volume created with data shards (VolumeRecord.data_shards) keeps its
// files' bytes in them (namespace/chunk_ops.h): chunk c of inode i lives in
// data shard data_shard_index(i, c, n), whole 4 MiB stripes to one shard,
// so one large file's reads and writes use every shard and so every node
// that leads one. The volume shard (the *name shard*) keeps the inode:
// permissions, size, times, the data epoch (namespace/file_ops.h).
//
//   write    bytes land before the size shows them
//            (namespace/file_ops.h): the name shard PREPAREs (create,
//            truncate, permission; an append's offset is reserved; a hole
//            past the size is purged of unfinished writes' bytes first),
//            the bytes go to the data shard of each chunk at the file's
//            data epoch, then the name shard COMMITs the size, in offset
//            order (file_writer.cc). A crash before the commit leaves the
//            size as it was: the write is absent, never zeros.
//   shrink   (truncate, create with truncate) the name shard sets the size,
//            bumps the file's data epoch and marks a purge pending; the
//            router purges the bytes past the new size from every data
//            shard (writes older than the epoch that arrive later are
//            dropped there, and their commits refused: they are written
//            again), then clears the mark. While it is pending the file
//            may not grow, so bytes of a shrunk region never reappear; a
//            writer that finds it pending (a crash left it) purges first.
//   read     permission and size after a read barrier on the name shard;
//            each stripe piece from its data shard, here (one read barrier
//            per shard per request) or on a node holding it ("chunk_read"),
//            four stripes read ahead (they come from different shards).
//   removal  the name shard lists removed files (doomed); its leader purges
//            their bytes from every data shard, then forgets them.
// Volumes without data shards keep chunks in the name shard (file_ops.cc)
// and are served as before (files_service.cc).
//
// Thread safety: every method may be called from any request thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "tessera/internal/state.pb.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::server {

class Backend;
struct Route;

class FileRouter {
 public:
  explicit FileRouter(Backend& backend);
  ~FileRouter();

  // Whether the volume of `route` keeps file data in data shards.
  static bool sharded(const Route& route);

  // One write stream (tessera.v1.Files.Write) to a sharded volume.
  class Writer {
   public:
    Writer(FileRouter& router, const internal::Principal& who, std::string path);
    ~Writer();  // waits for the pieces in flight
    // A message of the stream (its size checked by the caller); the first
    // may create or truncate.
    Status write(const tessera::v1::WriteRequest& msg);
    // Waits for every piece; the stream's answer.
    Result<tessera::v1::WriteResponse> finish();

   private:
    struct State;
    std::unique_ptr<State> s_;
  };

  Result<tessera::v1::Stat> create(const internal::Principal& who, const std::string& path,
                                   const internal::CreateObjectOp& op);
  Result<tessera::v1::Stat> truncate(const internal::Principal& who, const std::string& path,
                                     uint64_t size);
  // Reads [offset, offset + length) (length 0: to the end), calling `sink`
  // with consecutive pieces of at most 1 MiB; false from sink stops.
  Status read(const internal::Principal& who, const std::string& path, uint64_t offset,
              uint64_t length, const std::function<bool(uint64_t, std::string_view)>& sink);

  // Reads a data shard this node holds, after a read barrier on it. The
  // "chunk_read" peer call.
  Result<internal::ChunkReadReply> read_local(const internal::ChunkRead& req);

  // Purges the data of removed files of the volumes whose name shard this
  // node leads.
  void run_periodic();

  // Tests: runs before every WRITE_COMMIT this router proposes (to race a
  // truncate against a write at a known point).
  void set_commit_hook(std::function<void()> hook) { commit_hook_ = std::move(hook); }

 private:
  // A WRITE_PREPARE, purging first when a shrink's purge is pending and
  // again when the prepare started one (a hole); the result carries the
  // inode (data epoch) and write_offset.
  Result<internal::CommandResult> prepare(const internal::Principal& who, const Route& route,
                                          internal::Command cmd);
  // The WRITE_COMMIT of [offset, offset + length) written at `epoch`; an
  // append waits for the appends before it (dropping their reservations
  // when they stall). failed_precondition: the epoch moved, write the
  // bytes again from a prepare.
  Result<internal::CommandResult> commit(const internal::Principal& who, const Route& route,
                                         const std::string& path, uint64_t ino, uint64_t epoch,
                                         uint64_t offset, uint64_t length, bool append);
  // The name shard's part of a write, purging first when a shrink's purge
  // is pending; the result carries the inode and write_offset.
  Result<internal::CommandResult> name_write(const internal::Principal& who, const Route& route,
                                             internal::Command cmd);
  // Writes bytes at `offset` of inode `ino` to the data shards.
  Status data_write(const Route& route, uint64_t ino, uint64_t epoch, uint64_t offset,
                    std::string_view data);
  // Purges inode `ino`'s bytes from `from` on at `epoch` from every data
  // shard of the volume; with `clear`, then clears the pending mark.
  Status purge(const Route& route, uint64_t ino, uint64_t from, uint64_t epoch, bool clear);
  // Purges the pending shrink of the file at `path`, if any.
  Status purge_pending(const Route& route, const internal::Inode& inode);
  Result<std::string> read_piece(uint64_t shard, uint64_t ino, uint64_t offset, uint64_t length,
                                 std::vector<uint64_t>& barriers);
  void purge_doomed(const Route& route);
  // Whether the reservation blocking an append can no longer commit: made
  // on this node by an earlier process, or by this one and no longer held
  // by any of its write streams.
  bool reservation_dead(uint64_t ino, const internal::AppendReservation& r) const;
  // The append reservations this process's write streams hold: an append
  // calls preparing(+1) before its PREPARE, hold() after it (or
  // preparing(-1) when it failed), release() once committed or given up.
  void preparing(int delta);
  void hold(uint64_t ino, uint64_t offset);
  void release(uint64_t ino, uint64_t offset);

  Backend& b_;
  const uint64_t incarnation_;  // random, per process
  mutable std::mutex held_mu_;
  std::set<std::pair<uint64_t, uint64_t>> held_;  // (ino, offset)
  int64_t preparing_ = 0;
  std::function<void()> commit_hook_;
};

}  // namespace tessera::server
