#pragma once
// History: what the simulated clients invoked and what they were told.
//
// An op is recorded at invocation with its virtual invoke time. It ends as
// ok (a reply was received: complete_us and result are set), failed (a
// definite failure: the command was never applied, e.g. "not the leader"),
// or unknown (timed out or its node crashed: it may or may not have been
// applied, at any time after invocation). The checkers read this.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tessera::sim {

enum class OpKind : uint8_t { read, write, cas, transfer, bank_read, append };
enum class Outcome : uint8_t { pending, ok, failed, unknown };

inline constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

struct Op {
  uint64_t id = 0;
  int client = 0;
  OpKind kind = OpKind::read;
  std::string key;     // register key or stream name
  int64_t arg1 = 0;    // write/cas: new value (cas: expected in arg2)
  int64_t arg2 = 0;
  std::string data;    // the proposed command, or the query for reads
  uint64_t invoke_us = 0;
  uint64_t complete_us = kNever;
  Outcome outcome = Outcome::pending;
  std::string result;
};

struct History {
  std::vector<Op> ops;  // ops[i].id == i + 1
  Op& at(uint64_t id) { return ops.at(id - 1); }
};

}  // namespace tessera::sim
