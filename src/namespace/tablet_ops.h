#pragma once
// Tablet shards: a raft shard holding the rows of one key range [start_key,
// end_key) of one table — its TabletInfo and its rows (key → RowValue). Key
// layout: keys.h. The table itself (name, permissions, quota) lives in the
// volume's name shard.
//
// These commands are trusted: the server checked permissions (and, for a
// larger grant, the volume quota) on the name shard before proposing here,
// so nothing in this file checks a principal. Apply runs on the shard host's
// writer thread; the read functions run on request threads over snapshots.
// Messages name the tablet "PATH tablet START..END" (tablet_subject), rows
// "PATH: row KEY" with the path of the RowBatchOp.
//
// A split moves the keys >= split_key to a new tablet shard: TabletSplitOp
// freezes them here (writes are refused as unavailable, reads still see
// them); the copier reads them with tablet_rows_from and proposes them to
// the new tablet (initialised with [split_key, end_key)) as TabletIngestOps.
// Once they are all there, the first TabletTrimOp ends the range at
// split_key, so from then on reads and writes of keys >=
// split_key are out_of_range here — before the name shard's map sends them
// to the new tablet (TabletMapOp), so no reader is served a stale copy of a
// row written there. That trim and the next ones delete the moved rows in
// bounded rounds; the one that leaves none clears the split (split_key,
// split_shard), which the first trim never does, so the new shard stays
// recorded here until the map names it. A split's state:
//   none:      split_key empty
//   copying:   split_key set, end_key != split_key (keys >= split_key frozen;
//              TabletSplitOp with abort undoes it)
//   trimming:  split_key set, end_key == split_key (must finish)
// "failed_precondition" below is kFailedPrecondition (volume_store.h).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns {

// Rows deleted by one TabletTrimOp; the next one continues.
inline constexpr size_t kTabletTrimRowsMax = 100000;
// Rows in one TabletIngestOp, and returned by one tablet_rows_from.
inline constexpr size_t kTabletCopyRowsMax = 10000;

// Stores cmd.init_tablet().tablet() with zero rows and bytes, no split, and
// created_ms = cmd.now_ms. Initialising again with the same (volume_id,
// table_ino, start_key, end_key) is already_exists (the caller treats it as
// done); with another one, invalid_argument. result.tablet: the stored info.
Status apply_init_tablet(storage::StateWriter& state, const internal::Command& cmd,
                         internal::CommandResult& result);
// Applies cmd.row_batch() to one row of this tablet, with the semantics of
// the volume shard's rows (row_ops.h). Its key must be in [start_key,
// end_key) (else out_of_range) and below a split in progress (else
// unavailable: retry, on the new tablet once the split is done); both
// refusals carry result.tablet, which tells them from an outcome-unknown
// failure of the proposal. A batch
// that grows the bytes held beyond the grant is refused with
// quota_exceeded and result.tablet set: the caller asks the name shard for
// a larger grant and retries. result.row (or result.deleted) as for
// apply_row_batch; result.tablet: the info after.
Status apply_tablet_row_batch(storage::StateWriter& state, const internal::Command& cmd,
                              internal::CommandResult& result);
// TabletGrantOp: grows the grant (never lowers it), or with shrink lowers
// it, never below the bytes held. result.tablet: the info after.
Status apply_tablet_grant(storage::StateWriter& state, const internal::Command& cmd,
                          internal::CommandResult& result);
// TabletSplitOp: starts moving keys >= split_key to shard split_shard.
// split_key must be in (start_key, end_key); a split already in progress
// makes any other split invalid_argument and the same one ok (a retry).
// With abort: a split still copying whose split_key (and split_shard, when
// non-zero) is the op's is undone — its keys are writable again; ok when
// there is no split (a retry), failed_precondition when the split ended
// already (trimming, or over with end_key == the op's split_key: it must
// finish), invalid_argument for another split. result.tablet: the info after.
Status apply_tablet_split(storage::StateWriter& state, const internal::Command& cmd,
                          internal::CommandResult& result);
// TabletIngestOp: stores copied rows as they are (versions included), in
// strictly increasing key order, every key writable here, at most
// kTabletCopyRowsMax. A key already held is overwritten and counted once,
// so ingesting the same rows again changes nothing. Moved bytes are not new
// usage: the grant is not checked. result.tablet: the info after.
Status apply_tablet_ingest(storage::StateWriter& state, const internal::Command& cmd,
                           internal::CommandResult& result);
// TabletTrimOp: ends the split in progress (its split_key must be the
// op's, else invalid_argument): end_key becomes split_key and at most
// rows_max rows >= split_key are deleted. The first trim keeps split_key and
// split_shard set; a later one clears them when no row >= split_key is left
// after it, otherwise result.tablet.split_key is still set and the caller
// proposes another trim. A trim of a split already over (split_key empty,
// end_key == the op's split_key) is ok and changes nothing. result.tablet:
// the info after.
Status apply_tablet_trim(storage::StateWriter& state, const internal::Command& cmd,
                         internal::CommandResult& result, size_t rows_max = kTabletTrimRowsMax);

// ok when `key` may be written to this tablet: in [start_key, end_key)
// (else out_of_range; a trimming split's keys are past end_key already) and
// below a split still copying (else unavailable).
Status check_tablet_writable(const internal::TabletInfo& info, std::string_view key);

// This shard's TabletInfo; not_found when it was never initialised.
Result<internal::TabletInfo> tablet_info(const storage::StateReader& state);
// "PATH tablet START..END" (START or END empty for an open end), for messages.
std::string tablet_subject(const internal::TabletInfo& info);

// The row at `key` (nullopt when there is none); out_of_range for a key
// outside [start_key, end_key) (so for the keys of a trimming split).
Result<std::optional<internal::RowValue>> tablet_get(const storage::StateReader& state,
                                                     std::string_view key);
// A scan with the semantics of scan_rows (table_ops.h), over this tablet's
// range: a page that reaches end_key has no next_page_token. A page token
// of the tablet before this one is valid here (it is the last key seen).
Result<tessera::v1::ScanResponse> tablet_scan(const storage::StateReader& state,
                                              const tessera::v1::ScanRequest& req);
// The rows from `from_key` on, in key order, while their key + document
// bytes stay within max_bytes (0 = 1 MiB), at least one (none when no row
// is left), at most kTabletCopyRowsMax: what the split copier ingests into
// the new tablet.
Result<std::vector<internal::TabletRow>> tablet_rows_from(const storage::StateReader& state,
                                                          std::string_view from_key,
                                                          size_t max_bytes);
// Where to split this tablet: the key of the first row, in key order, at
// which the bytes (key + document) of the rows up to and including it
// reach half of the tablet's bytes — but never the first row's key, so
// both halves hold rows. Only rows in [start_key, end_key) count.
// failed_precondition when fewer than 2 rows are held or a split is in
// progress.
Result<std::string> tablet_split_key(const storage::StateReader& state);

}  // namespace tessera::ns
