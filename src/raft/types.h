#pragma once
// Value types of the raft core: ids, log entries, wire messages, persisted
// state. Plain data, no behaviour; the transport encodes them (not here yet).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"

namespace tessera::raft {

struct NodeIdTag {};
struct TermTag {};

// A voter's id. NodeId{0} is reserved and means "none" (no vote, no leader).
using NodeId = StrongId<NodeIdTag>;
// A raft term (§5.1). Term{0} precedes every election.
using Term = StrongId<TermTag>;
using ::tessera::LogIndex;

inline constexpr NodeId kNoNode{0};

// One log entry. Indexes start at 1 and are contiguous; LogIndex{0} with
// Term{0} is the empty prefix every log matches. Empty `data` is allowed (a
// leader appends one no-op entry when elected, §8).
struct Entry {
  Term term;
  LogIndex index;
  std::string data;

  bool operator==(const Entry&) const = default;
};

enum class MessageType : uint8_t {
  pre_vote,        // thesis §9.6: "would you vote for me at `term`?"
  pre_vote_reply,
  vote,            // RequestVote (§5.2)
  vote_reply,
  append,          // AppendEntries, also the heartbeat (§5.3)
  append_reply,
};

std::string_view message_type_name(MessageType type);

// One message between two raft nodes. Field meaning by type:
//   pre_vote/vote:   term = term campaigned for; log_term/index = candidate's
//                    last log entry (§5.4.1).
//   *_vote_reply:    reject = vote not granted.
//   append:          log_term/index = entry preceding `entries` (prevLogTerm /
//                    prevLogIndex); commit = leader's commit index.
//   append_reply:    on success index = last index known to match the leader;
//                    on reject index = the prev index that did not match and
//                    reject_hint = the follower's best guess of where to retry.
struct Message {
  MessageType type = MessageType::append;
  NodeId from;
  NodeId to;
  Term term;
  Term log_term;
  LogIndex index;
  std::vector<Entry> entries;
  LogIndex commit;
  bool reject = false;
  LogIndex reject_hint;
};

// State that must be durable before any message of the same Ready is sent
// (Figure 2, "persistent state on all servers"; commit is persisted so a
// restart does not re-deliver applied entries needlessly).
struct HardState {
  Term term;
  NodeId vote;
  LogIndex commit;

  bool operator==(const HardState&) const = default;
};

}  // namespace tessera::raft
