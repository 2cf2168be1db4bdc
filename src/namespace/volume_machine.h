#pragma once
// VolumeMachine: the state machine of a volume shard — its namespace (inodes,
// directory entries, permissions) and its objects' data (file chunks, table
// rows, stream records). Dispatches each Command to the handler of its kind;
// every handler runs the one permission check (namespace/permissions.h).
//
// Today one shard holds a whole volume; the key layout (namespace/keys.h)
// keeps names and data apart so data can move to data shards later.

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
