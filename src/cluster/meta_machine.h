#pragma once
// MetaMachine: the state machine of the meta shard — users, groups, access
// keys and the volume table (which volume is mounted where, on which shard).
// On one node it is one shard like any other; the replicated cluster runs it
// as the meta raft group.
//
// Only administrators create users and volumes; a user may create keys for
// itself. Secrets never reach the log: commands carry their SHA-256.

#include "shard/state_machine.h"

namespace tessera::cluster {

class MetaMachine : public shard::StateMachine {
 public:
  void apply(LogIndex index, const internal::Command& cmd, storage::StateWriter& state,
             internal::CommandResult& result) override;
};

}  // namespace tessera::cluster
