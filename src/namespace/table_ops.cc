#include "namespace/table_ops.h"

#include <string>
#include <vector>

#include "base/coding.h"
#include "namespace/keys.h"
#include "namespace/permissions.h"

namespace tessera::ns {

using internal::RowValue;
using tessera::v1::ObjectKind;

namespace {

// Charges the volume for a row's change and updates the table's inode.
Status charge_row_change(VolumeTxn& txn, const internal::Command& cmd, internal::Inode& inode,
                         const RowChange& change) {
  TESSERA_TRY(txn.charge(UsageKind::tables, change.delta(), cmd.row_batch().path()));
  inode.set_size(change.bytes_after(inode.size()));
  inode.set_rows(change.rows_after(inode.rows()));
  inode.set_version(inode.version() + 1);
  inode.set_mtime_ms(cmd.now_ms());
  txn.put_inode(inode);
  return Status::ok();
}

}  // namespace

Status apply_row_batch(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  const internal::RowBatchOp& batch = cmd.row_batch();
  const std::string& path = batch.path();
  const std::string& key = batch.key();
  TESSERA_TRY(check_row_key(path, key));
  TESSERA_ASSIGN_OR_RETURN(auto steps, RowSteps::check(batch));
  TESSERA_ASSIGN_OR_RETURN(auto table, txn.resolve_kind(path, cmd.principal(), ObjectKind::KIND_TABLE,
                                                        static_cast<int>(Access::write)));
  const std::string subject = row_subject(path, key);
  const std::string rk = row_key(table.inode.id(), key);
  TESSERA_ASSIGN_OR_RETURN(auto stored, load_record<RowValue>(txn.state(), rk, subject));
  TESSERA_ASSIGN_OR_RETURN(const RowChange change, steps.apply(std::move(stored), subject));
  if (!change.none()) {
    TESSERA_TRY(charge_row_change(txn, cmd, table.inode, change));
    store_row(txn.writer(), rk, change);
  }
  report_row(key, change, result);
  return Status::ok();
}

Status purge_table(VolumeTxn& txn, const internal::Inode& table) {
  const std::string prefix = row_prefix(table.id());
  std::vector<std::string> keys;
  TESSERA_TRY(txn.state().scan(prefix, prefix_successor(prefix),
                               [&keys](std::string_view k, std::string_view) {
                                 keys.emplace_back(k);
                                 return true;
                               }));
  for (const auto& k : keys) txn.writer().del(k);
  return txn.charge(UsageKind::tables, -static_cast<int64_t>(table.size()),
                    "table " + std::to_string(table.id()));
}

Result<tessera::v1::GetRowResponse> get_row(const VolumeView& view, const internal::Principal& who,
                                            const tessera::v1::GetRowRequest& req) {
  TESSERA_TRY(check_row_key(req.path(), req.key()));
  TESSERA_ASSIGN_OR_RETURN(auto table, view.resolve_kind(req.path(), who, ObjectKind::KIND_TABLE,
                                                         static_cast<int>(Access::read)));
  const std::string subject = row_subject(req.path(), req.key());
  TESSERA_ASSIGN_OR_RETURN(auto stored,
                           load_record<RowValue>(view.state(), row_key(table.inode.id(), req.key()),
                                                 subject));
  if (!stored) return error(Errc::not_found, subject);
  tessera::v1::GetRowResponse resp;
  resp.mutable_row()->set_key(req.key());
  resp.mutable_row()->set_version(stored->version());
  resp.mutable_row()->set_document(std::move(*stored->mutable_document()));
  return resp;
}

Result<tessera::v1::ScanResponse> scan_rows(const VolumeView& view, const internal::Principal& who,
                                            const tessera::v1::ScanRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto table, view.resolve_kind(req.path(), who, ObjectKind::KIND_TABLE,
                                                         static_cast<int>(Access::read)));
  return scan_stored_rows(view.state(), row_prefix(table.inode.id()), KeyRange{}, req, req.path());
}

}  // namespace tessera::ns
