#pragma once
// Workload checkers. Each returns an empty string when the property holds,
// else a description of the violation.

#include <string>
#include <vector>

#include "sim/history.h"
#include "sim/state_machine.h"

namespace tessera::sim {

struct LinearizabilityStats {
  size_t keys = 0;
  size_t ops = 0;
  size_t inconclusive_keys = 0;  // search gave up (step limit)
};

// Registers: the ok and unknown read/write/cas ops on each key must have a
// linearization (Wing & Gong search with Lowe's memoization, as in
// Porcupine). Unknown writes may take effect at any point after invocation,
// or never; unknown reads are dropped.
std::string check_registers(const History& history, LinearizabilityStats* stats);

// Bank: every ok read-index read saw the invariant total and no negative
// balance; so does every final state.
std::string check_bank(const History& history, const std::vector<const KvStateMachine*>& finals);

// Streams: in the (converged) final state every acknowledged append is at
// its acknowledged offset and present exactly once, no payload appears
// twice, and nothing a client was told definitely failed (or never sent)
// is present.
std::string check_streams(const History& history, const KvStateMachine& final_state);

}  // namespace tessera::sim
