#pragma once
// Table rows wherever a shard stores them (the volume shard's `R ino(8) key`,
// a tablet shard's `W key`): what a RowBatchOp does to one stored row, and a
// ScanRequest over the rows of one key range. Pure functions; the callers
// (table_ops, tablet_ops) resolve where the row lives, check permissions and
// quota, and account the bytes.
//
// A row's bytes are its key + document bytes; a missing row has none.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns {

inline constexpr size_t kRowKeyBytesMax = 4096;
inline constexpr size_t kDocumentBytesMax = 1u << 20;
// Rows in one scan page: req.limit, 0 meaning the default.
inline constexpr uint32_t kScanLimitDefault = 1000;
inline constexpr uint32_t kScanLimitMax = 10000;
// Keys + documents in one scan response (under gRPC's default 4 MiB
// message); a page holds at least one row.
inline constexpr size_t kScanBytesMax = 3u << 20;

// A scan's page token: the last key returned, hex-encoded.
std::string encode_page_token(std::string_view key);

// `key` with bytes outside printable ASCII (and '\') as \xNN, cut at 64
// bytes: how messages show a row key.
std::string shown_key(std::string_view key);
// "PATH: row KEY", the subject of a row's messages.
std::string row_subject(std::string_view path, std::string_view key);
// A row key is 1..kRowKeyBytesMax bytes; invalid_argument naming `path`.
Status check_row_key(std::string_view path, std::string_view key);

// The bytes of a stored row.
inline uint64_t row_bytes(std::string_view key, const internal::RowValue& row) {
  return key.size() + row.document().size();
}

// What a batch did to one row, computed in memory.
struct RowChange {
  bool existed = false;     // the row was stored before the batch
  bool exists = false;      // and is after it
  internal::RowValue row;   // after the batch, when it exists
  uint64_t old_bytes = 0;   // the row's bytes before
  uint64_t new_bytes = 0;   // and after

  // Created and deleted within the batch: nothing to store or account.
  bool none() const { return !existed && !exists; }
  int64_t delta() const {
    return static_cast<int64_t>(new_bytes) - static_cast<int64_t>(old_bytes);
  }
  // The bytes and rows held by the row's table or tablet after the change,
  // from what it held before.
  uint64_t bytes_after(uint64_t bytes) const {
    return bytes >= old_bytes ? bytes - old_bytes + new_bytes : new_bytes;
  }
  uint64_t rows_after(uint64_t rows) const {
    if (existed == exists) return rows;
    return exists ? rows + 1 : (rows > 0 ? rows - 1 : 0);
  }
};

// The steps of one RowBatchOp, checked before they touch the row: count
// (1..1000), each step's shape, documents and update `set`s parsed as JSON
// objects within kDocumentBytesMax and 128 levels of nesting. Refers to the
// batch, which must outlive it.
class RowSteps {
 public:
  // invalid_argument or too_large naming batch.path().
  static Result<RowSteps> check(const internal::RowBatchOp& batch);
  RowSteps(RowSteps&&) noexcept;
  RowSteps& operator=(RowSteps&&) noexcept;
  ~RowSteps();

  // Applies the steps in order to `stored` (nullopt: no such row): put,
  // if-absent, if-version, update (set, then remove; create), delete. The
  // version counts on across a delete within the batch. Any refusal
  // (already_exists, version_mismatch, not_found, too_large for an updated
  // document) names `subject` and leaves nothing applied.
  Result<RowChange> apply(std::optional<internal::RowValue> stored,
                          std::string_view subject) const;

 private:
  struct Sets;  // each step's parsed update `set` (none for other steps)
  RowSteps(const internal::RowBatchOp& batch, std::unique_ptr<Sets> sets);

  const internal::RowBatchOp* batch_;
  std::unique_ptr<Sets> sets_;
};

// Stores the row after `change` at `state_key`, or deletes it.
void store_row(storage::StateWriter& state, std::string_view state_key, const RowChange& change);
// result.row: the row after the batch; or result.deleted when it ended deleted.
void report_row(std::string_view key, const RowChange& change, internal::CommandResult& result);

// Keys [start, end) of a table held by one shard; an empty end = no bound.
struct KeyRange {
  std::string_view start;
  std::string_view end;
};

// The rows stored as `prefix` + key → RowValue whose keys are in `range` and
// match req's prefix, start (inclusive), end (exclusive) and page token, in
// key order: at most req.limit rows (0 = 1000, at most 10000) and 3 MiB of
// keys + documents, at least one row. next_page_token (the last key, hex) is
// set when more rows follow in the range. Messages name `path`.
Result<tessera::v1::ScanResponse> scan_stored_rows(const storage::StateReader& state,
                                                   std::string_view prefix, KeyRange range,
                                                   const tessera::v1::ScanRequest& req,
                                                   std::string_view path);

}  // namespace tessera::ns
