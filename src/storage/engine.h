#pragma once
// Engine: the node's one RocksDB instance.
//
// Column families:
//   log   — shard logs: key = shard(be64) + index(be64), value = framed command.
//   state — shard state machines: key = shard(be64) + subkey.
// Every value is framed as crc32c(payload) (fixed32 LE) + payload; reads
// verify the frame and report Errc::corruption on mismatch. RocksDB types stay
// in engine.cc: this header is included widely.
//
// Thread safety: all methods may be called from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/ids.h"
#include "base/status.h"

namespace tessera::storage {

enum class Cf { log = 0, state = 1 };

struct EngineOptions {
  size_t block_cache_bytes = 64ull << 20;
  size_t write_buffer_bytes = 32ull << 20;
  // Values at least this large go to blob files (file chunks).
  size_t blob_min_bytes = 64ull << 10;
};

// Frames `payload` with its checksum.
std::string frame(std::string_view payload);
// Verifies and strips the frame; `what` names the record in the error.
Result<std::string_view> unframe(std::string_view framed, std::string_view what);

class Engine;

// A set of writes applied atomically by Engine::write, in the order they
// were added (a put after a delete of the same key wins, and vice versa).
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  // Takes ownership of `payload`; the checksum frame is added without
  // copying it again.
  void put(Cf cf, std::string key, std::string payload);
  void del(Cf cf, std::string_view key);
  // Deletes every key in [start, end).
  void del_range(Cf cf, std::string_view start, std::string_view end);
  size_t bytes() const;
  size_t count() const;

 private:
  friend class Engine;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A read-your-writes transaction over the state column family: reads see the
// committed state plus this transaction's own writes. Supports save points so
// one command's writes can be undone without touching the others in a group.
class Txn {
 public:
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  Result<std::optional<std::string>> get(std::string_view key) const;
  void put(std::string_view key, std::string_view payload);
  void del(std::string_view key);
  // Calls fn(key, payload) for keys in [start, end) in order until fn returns
  // false. Empty `end` = no upper bound.
  Status scan(std::string_view start, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;

  void set_save_point();
  void rollback_to_save_point();
  void pop_save_point();

  // Also written atomically with the transaction (e.g. log truncation).
  void put_raw(Cf cf, std::string_view key, std::string_view payload);
  void del_raw(Cf cf, std::string_view key);

 private:
  friend class Engine;
  struct Impl;
  explicit Txn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A consistent read-only view of the state column family at one instant.
class Snapshot {
 public:
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  Result<std::optional<std::string>> get(std::string_view key) const;
  Status scan(std::string_view start, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;

 private:
  friend class Engine;
  struct Impl;
  explicit Snapshot(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes one sorted SST file for Engine::ingest. Keys must be added in
// strictly increasing order; values are framed like every stored value.
class SstWriter {
 public:
  ~SstWriter();
  SstWriter(const SstWriter&) = delete;
  SstWriter& operator=(const SstWriter&) = delete;

  Status put(std::string_view key, std::string_view payload);
  // Finishes and fsyncs the file. A writer with no keys writes no file.
  Status finish();
  uint64_t entries() const;
  const std::string& path() const;

 private:
  friend class Engine;
  struct Impl;
  explicit SstWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(const std::string& dir, const EngineOptions& opts);
  ~Engine();

  // Atomic write; with `sync` it is durable (fsync'd) when this returns.
  Status write(WriteBatch& batch, bool sync);
  // Commits a transaction. With `wal` false it is written to the memtables
  // only: it survives a crash only once flushed. Column families flush
  // atomically together, so the flushed files are always one consistent cut
  // across `log` and `state` — which is what makes skipping the WAL safe for
  // writes that can be rebuilt from the log (see shard_host.cc).
  Status commit(Txn& txn, bool sync, bool wal = true);

  Result<std::optional<std::string>> get(Cf cf, std::string_view key) const;
  Status scan(Cf cf, std::string_view start, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;

  std::unique_ptr<Txn> begin() const;
  std::unique_ptr<Snapshot> snapshot() const;

  // A writer for a new SST file at `path`, to be ingested into `cf`.
  Result<std::unique_ptr<SstWriter>> sst_writer(Cf cf, const std::string& path) const;
  // Moves a finished SST file into `cf`, atomically and durably: its keys
  // supersede every earlier write of the same keys. The file is gone from
  // `path` once this succeeds.
  Status ingest(Cf cf, const std::string& path);
  // The directory the engine keeps its files in.
  const std::string& dir() const;

  // Approximate on-disk bytes (SST + blob files + WAL) for /metrics.
  uint64_t disk_bytes() const;

  struct Impl;  // opaque; public so Txn and Snapshot can hold one

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::storage
