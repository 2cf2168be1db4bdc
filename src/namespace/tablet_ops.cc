#include "namespace/tablet_ops.h"

#include <string>
#include <utility>

#include "namespace/data_shard.h"
#include "namespace/keys.h"
#include "namespace/row_ops.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::RowValue;
using internal::TabletInfo;

namespace {

// "PATH tablet START..END (volume V, table inode I)": a tablet's identity.
std::string identity(const TabletInfo& t) {
  return tablet_subject(t) + " (volume " + std::to_string(t.volume_id()) + ", table inode " +
         std::to_string(t.table_ino()) + ")";
}

bool same_tablet(const TabletInfo& a, const TabletInfo& b) {
  return a.volume_id() == b.volume_id() && a.table_ino() == b.table_ino() &&
         a.start_key() == b.start_key() && a.end_key() == b.end_key();
}

bool holds(const TabletInfo& info, std::string_view key) {
  return key >= info.start_key() && (info.end_key().empty() || key < info.end_key());
}

Status not_held(const TabletInfo& info, std::string_view key) {
  return Status(Errc::out_of_range,
                tablet_subject(info) + ": key " + shown_key(key) + " is not in this tablet");
}

// A change growing the bytes held by `delta` must stay within the grant;
// beyond it, quota_exceeded with result.tablet set.
Status check_growth(const TabletInfo& info, int64_t delta, CommandResult& result) {
  if (delta <= 0) return Status::ok();
  Status st = check_grant(tablet_subject(info), info.bytes(), info.grant(),
                          static_cast<uint64_t>(delta));
  if (!st) *result.mutable_tablet() = info;
  return st;
}

}  // namespace

std::string tablet_subject(const TabletInfo& info) {
  return info.subject() + " tablet " + shown_key(info.start_key()) + ".." +
         shown_key(info.end_key());
}

Status check_tablet_writable(const TabletInfo& info, std::string_view key) {
  if (!holds(info, key)) return not_held(info, key);
  if (!info.split_key().empty() && key >= info.split_key()) {
    return Status(Errc::unavailable, tablet_subject(info) + ": key " + shown_key(key) +
                                         " is moving to another tablet; retry");
  }
  return Status::ok();
}

Result<TabletInfo> tablet_info(const storage::StateReader& state) {
  TESSERA_ASSIGN_OR_RETURN(auto info,
                           load_record<TabletInfo>(state, tablet_info_key(), "tablet record"));
  if (!info) return Status(Errc::not_found, "tablet shard not initialised");
  return *std::move(info);
}

Status apply_init_tablet(storage::StateWriter& state, const Command& cmd, CommandResult& result) {
  TabletInfo want = cmd.init_tablet().tablet();
  if (want.table_ino() == 0 || want.subject().empty()) {
    return Status(Errc::invalid_argument, "tablet shard: InitTabletOp without a table or subject");
  }
  if (!want.end_key().empty() && want.start_key() >= want.end_key()) {
    return Status(Errc::invalid_argument, "tablet shard: InitTabletOp with an empty range " +
                                              tablet_subject(want));
  }
  TESSERA_ASSIGN_OR_RETURN(auto have,
                           load_record<TabletInfo>(state, tablet_info_key(), "tablet record"));
  if (have) {
    *result.mutable_tablet() = *have;
    return init_conflict("tablet", same_tablet(*have, want), identity(*have), identity(want));
  }
  want.set_rows(0);
  want.set_bytes(0);
  want.set_created_ms(cmd.now_ms());
  want.clear_split_key();
  want.set_split_shard(0);
  state.put(tablet_info_key(), want.SerializeAsString());
  *result.mutable_tablet() = want;
  return Status::ok();
}

Status apply_tablet_row_batch(storage::StateWriter& state, const Command& cmd,
                              CommandResult& result) {
  const internal::RowBatchOp& batch = cmd.row_batch();
  const std::string& path = batch.path();
  const std::string& key = batch.key();
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  TESSERA_TRY(check_row_key(path, key));
  if (Status st = check_tablet_writable(info, key); !st) {
    // The router tells this refusal (nothing applied: the key moved, or is
    // moving) from an outcome-unknown failure by the info.
    *result.mutable_tablet() = info;
    return st;
  }
  TESSERA_ASSIGN_OR_RETURN(auto steps, RowSteps::check(batch));
  const std::string subject = row_subject(path, key);
  const std::string wk = tablet_row_key(key);
  TESSERA_ASSIGN_OR_RETURN(auto stored, load_record<RowValue>(state, wk, subject));
  TESSERA_ASSIGN_OR_RETURN(const RowChange change, steps.apply(std::move(stored), subject));
  if (!change.none()) {
    TESSERA_TRY(check_growth(info, change.delta(), result));
    info.set_bytes(change.bytes_after(info.bytes()));
    info.set_rows(change.rows_after(info.rows()));
    state.put(tablet_info_key(), info.SerializeAsString());
    store_row(state, wk, change);
  }
  report_row(key, change, result);
  *result.mutable_tablet() = info;
  return Status::ok();
}

Status apply_tablet_grant(storage::StateWriter& state, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.tablet_grant();
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  info.set_grant(next_grant(info.grant(), info.bytes(), op.grant(), op.shrink()));
  state.put(tablet_info_key(), info.SerializeAsString());
  *result.mutable_tablet() = info;
  return Status::ok();
}

Result<std::optional<RowValue>> tablet_get(const storage::StateReader& state,
                                           std::string_view key) {
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  TESSERA_TRY(check_row_key(info.subject(), key));
  if (!holds(info, key)) return not_held(info, key);
  return load_record<RowValue>(state, tablet_row_key(key), row_subject(info.subject(), key));
}

Result<tessera::v1::ScanResponse> tablet_scan(const storage::StateReader& state,
                                              const tessera::v1::ScanRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto info, tablet_info(state));
  return scan_stored_rows(state, tablet_rows_prefix(), KeyRange{info.start_key(), info.end_key()},
                          req, req.path().empty() ? info.subject() : req.path());
}

}  // namespace tessera::ns
