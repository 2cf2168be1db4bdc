#pragma once
// Value types of the raft core: ids, log entries, membership, wire messages,
// persisted state. Plain data; codec.h encodes them for the wire and disk.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "base/status.h"

namespace tessera::raft {

struct NodeIdTag {};
struct TermTag {};

// A replica's id. NodeId{0} is reserved and means "none" (no vote, no
// leader). Ids are never reused: a removed replica's id is not added again.
using NodeId = StrongId<NodeIdTag>;
// A raft term (§5.1). Term{0} precedes every election.
using Term = StrongId<TermTag>;
using ::tessera::LogIndex;

inline constexpr NodeId kNoNode{0};

enum class EntryType : uint8_t {
  normal,       // a client command (or the leader's empty no-op, §8)
  conf_change,  // `data` is encode_conf_change(ConfChange)
};

// One log entry. Indexes start at 1 and are contiguous; LogIndex{0} with
// Term{0} is the empty prefix every log matches. Empty `data` is allowed (a
// leader appends one no-op entry when elected, §8).
struct Entry {
  Term term;
  LogIndex index;
  EntryType type = EntryType::normal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// Membership of a group. Both lists sorted ascending and disjoint. Voters
// elect and form quorums; learners only receive the log (thesis §4.2.1).
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool operator==(const ConfState&) const = default;
};

// A single-server membership change (thesis §4.1).
enum class ConfChangeType : uint8_t {
  add_learner,  // a new, non-voting member
  promote,      // learner -> voter
  remove,       // voter or learner -> not a member
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::add_learner;
  NodeId node;

  bool operator==(const ConfChange&) const = default;
};

std::string encode_conf_change(const ConfChange& cc);
// Errc::corruption on bytes encode_conf_change did not produce.
Result<ConfChange> decode_conf_change(std::string_view bytes);
// `conf` with `cc` applied. Errc::invalid_argument when it does not apply:
// adding an existing member, promoting a non-learner, removing a
// non-member, removing the last voter, or NodeId{0}.
Result<ConfState> apply_conf_change(const ConfState& conf, const ConfChange& cc);

// Describes a snapshot of the state machine: it holds the effect of every
// entry up to `index` (whose term is `term`), and `conf` is the membership in
// effect at `index`.
struct SnapshotMeta {
  LogIndex index;
  Term term;
  ConfState conf;

  bool operator==(const SnapshotMeta&) const = default;
};

enum class MessageType : uint8_t {
  pre_vote,        // thesis §9.6: "would you vote for me at `term`?"
  pre_vote_reply,
  vote,            // RequestVote (§5.2)
  vote_reply,
  append,          // AppendEntries, also the heartbeat (§5.3)
  append_reply,
  snapshot,        // InstallSnapshot (§7): the driver streams the data
  timeout_now,     // leader transfer (thesis §3.10): "campaign now"
};
inline constexpr uint8_t kMessageTypeMax = static_cast<uint8_t>(MessageType::timeout_now);

std::string_view message_type_name(MessageType type);

// `context` of a vote message sent by a candidate that campaigns because of
// timeout_now: voters grant it even while they have a live leader (thesis
// §3.10 / §4.2.3).
inline constexpr uint64_t kContextTransfer = 1;

// One message between two raft nodes. Field meaning by type:
//   pre_vote/vote:   term = term campaigned for; log_term/index = candidate's
//                    last log entry (§5.4.1); context = kContextTransfer when
//                    forced by timeout_now.
//   *_vote_reply:    reject = vote not granted.
//   append:          log_term/index = entry preceding `entries` (prevLogTerm /
//                    prevLogIndex); commit = leader's commit index;
//                    context = the leader's latest ReadIndex round (0: none).
//   append_reply:    on success index = last index known to match the leader;
//                    on reject index = the prev index that did not match,
//                    reject_hint = the follower's best guess of where to retry
//                    and log_term = the follower's term at reject_hint;
//                    context = the context of the append it answers.
//   snapshot:        snapshot = the snapshot to install (index, term, conf).
//   timeout_now:     no fields besides term.
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
  std::optional<SnapshotMeta> snapshot;
  uint64_t context = 0;

  bool operator==(const Message&) const = default;
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
