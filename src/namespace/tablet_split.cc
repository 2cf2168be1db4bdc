// Splits of tablet shards (tablet_ops.h): tablet_split_key picks the key,
// TabletSplitOp freezes the keys from it on (or with abort unfreezes them),
// tablet_rows_from reads them for the copier, TabletIngestOp stores them in
// the new tablet, TabletTrimOp ends the old one's range at the split key
// and deletes them there.

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "namespace/keys.h"
#include "namespace/row_ops.h"
#include "namespace/tablet_ops.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::RowValue;
using internal::TabletInfo;
using internal::TabletRow;

namespace {

constexpr size_t kCopyBytesDefault = 1u << 20;  // tablet_rows_from with max_bytes == 0

// A split whose first trim ended the range at split_key: its moved rows
// are being deleted here.
bool split_ended(const TabletInfo& info) {
  return !info.split_key().empty() && info.end_key() == info.split_key();
}

std::string split_shown(const TabletInfo& info) {
  return "a split at " + shown_key(info.split_key()) + " to shard " +
         std::to_string(info.split_shard());
}

// Count, order, key and document limits of an ingest, before it writes.
Status check_ingest(const TabletInfo& info, const internal::TabletIngestOp& op) {
  const std::string subject = tablet_subject(info);
  if (op.rows_size() == 0) return Status(Errc::invalid_argument, subject + ": ingest without rows");
  if (static_cast<size_t>(op.rows_size()) > kTabletCopyRowsMax) {
    return Status(Errc::too_large, subject + ": " + std::to_string(op.rows_size()) +
                                       " rows in one ingest, at most " +
                                       std::to_string(kTabletCopyRowsMax));
  }
  for (int i = 0; i < op.rows_size(); ++i) {
    const TabletRow& row = op.rows(i);
    TESSERA_TRY(check_row_key(subject, row.key()));
    TESSERA_TRY(check_tablet_writable(info, row.key()));
    if (i > 0 && row.key() <= op.rows(i - 1).key()) {
      return Status(Errc::invalid_argument,
                    subject + ": ingest rows out of key order at " + shown_key(row.key()));
    }
    if (row.value().document().size() > kDocumentBytesMax) {
      return Status(Errc::too_large, row_subject(info.subject(), row.key()) + ": document of " +
                                         std::to_string(row.value().document().size()) +
                                         " bytes, more than " + std::to_string(kDocumentBytesMax));
    }
  }
  return Status::ok();
}

// TabletSplitOp with abort (apply_tablet_split).
Status abort_split(storage::StateWriter& state, const internal::TabletSplitOp& op,
                   TabletInfo& info, CommandResult& result) {
  const std::string subject = tablet_subject(info);
  const std::string asked = "abort of a split at " + shown_key(op.split_key());
  if (info.split_key().empty()) {
    if (op.split_key().empty() || info.end_key() != op.split_key()) return Status::ok();  // a retry
    return Status(kFailedPrecondition, subject + ": " + asked + ": that split is over");
  }
  if (info.split_key() != op.split_key() ||
      (op.split_shard() != 0 && op.split_shard() != info.split_shard())) {
    return Status(Errc::invalid_argument, subject + ": " + asked + " does not match " +
                                              split_shown(info));
  }
  if (split_ended(info)) {
    return Status(kFailedPrecondition, subject + ": " + asked + ": " + split_shown(info) +
                                           " ended the range already and must finish");
  }
  info.clear_split_key();
  info.set_split_shard(0);
  state.put(tablet_info_key(), info.SerializeAsString());
  *result.mutable_tablet() = info;
  return Status::ok();
}

// Calls fn(key, row) for the rows with keys in [from, to) (to empty: up to
// the last), in key order, while it returns true.
Status for_each_row(const storage::StateReader& state, const TabletInfo& info,
                    std::string_view from, std::string_view to,
                    const std::function<bool(std::string_view, RowValue&&)>& fn) {
  const std::string end =
      to.empty() ? prefix_successor(tablet_rows_prefix()) : tablet_row_key(to);
  const size_t skip = tablet_rows_prefix().size();
  return scan_parsed<RowValue>(
      state, tablet_row_key(from), end,
      [&](std::string_view k) { return row_subject(info.subject(), k.substr(skip)); },
      [&](std::string_view k, RowValue&& row) { return fn(k.substr(skip), std::move(row)); });
}

}  // namespace

Status apply_tablet_split(storage::StateWriter& state, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.tablet_split();
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  *result.mutable_tablet() = info;
  if (op.abort()) return abort_split(state, op, info, result);
  const std::string subject = tablet_subject(info);
  if (!info.split_key().empty()) {
    if (info.split_key() == op.split_key() && info.split_shard() == op.split_shard()) {
      return Status::ok();
    }
    return Status(Errc::invalid_argument, subject + ": " + split_shown(info) + " is in progress");
  }
  if (op.split_shard() == 0) {
    return Status(Errc::invalid_argument, subject + ": split without a shard to move keys to");
  }
  TESSERA_TRY(check_row_key(subject, op.split_key()));
  if (op.split_key() <= info.start_key() ||
      (!info.end_key().empty() && op.split_key() >= info.end_key())) {
    return Status(Errc::invalid_argument, subject + ": split key " + shown_key(op.split_key()) +
                                              " is not inside the tablet");
  }
  info.set_split_key(op.split_key());
  info.set_split_shard(op.split_shard());
  state.put(tablet_info_key(), info.SerializeAsString());
  *result.mutable_tablet() = info;
  return Status::ok();
}

Status apply_tablet_ingest(storage::StateWriter& state, const Command& cmd,
                           CommandResult& result) {
  const auto& op = cmd.tablet_ingest();
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  TESSERA_TRY(check_ingest(info, op));
  for (const TabletRow& row : op.rows()) {
    const std::string wk = tablet_row_key(row.key());
    const std::string subject = row_subject(info.subject(), row.key());
    TESSERA_ASSIGN_OR_RETURN(auto stored, load_record<RowValue>(state, wk, subject));
    RowChange change;
    change.existed = stored.has_value();
    change.exists = true;
    change.row = row.value();
    change.old_bytes = stored ? row_bytes(row.key(), *stored) : 0;
    change.new_bytes = row_bytes(row.key(), row.value());
    info.set_bytes(change.bytes_after(info.bytes()));
    info.set_rows(change.rows_after(info.rows()));
    store_row(state, wk, change);
  }
  state.put(tablet_info_key(), info.SerializeAsString());
  *result.mutable_tablet() = info;
  return Status::ok();
}

Status apply_tablet_trim(storage::StateWriter& state, const Command& cmd, CommandResult& result,
                         size_t rows_max) {
  TESSERA_ASSERT(rows_max > 0);
  const std::string& split_key = cmd.tablet_trim().split_key();
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  *result.mutable_tablet() = info;
  if (info.split_key().empty() && !split_key.empty() && info.end_key() == split_key) {
    return Status::ok();  // a retry of the trim that ended the split
  }
  if (info.split_key().empty() || info.split_key() != split_key) {
    return Status(Errc::invalid_argument,
                  tablet_subject(info) + ": trim at " + shown_key(split_key) + " does not match " +
                      (info.split_key().empty() ? "a split in progress" : split_shown(info)));
  }
  const bool first = !split_ended(info);
  std::vector<std::string> doomed;
  uint64_t bytes = 0;
  bool more = false;
  TESSERA_TRY(for_each_row(state, info, split_key, "", [&](std::string_view key, RowValue&& row) {
    if (doomed.size() >= rows_max) {
      more = true;
      return false;
    }
    bytes += row_bytes(key, row);
    doomed.push_back(tablet_row_key(key));
    return true;
  }));
  for (const auto& k : doomed) state.del(k);
  info.set_rows(info.rows() - std::min<uint64_t>(info.rows(), doomed.size()));
  info.set_bytes(info.bytes() - std::min(info.bytes(), bytes));
  info.set_end_key(split_key);
  // The first trim keeps the split even when it deleted every moved row: the
  // split's shard stays recorded until the name shard's map names it.
  if (!first && !more) {
    info.clear_split_key();
    info.set_split_shard(0);
  }
  state.put(tablet_info_key(), info.SerializeAsString());
  *result.mutable_tablet() = info;
  return Status::ok();
}

Result<std::vector<TabletRow>> tablet_rows_from(const storage::StateReader& state,
                                                std::string_view from_key, size_t max_bytes) {
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  const size_t budget = max_bytes == 0 ? kCopyBytesDefault : max_bytes;
  std::vector<TabletRow> rows;
  size_t used = 0;
  TESSERA_TRY(for_each_row(state, info, from_key, "", [&](std::string_view key, RowValue&& value) {
    if (rows.size() >= kTabletCopyRowsMax) return false;
    const size_t size = row_bytes(key, value);
    if (!rows.empty() && used + size > budget) return false;
    used += size;
    TabletRow& row = rows.emplace_back();
    row.set_key(std::string(key));
    *row.mutable_value() = std::move(value);
    return true;
  }));
  return rows;
}

Result<std::string> tablet_split_key(const storage::StateReader& state) {
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  const std::string subject = tablet_subject(info);
  if (!info.split_key().empty()) {
    return Status(kFailedPrecondition, subject + ": " + split_shown(info) + " is in progress");
  }
  uint64_t rows = 0;
  uint64_t bytes = 0;  // of the rows up to and including `key`
  std::string key;
  TESSERA_TRY(for_each_row(state, info, info.start_key(), info.end_key(),
                           [&](std::string_view k, RowValue&& row) {
                             ++rows;
                             bytes += row_bytes(k, row);
                             if (rows == 1) return true;  // the lower half keeps the first row
                             key = std::string(k);
                             return bytes * 2 < info.bytes();
                           }));
  if (rows < 2) {
    return Status(kFailedPrecondition, subject + ": holds " + std::to_string(rows) +
                                           (rows == 1 ? " row" : " rows") +
                                           ", a split needs at least 2");
  }
  return key;
}

}  // namespace tessera::ns
