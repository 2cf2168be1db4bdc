#pragma once
// Raft: the consensus core as a pure, deterministic state machine.
//
// Raft owns no sockets, clocks, threads or files. The driver feeds it
// messages (step), logical clock ticks (tick) and client requests (propose,
// propose_conf_change, read_index, transfer_leadership), then drains its
// output with take_ready() and acknowledges with advance(). Identical inputs
// and seed produce identical outputs.
//
// Implements from the Raft paper (Ongaro & Ousterhout, 2014): leader election
// with randomized timeouts (§5.2), log replication and conflict truncation
// (§5.3), the election restriction (§5.4.1), committing only current-term
// entries by counting replicas (§5.4.2), log compaction and InstallSnapshot
// (§7), and a no-op entry on election (§8). From the Raft thesis (Ongaro,
// 2014): leader transfer (§3.10), single-server membership changes with
// learners (§4.1, §4.2.1), leader stickiness against disruptive servers
// (§4.2.3), ReadIndex (§6.4), pre-vote and check-quorum (§9.6).
//
// Driver contract for one Ready, in order:
//   1. persist, atomically if possible:
//      - `snapshot` if set: install the snapshot data the driver received for
//        it (the snapshot message it delivered to step()), drop its whole
//        persisted log and record the meta;
//      - `entries`: first delete every persisted entry with index >=
//        entries.front().index, then write them;
//      - `hard_state` if set;
//   2. send `messages` (only after step 1 is durable). A message of type
//      snapshot is not sent as is: the driver streams its current applied
//      state instead and delivers to the peer a snapshot message whose meta is
//      snapshot_meta_at(its applied index); then it calls report_snapshot().
//      While a stream to a peer is running it drops further snapshot messages
//      to that peer;
//   3. apply `committed` to the state machine, in order (conf_change entries
//      are no-ops for the state machine: membership is tracked here);
//      answer `read_states` once the state machine applied `index`;
//   4. call advance().
// step/tick/propose/... may be called between take_ready and advance.
//
// Not thread-safe: one owner (the shard's loop) calls every method.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
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
  // Limits on one append message: entries and payload bytes (an append that
  // carries entries carries at least one, whatever its size).
  size_t max_entries_per_append = 64;
  size_t max_bytes_per_append = 1 << 20;
  // Appends with entries in flight to one peer; at the limit the leader sends
  // only heartbeats to it until replies arrive.
  size_t max_inflight_appends = 64;
  // Run a pre-vote round before bumping the term (thesis §9.6).
  bool pre_vote = true;
  // A leader steps down when it has not heard from a quorum of voters for
  // election_ticks; voters ignore vote requests while they have a live leader
  // (thesis §6.2, §4.2.3).
  bool check_quorum = true;
};

// What a node read back from durable storage when (re)started.
struct RestoredState {
  HardState hard_state;
  // The last installed or compacted snapshot, if any.
  std::optional<SnapshotMeta> snapshot;
  // Membership at the start of the log when there is no snapshot (the
  // bootstrap config, the same on every founding member; empty for a new
  // replica). Ignored when `snapshot` is set.
  ConfState conf;
  // The persisted log, from snapshot->index + 1 (or 1); conf_change entries
  // in it take effect.
  std::vector<Entry> entries;
  // Last index the state machine has already applied (>= snapshot->index).
  LogIndex applied;
};

// Answer to read_index(context): reads may be served once the state machine
// applied `index`. index == 0 means "not the leader, retry elsewhere".
struct ReadState {
  uint64_t context = 0;
  LogIndex index;

  bool operator==(const ReadState&) const = default;
};

// Output of one step of the state machine; see the driver contract above.
struct Ready {
  std::optional<HardState> hard_state;
  // A snapshot this follower accepted; `entries` (if any) follow it.
  std::optional<SnapshotMeta> snapshot;
  std::vector<Entry> entries;
  std::vector<Message> messages;
  // Entries to apply, in order (conf_change entries included).
  std::vector<Entry> committed;
  std::vector<ReadState> read_states;
};

enum class Role : uint8_t { follower, pre_candidate, candidate, leader };

class Raft {
 public:
  // `id` need not be a member: a new replica starts with an empty ConfState
  // and learns its membership from the leader's snapshot. `seed` drives the
  // randomized timeouts.
  Raft(NodeId id, Config config, uint64_t seed, RestoredState restored);

  // Advances the logical clock by one tick.
  void tick();
  // Handles one message addressed to this node.
  void step(const Message& m);

  // Appends `data` to the log if this node is the leader; returns its index.
  // Errc::unavailable when not the leader or while a leader transfer is in
  // progress. The entry may still be lost if leadership changes before it
  // commits.
  Result<LogIndex> propose(std::string data);
  // Appends a membership change (thesis §4.1); it takes effect on each node
  // as soon as it is in that node's log. Errc::unavailable as for propose;
  // Errc::resource_exhausted while another conf change is uncommitted or
  // before the leader committed an entry of its term; Errc::invalid_argument
  // when apply_conf_change refuses it.
  Result<LogIndex> propose_conf_change(ConfChange cc);
  // Thesis §3.10: stops accepting proposals, brings `to` up to date and sends
  // it timeout_now; gives up after an election timeout. Ignored unless this
  // node leads and `to` is another voter.
  void transfer_leadership(NodeId to);
  // ReadIndex (thesis §6.4): the leader answers {context, commit index} in
  // Ready.read_states once a quorum confirmed its leadership after it
  // committed an entry of its term; a non-leader answers {context, 0} at
  // once. A leader that steps down answers its pending reads with index 0.
  void read_index(uint64_t context);
  // The driver's state machine durably applied `index` (<= applied_index()):
  // drops in-memory entries up to `index` and remembers its SnapshotMeta.
  void compact(LogIndex index);
  // Meta (term, membership in effect) of any index in
  // [log().snapshot_index(), log().last_index()]; nullopt otherwise.
  std::optional<SnapshotMeta> snapshot_meta_at(LogIndex index) const;
  // The driver finished (ok) or failed streaming a snapshot to `peer`.
  void report_snapshot(NodeId peer, bool ok);

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
  // Last index handed to the driver to apply (or installed by snapshot).
  LogIndex applied_index() const { return applied_; }
  const RaftLog& log() const { return log_; }
  // Membership in effect: the latest conf entry in the log, committed or not
  // (thesis §4.1), else the snapshot's / bootstrap membership.
  const ConfState& conf() const { return conf_; }
  // This node knows it was removed: its latest config names members but not
  // itself, and that config is committed.
  bool removed() const;
  // True while a leader transfer is in progress (leader only).
  NodeId transferee() const { return transferee_; }

  struct PeerProgress {
    LogIndex match;
    LogIndex next;
    bool snapshot_pending = false;
    bool recently_active = false;

    bool operator==(const PeerProgress&) const = default;
  };
  // Leader only (empty otherwise): every peer it replicates to (the members,
  // and removed ones until their removal commits) and itself while a member.
  std::map<NodeId, PeerProgress> progress() const;

 private:
  // Per-peer replication state on the leader (thesis §3.5 with flow control;
  // the shape of etcd raft's Progress).
  struct Progress {
    enum class State : uint8_t {
      probe,      // `next` is a guess: one append at a time
      replicate,  // optimistic pipelining, up to max_inflight_appends
      snapshot,   // waiting for a snapshot to land; no appends
    };
    State state = State::probe;
    LogIndex match;               // highest index known replicated on the peer
    LogIndex next;                // next index to send
    bool probe_sent = false;      // probe: an append is out, wait for a reply
    std::deque<LogIndex> inflight;  // replicate: last index of each append out
    LogIndex pending_snapshot;    // snapshot: index the peer must reach
    uint32_t snapshot_elapsed = 0;
    uint32_t ticks_since_heard = 0;
    uint64_t read_acked = 0;      // highest ReadIndex round the peer echoed
  };

  struct PendingRead {
    uint64_t context;
    LogIndex index;
    uint64_t round;
  };

  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate(bool transfer);
  void request_votes(MessageType type, Term term, uint64_t context);
  void become_leader();
  void campaign();
  void reset_election_timer();
  void tick_leader();

  void handle_vote_request(const Message& m);
  void handle_vote_reply(const Message& m);
  void handle_append(const Message& m);
  void handle_append_reply(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_timeout_now(const Message& m);
  void follow(NodeId leader);

  void send(Message m);
  // Sends what flow control allows to `peer`: entries, a snapshot request,
  // or (when `heartbeat`) at least an empty append. Returns true if an
  // append with entries was sent.
  bool send_append(NodeId peer, bool heartbeat);
  void send_heartbeats();
  void broadcast_entries();
  void maybe_commit();
  void after_commit_advanced();
  LogIndex append_own(EntryType type, std::string data);

  // Membership bookkeeping.
  void recompute_conf();
  void on_log_changed(LogIndex first_changed);
  void sync_progress();
  ConfState conf_at(LogIndex index) const;
  bool conf_change_pending() const;
  bool is_voter(NodeId node) const;
  bool is_member(NodeId node) const;
  size_t quorum() const { return conf_.voters.size() / 2 + 1; }
  bool may_campaign() const;
  bool quorum_active() const;

  // ReadIndex bookkeeping.
  bool committed_in_term() const { return log_.term_at(commit_) == term_; }
  void start_read(uint64_t context);
  void release_reads();
  void fail_reads();

  void abort_transfer();
  uint64_t next_random();

  const NodeId id_;
  const Config config_;
  uint64_t rng_state_;

  Role role_ = Role::follower;
  Term term_;
  NodeId vote_;
  NodeId leader_;
  RaftLog log_;
  LogIndex commit_;
  LogIndex applied_;  // last index handed out in `committed` or installed

  // Membership: the config at log_.snapshot_index(), then the config after
  // each conf_change entry in the in-memory log (index ascending).
  ConfState base_conf_;
  std::vector<std::pair<LogIndex, ConfState>> conf_changes_;
  ConfState conf_;

  uint32_t election_elapsed_ = 0;
  uint32_t randomized_election_ticks_ = 0;
  uint32_t heartbeat_elapsed_ = 0;

  std::map<NodeId, bool> votes_;         // pre_candidate/candidate: granted?
  std::map<NodeId, Progress> progress_;  // leader only: peers (see sync_progress)

  NodeId transferee_;  // leader: target of a leader transfer in progress
  uint32_t transfer_elapsed_ = 0;

  uint64_t read_round_ = 0;
  std::deque<PendingRead> pending_reads_;       // leader: awaiting a quorum
  std::vector<uint64_t> reads_before_commit_;   // leader: awaiting committed_in_term
  std::vector<ReadState> read_states_;

  std::vector<Message> outbox_;
  std::optional<SnapshotMeta> unsent_snapshot_;  // accepted, not yet in a Ready
  HardState persisted_hard_state_;
  bool ready_outstanding_ = false;
  std::optional<HardState> ready_hard_state_;
  LogIndex ready_applied_;
};

}  // namespace tessera::raft
