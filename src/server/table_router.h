#pragma once
// TableRouter: tables over tablet shards.
//
// A table's rows live in *tablet shards* (namespace/tablet_ops.h), raft
// shards each holding one key range, placed and healed like any shard. The
// table's volume shard (its *name shard*) holds the table inode —
// permissions, size — and the tablet map: start key → shard
// (namespace/table_map.h).
//
//   create         reserve the inode number in the name shard → allocate a
//                  shard id in the meta shard → bootstrap the first tablet
//                  ["", "") here, grow it to the volume's replication →
//                  mark it ready → create the table inode naming it.
//   write          permission and map from this node's replica of the name
//                  shard (read barrier only when it misses) → one RowBatchOp
//                  to the tablet holding the key. A tablet that no longer
//                  holds the key (it split) refuses it unapplied: the map is
//                  read again after a barrier and the write retried; a key
//                  being copied to a new tablet is refused too, and retried
//                  until the copy is over (the write stalls meanwhile).
//   get, scan      permission after a read barrier on the name shard → the
//                  tablet is read here when this node holds it (after a read
//                  barrier on it), else on a node that does ("tablet_read").
//                  A scan walks the tablets in key order; each answer names
//                  the tablet's range, so a stale map is noticed and re-read.
//                  A scan over several tablets is not one snapshot.
//   quota          as for stream partitions: a tablet may hold up to its
//                  grant; beyond, its write is refused and the router asks
//                  the name shard for more (TableGrantOp).
//   periodic       tablet leaders report bytes and rows to the name shard
//                  (the table's size and rows lag by about a second) and
//                  shrink unused grants; a tablet past the split size is
//                  split (table_split.cc).
//
// Thread safety: every method may be called from any request thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "tessera/internal/state.pb.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::ns {
struct TableTablets;
}

namespace tessera::server {

class Backend;

class TableRouter {
 public:
  explicit TableRouter(Backend& backend);
  ~TableRouter();
  TableRouter(const TableRouter&) = delete;
  TableRouter& operator=(const TableRouter&) = delete;

  // A tablet splits once it holds more than this (default 128 MiB).
  void set_split_bytes(uint64_t bytes) { split_bytes_ = bytes; }
  // Stops the splitter thread (a split in progress resumes on the tablet's
  // next leader, or here after a restart).
  void stop();

  // Paths are normalised by the caller.
  Result<tessera::v1::Stat> create_table(const internal::Principal& who, const std::string& path,
                                         uint32_t mode);
  // One RowBatchOp on one row: result.row / result.deleted as its answer.
  Result<internal::CommandResult> write(const internal::Principal& who, const std::string& path,
                                        const std::string& key,
                                        const std::vector<tessera::v1::RowOp>& ops);
  Result<tessera::v1::GetRowResponse> get(const internal::Principal& who,
                                          const tessera::v1::GetRowRequest& req);
  Result<tessera::v1::ScanResponse> scan(const internal::Principal& who,
                                         const tessera::v1::ScanRequest& req);

  // Reads a tablet shard this node holds, after a read barrier on it. The
  // "tablet_read" peer call.
  Result<internal::TabletReadReply> read_local(const internal::TabletRead& req);

  // Usage reports, grant shrinking and split checks for the tablets this
  // node leads (splits run on the splitter thread).
  void run_periodic();

  // Runs one split step sequence of a tablet this node leads to its end
  // (or until a step fails). Public for tests; the splitter calls it.
  Status split(uint64_t shard);

 private:
  Result<ns::TableTablets> open(const internal::Principal& who, const std::string& path, int want,
                                bool barrier);
  // A tablet read here or on a node holding it.
  Result<internal::TabletReadReply> read(const internal::TabletRead& req);
  // Initialises a tablet shard created here and grows it to the volume's
  // replication.
  Status bring_up(uint64_t shard, const internal::TabletInfo& info);
  // Asks the name shard for a grant covering `want` more bytes for the
  // tablet that refused, and raises the tablet's grant to it.
  Status grow_grant(const ns::TableTablets& t, size_t index, const internal::TabletInfo& refused,
                    uint64_t want);
  void report_usage(uint64_t shard, const internal::TabletInfo& info);
  // split(): the steps.
  Status start_split(uint64_t shard, internal::TabletInfo& info);
  Status copy_split(uint64_t shard, internal::TabletInfo& info);
  Status finish_split(uint64_t shard, internal::TabletInfo& info);
  void splitter_loop();

  Backend& b_;
  std::atomic<uint64_t> split_bytes_{128ull << 20};
  std::mutex mu_;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> reported_;  // shard → (bytes, rows) reported
  // The splitter: one split at a time, for tablets queued by run_periodic.
  std::condition_variable cv_;
  std::deque<uint64_t> split_queue_;
  std::set<uint64_t> split_queued_;
  bool stopping_ = false;
  std::thread splitter_;
};

}  // namespace tessera::server
