#include "namespace/volume_machine.h"

#include <optional>

#include "namespace/chunk_ops.h"
#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "namespace/ns_ops.h"
#include "namespace/partition_ops.h"
#include "namespace/stream_admin.h"
#include "namespace/stream_ops.h"
#include "namespace/table_map.h"
#include "namespace/table_ops.h"
#include "namespace/tablet_ops.h"
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
    case C::kReserveInode: return apply_reserve_inode(txn, cmd, result);
    case C::kRemove: return apply_remove(txn, cmd, result);
    case C::kUnmount: return apply_unmount(txn, cmd, result);
    case C::kRename: return apply_rename(txn, cmd, result);
    case C::kLink: return apply_link(txn, cmd, result);
    case C::kSetAttr: return apply_set_attr(txn, cmd, result);
    case C::kWrite: return apply_write(txn, cmd, result);
    case C::kRowBatch: return apply_row_batch(txn, cmd, result);
    case C::kCreateTopic: return apply_create_topic(txn, cmd, result);
    case C::kStreamUsage: return apply_stream_usage(txn, cmd, result);
    case C::kStreamGrant: return apply_stream_grant(txn, cmd, result);
    case C::kRemoveTopic: return apply_remove_topic(txn, cmd, result);
    case C::kAddPartitions: return apply_add_partitions(txn, cmd, result);
    case C::kSetRetention: return apply_set_retention(txn, cmd, result);
    case C::kTabletMap: return apply_tablet_map(txn, cmd, result);
    case C::kTableUsage: return apply_table_usage(txn, cmd, result);
    case C::kTableGrant: return apply_table_grant(txn, cmd, result);
    case C::kFilePurged: return apply_file_purged(txn, cmd, result);
    case C::kClearDoomed: return apply_clear_doomed(txn, cmd, result);
    default:
      return Status(Errc::invalid_argument,
                    "command " + std::to_string(cmd.op_case()) + " is not a volume command");
  }
}

// Whether this shard is a tablet shard (it holds a TabletInfo).
Result<bool> is_tablet_shard(const storage::StateReader& state) {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(tablet_info_key()));
  return raw.has_value();
}

// Commands that run without a volume record: a volume shard's first command,
// every partition shard, tablet shard and file data shard command. nullopt
// for the rest.
std::optional<Status> dispatch_unopened(storage::StateWriter& state, const internal::Command& cmd,
                                        internal::CommandResult& result) {
  using C = internal::Command;
  switch (cmd.op_case()) {
    case C::kInitVolume: return apply_init_volume(state, cmd, result);
    case C::kInitPartition: return apply_init_partition(state, cmd, result);
    case C::kProduce: return apply_partition_produce(state, cmd, result);
    case C::kCommitOffset: return apply_partition_commit(state, cmd, result);
    case C::kPartitionGrant: return apply_partition_grant(state, cmd, result);
    case C::kPartitionRetention: return apply_partition_retention(state, cmd, result);
    case C::kInitTablet: return apply_init_tablet(state, cmd, result);
    case C::kTabletGrant: return apply_tablet_grant(state, cmd, result);
    case C::kTabletSplit: return apply_tablet_split(state, cmd, result);
    case C::kTabletIngest: return apply_tablet_ingest(state, cmd, result);
    case C::kTabletTrim: return apply_tablet_trim(state, cmd, result);
    case C::kInitDataShard: return apply_init_data_shard(state, cmd, result);
    case C::kChunkWrite: return apply_chunk_write(state, cmd, result);
    case C::kChunkPurge: return apply_chunk_purge(state, cmd, result);
    // A tablet shard's rows; on a volume shard, the volume's table rows.
    case C::kRowBatch: {
      auto tablet = is_tablet_shard(state);
      if (!tablet.is_ok()) return tablet.status();
      if (!*tablet) return std::nullopt;
      return apply_tablet_row_batch(state, cmd, result);
    }
    // Volume shards hold no stream records (retention is PartitionRetentionOp
    // on each partition shard); RetentionOp stays a no-op so that logs
    // holding it still apply.
    case C::kRetention: return Status::ok();
    default: return std::nullopt;
  }
}

}  // namespace

void VolumeMachine::apply(LogIndex, const internal::Command& cmd, storage::StateWriter& state,
                          internal::CommandResult& result) {
  if (auto st = dispatch_unopened(state, cmd, result)) {
    if (!st->is_ok()) set_error(result, *st);
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
