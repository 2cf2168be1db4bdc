#pragma once
// OpenFile: one open file handle of the mount (fuse_file_info::fh) — its
// write buffer, the write stream that carries it, and a read-ahead window.
//
// Writes are buffered (DirtyExtents) and go out through one Files.Write
// stream, at their offsets — or, for a handle opened O_APPEND, appended at
// the file's end by the server, in the order written. The buffer is sent
// once it holds kDirtyBytesMax; the stream stays open across such sends so
// a long sequential write is one pipelined stream. flush() (close, fsync,
// release, and before anything that must see the bytes: reads, truncate,
// rename, a getattr-sensitive open elsewhere) sends the rest and waits for
// the server's acknowledgement that every byte is durable. A failure is
// kept and returned by the next write or flush (then cleared): POSIX
// reports write-back errors at close and fsync; the failed bytes are
// dropped, not retried.
//
// Reads fetch at least kReadAheadBytes from the offset asked for and serve
// later reads inside that window from memory; writes through any handle of
// the same file drop the window (TesseraFs calls drop_cache()).
//
// Thread-safe: one mutex per handle, held across the calls to the cluster
// (the kernel may send a handle's requests from several threads).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "fuse/dirty_extents.h"

namespace tessera::client {
class Connection;
class FileWriter;
}  // namespace tessera::client

namespace tessera::fuse {

inline constexpr uint64_t kDirtyBytesMax = 4 << 20;
inline constexpr uint64_t kReadAheadBytes = 1 << 20;

class OpenFile {
 public:
  OpenFile(client::Connection& conn, uint64_t nodeid, bool append);
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  uint64_t nodeid() const { return nodeid_; }
  bool append() const { return append_; }

  // Buffers `data` at `offset`. `path` names the file if a stream must be
  // started now. Returns a failure kept from an earlier send.
  Status write(uint64_t offset, std::string_view data, const std::string& path);

  // Up to `size` bytes from `offset`; fewer at the end of the file. Flushes
  // this handle's own writes first.
  Result<std::string> read(uint64_t offset, size_t size, const std::string& path);

  // Sends everything buffered and waits until the server acknowledged it.
  Status flush(const std::string& path);

  // One past the last byte written through this handle that the server has
  // not acknowledged yet; 0 when none.
  uint64_t pending_end() const;

  void drop_cache();

 private:
  // Moves the buffer into the stream (starting it on `path`). mu_ held.
  void send_buffer(const std::string& path);
  Status flush_locked(const std::string& path);
  Status take_error();  // mu_ held

  client::Connection& conn_;
  const uint64_t nodeid_;
  const bool append_;

  mutable std::mutex mu_;
  DirtyExtents dirty_;
  std::unique_ptr<client::FileWriter> stream_;
  uint64_t streamed_end_ = 0;  // past the last byte sent on stream_
  Status error_;
  uint64_t cache_offset_ = 0;
  std::string cache_;
  bool cache_eof_ = false;  // the window reaches the end of the file
  bool cache_valid_ = false;
};

}  // namespace tessera::fuse
