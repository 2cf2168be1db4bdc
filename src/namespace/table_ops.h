#pragma once
// Tables: a table is an inode of kind TABLE; its rows are keys under
// R ino(8) key → RowValue{version, document}. A document is a JSON object.
// Row bytes (key + document) count toward the volume quota and the table's
// inode size; inode.rows counts rows.
//
// Writes arrive as one RowBatchOp per row (put, update, delete steps applied
// atomically to one row; row_ops.h); reads see a consistent snapshot.

#include "base/status.h"
#include "namespace/row_ops.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

// Applies cmd.row_batch(); result.row is the row after the batch, or
// result.deleted when the batch ended by deleting it.
Status apply_row_batch(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);

// Removes every row of `table` (used when the table is removed).
Status purge_table(VolumeTxn& txn, const internal::Inode& table);

Result<tessera::v1::GetRowResponse> get_row(const VolumeView& view, const internal::Principal& who,
                                            const tessera::v1::GetRowRequest& req);
Result<tessera::v1::ScanResponse> scan_rows(const VolumeView& view, const internal::Principal& who,
                                            const tessera::v1::ScanRequest& req);

}  // namespace tessera::ns
