#pragma once
// Raft: the consensus core as a pure, deterministic state machine.
//
// Raft owns no sockets, clocks, threads or files. The driver feeds it
// messages (step), logical clock ticks (tick) and client proposals (propose),
// then drains its output with take_ready() and acknowledges with advance().
// Identical inputs and seed produce identical outputs.
//
// Implements from the Raft paper (Ongaro & Ousterhout, 2014): leader election
// with randomized timeouts (§5.2), log replication and conflict truncation
// (§5.3), the election restriction (§5.4.1), committing only current-term
// entries by counting replicas (§5.4.2), and a no-op entry on election (§8);
// from the Raft thesis: pre-vote (§9.6).
//
// Driver contract for one Ready, in order:
//   1. persist `hard_state` if set, and `entries` — first deleting every
//      persisted entry with index >= entries.front().index;
//   2. send `messages` (only after step 1 is durable);
//   3. apply `committed` to the state machine, in order;
//   4. call advance().
// step/tick/propose may be called between take_ready and advance.
//
// Not thread-safe: one owner (the shard's loop) calls every method.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "raft/raft_log.h"
#include "raft/types.h"

namespace tessera::raft {

struct Config {
  // Base election timeout in ticks; a follower's timeout is drawn uniformly
  // from [election_ticks, 2 * election_ticks).
  uint32_t election_ticks = 10;
  // A leader broadcasts an append (heartbeat) every heartbeat_ticks.
  uint32_t heartbeat_ticks = 1;
  // Limit on entries carried by one append message.
  size_t max_entries_per_append = 64;
  // Run a pre-vote round before bumping the term (thesis §9.6).
  bool pre_vote = true;
};

// What a node read back from durable storage when (re)started.
struct RestoredState {
  HardState hard_state;
  std::vector<Entry> entries;
  // Last index the state machine has already applied.
  LogIndex applied;
};

// Output of one step of the state machine; see the driver contract above.
struct Ready {
  std::optional<HardState> hard_state;
  std::vector<Entry> entries;
  std::vector<Message> messages;
  std::vector<Entry> committed;
};

enum class Role : uint8_t { follower, pre_candidate, candidate, leader };

class Raft {
 public:
  // `voters` must contain `id`; `seed` drives the randomized timeouts.
  Raft(NodeId id, std::vector<NodeId> voters, Config config, uint64_t seed,
       RestoredState restored);

  // Advances the logical clock by one tick.
  void tick();
  // Handles one message addressed to this node.
  void step(const Message& m);
  // Appends `data` to the log if this node is the leader; returns its index.
  // Errc::unavailable when not the leader. The entry may still be lost if
  // leadership changes before it commits.
  Result<LogIndex> propose(std::string data);

  bool has_ready() const;
  // Drains pending output. At most one Ready is outstanding at a time.
  Ready take_ready();
  // Acknowledges the outstanding Ready (persisted, sent and applied).
  void advance();

  NodeId id() const { return id_; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  LogIndex commit_index() const { return commit_; }
  const RaftLog& log() const { return log_; }

 private:
  struct Progress {
    LogIndex match;  // highest index known replicated on the peer
    LogIndex next;   // next index to send
  };

  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void request_votes(MessageType type, Term term);
  void become_leader();
  void campaign();
  void reset_election_timer();

  void handle_vote_request(const Message& m);
  void handle_vote_reply(const Message& m);
  void handle_append(const Message& m);
  void handle_append_reply(const Message& m);

  void send(Message m);
  void send_append(NodeId peer);
  void broadcast_append();
  void maybe_commit();
  size_t quorum() const { return voters_.size() / 2 + 1; }
  bool is_voter(NodeId node) const;
  uint64_t next_random();

  const NodeId id_;
  const std::vector<NodeId> voters_;
  const Config config_;
  uint64_t rng_state_;

  Role role_ = Role::follower;
  Term term_;
  NodeId vote_;
  NodeId leader_;
  RaftLog log_;
  LogIndex commit_;
  LogIndex applied_;  // last index handed out in `committed`

  uint32_t election_elapsed_ = 0;
  uint32_t randomized_election_ticks_ = 0;
  uint32_t heartbeat_elapsed_ = 0;

  std::map<NodeId, bool> votes_;         // pre_candidate/candidate: granted?
  std::map<NodeId, Progress> progress_;  // leader only

  std::vector<Message> outbox_;
  HardState persisted_hard_state_;
  bool ready_outstanding_ = false;
  std::optional<HardState> ready_hard_state_;
  LogIndex ready_applied_;
};

}  // namespace tessera::raft
