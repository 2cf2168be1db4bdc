#pragma once
// VolumeMachine: the state machine of the shards of a volume. It serves
//  - the volume (name) shard: the namespace (inodes, directory entries,
//    permissions), file chunks, the rows of tables made before tablets, per
//    stream its topics with the partition shard of each partition
//    (stream_ops.h), and per table its tablet map (table_map.h); every
//    handler of a user's command runs the one permission check
//    (namespace/permissions.h);
//  - partition shards: one partition of one topic each, its records and
//    consumer offsets (partition_ops.h);
//  - tablet shards: one key range of one table each, its rows
//    (tablet_ops.h);
//  - file data shards: chunks of the files of a volume that has them
//    (chunk_ops.h).
// Partition, tablet and file data shards have no volume record, and their
// commands are trusted: the server checked permissions on the name shard
// before proposing them.
// Dispatches each Command to the handler of its kind; the four kinds of
// shard use disjoint keys (namespace/keys.h). RowBatchOp is both a volume
// and a tablet command: it goes to the tablet when the shard holds a
// TabletInfo, to the volume's table rows (table_ops.h) otherwise.

#include "shard/state_machine.h"

namespace tessera::ns {

class VolumeMachine : public shard::StateMachine {
 public:
  void apply(LogIndex index, const internal::Command& cmd, storage::StateWriter& state,
             internal::CommandResult& result) override;
};

// Sets result's errc/message from a non-ok status.
void set_error(internal::CommandResult& result, const Status& st);

}  // namespace tessera::ns
