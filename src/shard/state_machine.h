#pragma once
// StateMachine: the deterministic part of a shard.
//
// apply() is called with committed log commands in log order, on the shard
// host's apply thread only. It must be deterministic: the same state and the
// same command produce the same writes and the same result on every replica —
// no clocks (the command carries now_ms), no randomness, no I/O besides
// `state`. A result with a non-zero errc has its writes rolled back by the host.

#include "base/ids.h"
#include "storage/state_view.h"

namespace tessera::internal {
class Command;
class CommandResult;
}  // namespace tessera::internal

namespace tessera::shard {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  virtual void apply(LogIndex index, const internal::Command& cmd, storage::StateWriter& state,
                     internal::CommandResult& result) = 0;
};

}  // namespace tessera::shard
