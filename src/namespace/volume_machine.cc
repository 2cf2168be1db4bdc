#include "namespace/volume_machine.h"

#include "namespace/file_ops.h"
#include "namespace/ns_ops.h"
#include "namespace/stream_ops.h"
#include "namespace/table_ops.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns {

void set_error(internal::CommandResult& result, const Status& st) {
  TESSERA_ASSERT(!st.is_ok());
  result.set_errc(static_cast<uint32_t>(st.code()));
  result.set_message(st.message());
}

namespace {

Status dispatch(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result) {
  using C = internal::Command;
  switch (cmd.op_case()) {
    case C::kCreate: return apply_create(txn, cmd, result);
    case C::kRemove: return apply_remove(txn, cmd, result);
    case C::kUnmount: return apply_unmount(txn, cmd, result);
    case C::kRename: return apply_rename(txn, cmd, result);
    case C::kLink: return apply_link(txn, cmd, result);
    case C::kSetAttr: return apply_set_attr(txn, cmd, result);
    case C::kWrite: return apply_write(txn, cmd, result);
    case C::kRowBatch: return apply_row_batch(txn, cmd, result);
    case C::kCreateTopic: return apply_create_topic(txn, cmd, result);
    case C::kProduce: return apply_produce(txn, cmd, result);
    case C::kCommitOffset: return apply_commit_offset(txn, cmd, result);
    case C::kRetention: return apply_retention(txn, cmd, result);
    default:
      return Status(Errc::invalid_argument,
                    "command " + std::to_string(cmd.op_case()) + " is not a volume command");
  }
}

}  // namespace

void VolumeMachine::apply(LogIndex, const internal::Command& cmd, storage::StateWriter& state,
                          internal::CommandResult& result) {
  if (cmd.op_case() == internal::Command::kInitVolume) {
    Status st = apply_init_volume(state, cmd, result);
    if (!st.is_ok()) set_error(result, st);
    return;
  }
  auto txn = VolumeTxn::open(state);
  if (!txn.is_ok()) {
    set_error(result, txn.status());
    return;
  }
  Status st = dispatch(*txn, cmd, result);
  if (!st.is_ok()) {
    set_error(result, st);
    return;
  }
  txn->save();
}

}  // namespace tessera::ns
