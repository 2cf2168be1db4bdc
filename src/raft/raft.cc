#include "raft/raft.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>

#include "base/assert.h"

namespace tessera::raft {

namespace {

bool contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}

}  // namespace

Raft::Raft(NodeId id, Config config, uint64_t seed, RestoredState restored)
    : id_(id),
      config_(config),
      rng_state_(seed),
      term_(restored.hard_state.term),
      vote_(restored.hard_state.vote),
      log_(restored.snapshot ? restored.snapshot->index : LogIndex(0),
           restored.snapshot ? restored.snapshot->term : Term(0), std::move(restored.entries)),
      commit_(std::max(restored.hard_state.commit, log_.snapshot_index())),
      applied_(restored.applied),
      base_conf_(restored.snapshot ? restored.snapshot->conf : restored.conf),
      persisted_hard_state_(restored.hard_state) {
  TESSERA_ASSERT(id_ != kNoNode);
  TESSERA_ASSERT(config_.election_ticks > config_.heartbeat_ticks);
  TESSERA_ASSERT(config_.heartbeat_ticks >= 1);
  TESSERA_ASSERT(config_.max_entries_per_append >= 1);
  TESSERA_ASSERT(config_.max_inflight_appends >= 1);
  TESSERA_ASSERT(commit_ <= log_.last_index());
  TESSERA_ASSERT(applied_ >= log_.snapshot_index());
  TESSERA_ASSERT(applied_ <= commit_);
  on_log_changed(log_.first_index());
  reset_election_timer();
}

// ---------------------------------------------------------------------------
// Membership (thesis §4.1): the config in effect is the latest conf_change
// entry in the log, whether or not it is committed; truncating the entry
// reverts it.

bool Raft::is_voter(NodeId node) const { return contains(conf_.voters, node); }

bool Raft::is_member(NodeId node) const {
  return contains(conf_.voters, node) || contains(conf_.learners, node);
}

void Raft::recompute_conf() {
  conf_ = conf_changes_.empty() ? base_conf_ : conf_changes_.back().second;
}

// Entries from `first_changed` on were written (appended or replaced):
// re-derive the conf changes they carry.
void Raft::on_log_changed(LogIndex first_changed) {
  while (!conf_changes_.empty() && conf_changes_.back().first >= first_changed) {
    conf_changes_.pop_back();
  }
  ConfState conf = conf_changes_.empty() ? base_conf_ : conf_changes_.back().second;
  for (uint64_t i = std::max(first_changed, log_.first_index()).value;
       i <= log_.last_index().value; ++i) {
    const Entry& e = log_.at(LogIndex(i));
    if (e.type != EntryType::conf_change) continue;
    // A change that does not decode or apply is a no-op on every node alike
    // (the config at an index is a function of the log prefix); the leader
    // validates before appending, so this is defensive.
    Result<ConfChange> cc = decode_conf_change(e.data);
    if (!cc.is_ok()) continue;
    Result<ConfState> next = apply_conf_change(conf, *cc);
    if (!next.is_ok()) continue;
    conf = std::move(*next);
    conf_changes_.emplace_back(e.index, conf);
  }
  recompute_conf();
  if (role_ == Role::leader) sync_progress();
}

ConfState Raft::conf_at(LogIndex index) const {
  TESSERA_ASSERT(index >= log_.snapshot_index());
  const ConfState* conf = &base_conf_;
  for (const auto& [at, cs] : conf_changes_) {
    if (at > index) break;
    conf = &cs;
  }
  return *conf;
}

bool Raft::removed() const {
  return (!conf_.voters.empty() || !conf_.learners.empty()) && !is_member(id_) && !conf_change_pending();
}

bool Raft::conf_change_pending() const {
  return !conf_changes_.empty() && conf_changes_.back().first > commit_;
}

// A voter of its latest config campaigns; so does a node whose own removal
// is not committed yet. Without the latter, a leader that appended its own
// removal and then lost leadership before it committed would deadlock a
// two-voter group: it no longer campaigns (not a voter in its log), and the
// other voter cannot win (its log lacks the removal, so it is behind). Votes
// are still counted against the latest config, which overlaps the committed
// one (single-server changes), and the node's own vote counts only if it is
// a voter there.
bool Raft::may_campaign() const {
  if (is_voter(id_)) return true;
  return conf_change_pending() && contains(conf_at(std::max(commit_, log_.snapshot_index())).voters, id_);
}

// Leader: one Progress per peer to replicate to: every member of the config
// in effect, plus the members of the last committed config until their
// removal commits, so a removed node receives the entry that removes it and
// stops campaigning (thesis §4.2.3). Only conf_ counts for quorums. New
// peers start probing from the end of the log.
void Raft::sync_progress() {
  ConfState committed = conf_at(std::max(commit_, log_.snapshot_index()));
  auto replicate_to = [&](NodeId node) {
    return is_member(node) || contains(committed.voters, node) ||
           contains(committed.learners, node);
  };
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (replicate_to(it->first)) {
      ++it;
      continue;
    }
    // Its removal committed: one last append — the entries it lacks up to
    // the commit index, and the commit index — tells it so, so it stops
    // treating the removal as pending.
    const Progress& p = it->second;
    if (role_ == Role::leader && p.match >= log_.snapshot_index() && p.match <= log_.last_index()) {
      std::vector<Entry> entries;
      if (p.match < commit_) {
        entries = log_.slice(LogIndex(p.match.value + 1), config_.max_entries_per_append,
                             config_.max_bytes_per_append);
        while (!entries.empty() && entries.back().index > commit_) entries.pop_back();
      }
      send(Message{.type = MessageType::append, .to = it->first, .term = term_,
                   .log_term = log_.term_at(p.match), .index = p.match,
                   .entries = std::move(entries), .commit = commit_});
    }
    it = progress_.erase(it);
  }
  for (const ConfState* conf : {&conf_, &committed}) {
    for (const auto* ids : {&conf->voters, &conf->learners}) {
      for (NodeId peer : *ids) {
        if (peer == id_ || progress_.contains(peer)) continue;
        Progress p;
        p.next = LogIndex(log_.last_index().value + 1);
        progress_[peer] = p;
      }
    }
  }
  if (transferee_ != kNoNode && !is_voter(transferee_)) abort_transfer();
}

// ---------------------------------------------------------------------------
// Timers and role changes.

// splitmix64: small, seedable and deterministic across platforms.
uint64_t Raft::next_random() {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void Raft::reset_election_timer() {
  election_elapsed_ = 0;
  randomized_election_ticks_ =
      config_.election_ticks + static_cast<uint32_t>(next_random() % config_.election_ticks);
}

void Raft::tick() {
  if (role_ == Role::leader) {
    tick_leader();
    return;
  }
  // Saturates for a non-voter, which never campaigns; the count still tells
  // whether its leader is alive (stickiness).
  if (election_elapsed_ < randomized_election_ticks_) ++election_elapsed_;
  if (election_elapsed_ >= randomized_election_ticks_ && may_campaign()) campaign();
}

void Raft::tick_leader() {
  ++heartbeat_elapsed_;
  constexpr uint32_t kSaturate = std::numeric_limits<uint32_t>::max();
  for (auto& [peer, p] : progress_) {
    if (p.ticks_since_heard < kSaturate) ++p.ticks_since_heard;
    // §7: a snapshot that did not land within an election timeout is
    // retried (the driver may have lost it).
    if (p.state == Progress::State::snapshot && ++p.snapshot_elapsed >= config_.election_ticks) {
      p.state = Progress::State::probe;
      p.next = LogIndex(p.match.value + 1);
      p.probe_sent = false;
    }
  }
  // Check quorum (thesis §6.2): step down when a quorum of voters has not
  // been heard from for an election timeout, so a partitioned leader stops
  // serving reads and accepting writes it cannot commit.
  if (config_.check_quorum && !quorum_active()) {
    become_follower(term_, kNoNode);
    return;
  }
  if (transferee_ != kNoNode && ++transfer_elapsed_ >= config_.election_ticks) abort_transfer();
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    for (auto& [peer, p] : progress_) p.probe_sent = false;  // re-probe each heartbeat
    send_heartbeats();
  }
}

bool Raft::quorum_active() const {
  size_t active = 0;
  for (NodeId voter : conf_.voters) {
    if (voter == id_) {
      ++active;
    } else if (progress_.at(voter).ticks_since_heard < config_.election_ticks) {
      ++active;
    }
  }
  return active >= quorum();
}

void Raft::campaign() {
  if (!may_campaign()) return;
  if (config_.pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate(false);
  }
}

void Raft::become_follower(Term term, NodeId leader) {
  if (term > term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  if (role_ == Role::leader) fail_reads();
  role_ = Role::follower;
  leader_ = leader;
  votes_.clear();
  progress_.clear();
  transferee_ = kNoNode;
  reset_election_timer();
}

// Thesis §9.6: ask for votes at term_ + 1 without changing any state, so a
// node that cannot win (partitioned, stale log) never disrupts the cluster.
void Raft::become_pre_candidate() {
  role_ = Role::pre_candidate;
  leader_ = kNoNode;
  request_votes(MessageType::pre_vote, Term(term_.value + 1), 0);
}

// §5.2: increment the term, vote for self, request votes from all others.
// `transfer`: campaigning on timeout_now (thesis §3.10), which voters honour
// despite having a live leader.
void Raft::become_candidate(bool transfer) {
  role_ = Role::candidate;
  term_ = Term(term_.value + 1);
  vote_ = id_;
  leader_ = kNoNode;
  request_votes(MessageType::vote, term_, transfer ? kContextTransfer : 0);
}

// Votes for itself and asks every other voter with `type` at `term`; wins at
// once when it is the only voter.
void Raft::request_votes(MessageType type, Term term, uint64_t context) {
  votes_.clear();
  progress_.clear();
  reset_election_timer();
  if (is_voter(id_)) votes_[id_] = true;
  if (votes_.size() >= quorum()) {
    if (role_ == Role::pre_candidate) {
      become_candidate(false);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId peer : conf_.voters) {
    if (peer == id_) continue;
    send(Message{.type = type, .to = peer, .term = term, .log_term = log_.last_term(),
                 .index = log_.last_index(), .context = context});
  }
}

// §5.3 / §8: reset every follower's progress and append a no-op so entries of
// earlier terms become committable (§5.4.2).
void Raft::become_leader() {
  TESSERA_ASSERT(role_ == Role::candidate);
  role_ = Role::leader;
  leader_ = id_;
  votes_.clear();
  heartbeat_elapsed_ = 0;
  election_elapsed_ = 0;
  transferee_ = kNoNode;
  progress_.clear();
  sync_progress();
  append_own(EntryType::normal, {});
}

void Raft::abort_transfer() {
  transferee_ = kNoNode;
  transfer_elapsed_ = 0;
}

// ---------------------------------------------------------------------------
// Messages.

void Raft::step(const Message& m) {
  TESSERA_ASSERT(m.to == id_);
  if (m.from == id_ || m.from == kNoNode) return;
  // No membership filter: a new replica does not know the config yet, and a
  // leader must hear from learners and not-yet-appended members. Removed
  // servers are kept from disrupting by pre-vote and stickiness instead.

  if (m.term > term_) {
    // Leader stickiness (thesis §4.2.3): while this node hears from a live
    // leader it ignores real vote requests of higher terms, unless the
    // candidate campaigns on the leader's timeout_now (§3.10).
    bool leader_alive = leader_ != kNoNode && (role_ == Role::leader ||
                                               election_elapsed_ < config_.election_ticks);
    if (m.type == MessageType::vote && config_.check_quorum && leader_alive &&
        m.context != kContextTransfer) {
      return;
    }
    // Term rules (§5.1), adjusted for pre-vote (thesis §9.6): a pre_vote
    // carries a proposed term and a granted pre_vote_reply echoes it, so
    // neither moves this node's term.
    bool pre_vote_traffic = m.type == MessageType::pre_vote ||
                            (m.type == MessageType::pre_vote_reply && !m.reject);
    if (!pre_vote_traffic) {
      bool from_leader = m.type == MessageType::append || m.type == MessageType::snapshot ||
                         m.type == MessageType::timeout_now;
      become_follower(m.term, from_leader ? m.from : kNoNode);
    }
  } else if (m.term < term_) {
    if (m.type == MessageType::append || m.type == MessageType::snapshot) {
      // A stale leader learns the newer term from the rejection.
      send(Message{.type = MessageType::append_reply, .to = m.from, .term = term_,
                   .index = m.index, .reject = true, .reject_hint = log_.last_index()});
    } else if (m.type == MessageType::pre_vote) {
      send(Message{.type = MessageType::pre_vote_reply, .to = m.from, .term = term_,
                   .reject = true});
    }
    return;
  }

  if (role_ == Role::leader && m.term == term_) {
    if (auto it = progress_.find(m.from); it != progress_.end()) it->second.ticks_since_heard = 0;
  }

  switch (m.type) {
    case MessageType::pre_vote:
    case MessageType::vote:
      handle_vote_request(m);
      break;
    case MessageType::pre_vote_reply:
    case MessageType::vote_reply:
      handle_vote_reply(m);
      break;
    case MessageType::append:
      handle_append(m);
      break;
    case MessageType::append_reply:
      handle_append_reply(m);
      break;
    case MessageType::snapshot:
      handle_snapshot(m);
      break;
    case MessageType::timeout_now:
      handle_timeout_now(m);
      break;
  }
}

// §5.2, §5.4.1; pre_vote per thesis §9.6 (also refused while this node has
// heard from a live leader within the base election timeout).
void Raft::handle_vote_request(const Message& m) {
  bool up_to_date = log_.is_up_to_date(m.log_term, m.index);
  bool grant = false;
  MessageType reply_type = MessageType::vote_reply;
  if (m.type == MessageType::pre_vote) {
    reply_type = MessageType::pre_vote_reply;
    bool leader_alive = leader_ != kNoNode && (role_ == Role::leader ||
                                               election_elapsed_ < config_.election_ticks);
    grant = m.term > term_ && up_to_date && !leader_alive;
  } else {
    grant = (vote_ == kNoNode || vote_ == m.from) && up_to_date;
    if (grant) {
      vote_ = m.from;
      reset_election_timer();
    }
  }
  // A granted pre_vote_reply carries the proposed term so the pre-candidate
  // can match it; every other reply carries this node's term.
  send(Message{.type = reply_type, .to = m.from,
               .term = (grant && m.type == MessageType::pre_vote) ? m.term : term_,
               .reject = !grant});
}

void Raft::handle_vote_reply(const Message& m) {
  if (m.type == MessageType::pre_vote_reply) {
    if (role_ != Role::pre_candidate || m.term != Term(term_.value + 1)) return;
  } else {
    if (role_ != Role::candidate || m.term != term_) return;
  }
  if (!is_voter(m.from)) return;  // only voters of this node's config count
  votes_[m.from] = !m.reject;
  size_t granted = 0;
  for (const auto& [node, ok] : votes_) granted += ok ? 1 : 0;
  size_t rejected = votes_.size() - granted;
  if (granted >= quorum()) {
    if (role_ == Role::pre_candidate) {
      become_candidate(false);
    } else {
      become_leader();
    }
  } else if (rejected >= quorum()) {
    become_follower(term_, kNoNode);
  }
}

// Accepts `leader` as the leader of the current term.
void Raft::follow(NodeId leader) {
  if (role_ != Role::follower) {
    become_follower(term_, leader);
  } else {
    leader_ = leader;
    election_elapsed_ = 0;
  }
}

// §5.3, AppendEntries receiver steps 1-5 (step 1, the stale term, is in step()).
void Raft::handle_append(const Message& m) {
  if (role_ == Role::leader) return;  // impossible in a correct cluster (§5.2)
  follow(m.from);
  Message reply{.type = MessageType::append_reply, .to = m.from, .term = term_,
                .context = m.context};
  LogIndex prev = m.index;
  Term prev_term = m.log_term;
  const std::vector<Entry>* entries = &m.entries;
  std::vector<Entry> tail;
  if (prev < commit_) {
    // Everything up to commit_ already matches any leader of this term
    // (Leader Completeness): keep only the entries after it.
    if (m.entries.empty() || m.entries.back().index <= commit_) {
      reply.index = commit_;
      send(std::move(reply));
      return;
    }
    for (const Entry& e : m.entries) {
      if (e.index > commit_) tail.push_back(e);
    }
    prev = commit_;
    prev_term = log_.term_at(commit_);
    entries = &tail;
  }
  if (!log_.matches(prev, prev_term)) {
    // Faster back-off: point the leader at our last entry whose term is at
    // most the leader's prev term; the leader skips the conflicting term.
    LogIndex hint = log_.last_index_with_term_at_most(std::min(prev, log_.last_index()),
                                                      prev_term);
    reply.index = prev;
    reply.reject = true;
    reply.reject_hint = hint;
    reply.log_term = log_.term_at(hint);
    send(std::move(reply));
    return;
  }
  LogIndex first_written = log_.merge(*entries, commit_);
  if (first_written != LogIndex(0)) on_log_changed(first_written);
  LogIndex last_new(prev.value + entries->size());
  LogIndex new_commit = std::min(m.commit, last_new);
  if (new_commit > commit_) commit_ = new_commit;
  reply.index = last_new;
  send(std::move(reply));
}

// §7 InstallSnapshot receiver, with the data already delivered by the
// driver: a snapshot past the commit index replaces the whole log.
void Raft::handle_snapshot(const Message& m) {
  if (role_ == Role::leader || !m.snapshot) return;
  follow(m.from);
  const SnapshotMeta& meta = *m.snapshot;
  Message reply{.type = MessageType::append_reply, .to = m.from, .term = term_};
  if (meta.index <= commit_) {
    reply.index = commit_;  // stale: we already have (and may have applied) it
    send(std::move(reply));
    return;
  }
  log_.restore(meta.index, meta.term);
  commit_ = meta.index;
  applied_ = meta.index;
  base_conf_ = meta.conf;
  conf_changes_.clear();
  recompute_conf();
  unsent_snapshot_ = meta;
  reply.index = meta.index;
  send(std::move(reply));
}

// Thesis §3.10: the leader asks this node to campaign at once.
void Raft::handle_timeout_now(const Message& /*m*/) {
  if (role_ == Role::leader || !may_campaign()) return;
  become_candidate(true);
}

void Raft::handle_append_reply(const Message& m) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;  // not (or no longer) a member
  Progress& p = it->second;

  // ReadIndex (thesis §6.4): any reply of this term to an append carrying
  // round r confirms this node was still leader when it sent round r.
  if (m.context > p.read_acked) {
    p.read_acked = m.context;
    release_reads();
  }

  if (m.reject) {
    if (m.index <= p.match) return;  // stale rejection
    if (p.state == Progress::State::snapshot) return;
    if (p.state == Progress::State::probe && m.index.value + 1 != p.next.value) return;  // stale
    // Next probe: right after the follower's hint, or earlier when our term
    // at the hint differs (skips a whole conflicting term per round trip).
    LogIndex probe = m.reject_hint;
    if (m.reject_hint > log_.snapshot_index()) {
      probe = log_.last_index_with_term_at_most(m.reject_hint, m.log_term);
    }
    p.state = Progress::State::probe;
    p.inflight.clear();
    p.probe_sent = false;
    p.next = LogIndex(std::max(std::min(m.index.value, probe.value + 1), p.match.value + 1));
    send_append(m.from, false);
    return;
  }

  bool advanced = m.index > p.match;
  if (advanced) p.match = m.index;
  p.probe_sent = false;
  while (!p.inflight.empty() && p.inflight.front() <= m.index) p.inflight.pop_front();
  switch (p.state) {
    case Progress::State::probe:
      if (advanced || m.index.value + 1 == p.next.value) {
        p.state = Progress::State::replicate;
        p.inflight.clear();
        p.next = LogIndex(p.match.value + 1);
      }
      break;
    case Progress::State::snapshot:
      if (p.match >= p.pending_snapshot) {
        p.state = Progress::State::replicate;
        p.inflight.clear();
        p.next = LogIndex(p.match.value + 1);
      }
      break;
    case Progress::State::replicate:
      if (p.next <= p.match) p.next = LogIndex(p.match.value + 1);
      break;
  }
  if (advanced) {
    maybe_commit();
    // The commit may have stepped this leader down (its removal) or dropped
    // the peer (its removal): `p` is not valid any more.
    if (role_ != Role::leader || !progress_.contains(m.from)) return;
  }
  if (m.from == transferee_ && progress_.at(m.from).match == log_.last_index()) {
    send(Message{.type = MessageType::timeout_now, .to = m.from, .term = term_});
  }
  while (send_append(m.from, false)) {
  }
}

// §5.3, §5.4.2: the largest index stored on a quorum of voters commits, but
// only if it belongs to the current term. The leader counts itself only
// while it is a voter (thesis §4.2.2).
void Raft::maybe_commit() {
  if (role_ != Role::leader || conf_.voters.empty()) return;
  std::vector<uint64_t> matches;
  for (NodeId voter : conf_.voters) {
    matches.push_back(voter == id_ ? log_.last_index().value : progress_.at(voter).match.value);
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  LogIndex candidate(matches[quorum() - 1]);
  if (candidate > commit_ && log_.term_at(candidate) == term_) {
    commit_ = candidate;
    after_commit_advanced();
  }
}

void Raft::after_commit_advanced() {
  sync_progress();  // drops peers whose removal just committed
  if (!reads_before_commit_.empty() && committed_in_term()) {
    std::vector<uint64_t> contexts = std::move(reads_before_commit_);
    reads_before_commit_.clear();
    for (uint64_t context : contexts) start_read(context);
  }
  // Thesis §4.2.2: a leader removed from the config steps down once the
  // removal committed; a last heartbeat spreads the commit index.
  if (!is_voter(id_) && !conf_change_pending()) {
    send_heartbeats();
    become_follower(term_, kNoNode);
  }
}

bool Raft::send_append(NodeId peer, bool heartbeat) {
  Progress& p = progress_.at(peer);
  if (p.state == Progress::State::snapshot) {
    // Keeps the follower's election timer and ReadIndex rounds going. Index
    // 0 always matches; a follower answers with its commit index.
    if (heartbeat) {
      send(Message{.type = MessageType::append, .to = peer, .term = term_, .commit = commit_,
                   .context = read_round_});
    }
    return false;
  }
  LogIndex prev(p.next.value - 1);
  // §7: the entries the peer needs are compacted, or it is a new replica
  // that needs a membership older than the log (the bootstrap config).
  bool bootstrap_unknown = prev == LogIndex(0) && !contains(base_conf_.voters, peer) &&
                           !contains(base_conf_.learners, peer);
  if (prev < log_.snapshot_index() || bootstrap_unknown) {
    p.state = Progress::State::snapshot;
    p.pending_snapshot = std::max(log_.snapshot_index(), LogIndex(1));
    p.snapshot_elapsed = 0;
    p.inflight.clear();
    p.probe_sent = false;
    send(Message{.type = MessageType::snapshot, .to = peer, .term = term_,
                 .snapshot = snapshot_meta_at(log_.snapshot_index())});
    return false;
  }
  bool window_open = p.state == Progress::State::replicate
                         ? p.inflight.size() < config_.max_inflight_appends
                         : !p.probe_sent;
  std::vector<Entry> entries;
  if (window_open && p.next <= log_.last_index()) {
    entries = log_.slice(p.next, config_.max_entries_per_append, config_.max_bytes_per_append);
  }
  if (entries.empty() && !heartbeat) return false;
  Message m{.type = MessageType::append, .to = peer, .term = term_,
            .log_term = log_.term_at(prev), .index = prev, .commit = commit_,
            .context = read_round_};
  bool with_entries = !entries.empty();
  if (with_entries) {
    LogIndex last = entries.back().index;
    if (p.state == Progress::State::replicate) {
      // Optimistic pipelining: a lost message is repaired by the rejection
      // of a later append or heartbeat, which moves `next` back.
      p.next = LogIndex(last.value + 1);
      p.inflight.push_back(last);
    } else {
      p.probe_sent = true;
    }
  }
  m.entries = std::move(entries);
  send(std::move(m));
  return with_entries;
}

void Raft::send_heartbeats() {
  for (auto& [peer, p] : progress_) send_append(peer, true);
}

void Raft::broadcast_entries() {
  for (auto& [peer, p] : progress_) {
    while (send_append(peer, false)) {
    }
  }
}

LogIndex Raft::append_own(EntryType type, std::string data) {
  LogIndex index(log_.last_index().value + 1);
  log_.append(Entry{.term = term_, .index = index, .type = type, .data = std::move(data)});
  if (type == EntryType::conf_change) on_log_changed(index);
  maybe_commit();
  if (role_ == Role::leader) broadcast_entries();
  return index;
}

// ---------------------------------------------------------------------------
// Client requests.

Result<LogIndex> Raft::propose(std::string data) {
  if (role_ != Role::leader) return error(Errc::unavailable, "raft: not the leader");
  if (transferee_ != kNoNode) return error(Errc::unavailable, "raft: leader transfer in progress");
  return append_own(EntryType::normal, std::move(data));
}

Result<LogIndex> Raft::propose_conf_change(ConfChange cc) {
  if (role_ != Role::leader) return error(Errc::unavailable, "raft: not the leader");
  if (transferee_ != kNoNode) return error(Errc::unavailable, "raft: leader transfer in progress");
  if (conf_change_pending()) {
    return error(Errc::resource_exhausted, "raft: a membership change is pending");
  }
  // Single-server changes are only safe once the leader committed an entry
  // of its own term (the fix to thesis §4.1 posted on raft-dev, 2015).
  if (!committed_in_term()) {
    return error(Errc::resource_exhausted, "raft: leader has not committed in its term");
  }
  Result<ConfState> next = apply_conf_change(conf_, cc);
  if (!next.is_ok()) return next.status();
  return append_own(EntryType::conf_change, encode_conf_change(cc));
}

void Raft::transfer_leadership(NodeId to) {
  if (role_ != Role::leader || to == id_ || !is_voter(to) || transferee_ == to) return;
  transferee_ = to;
  transfer_elapsed_ = 0;
  if (progress_.at(to).match == log_.last_index()) {
    send(Message{.type = MessageType::timeout_now, .to = to, .term = term_});
  } else {
    while (send_append(to, false)) {
    }
  }
}

void Raft::read_index(uint64_t context) {
  if (role_ != Role::leader) {
    read_states_.push_back(ReadState{.context = context, .index = LogIndex(0)});
    return;
  }
  // Thesis §6.4 step 1: until an entry of its term commits, the leader's
  // commit index may lag the true one.
  if (!committed_in_term()) {
    reads_before_commit_.push_back(context);
    return;
  }
  start_read(context);
}

// Thesis §6.4 steps 2-3: record the commit index, then confirm leadership
// with a round of heartbeats carrying a fresh round number.
void Raft::start_read(uint64_t context) {
  pending_reads_.push_back(PendingRead{.context = context, .index = commit_, .round = ++read_round_});
  release_reads();
  if (!pending_reads_.empty()) send_heartbeats();
}

void Raft::release_reads() {
  while (!pending_reads_.empty()) {
    const PendingRead& r = pending_reads_.front();
    size_t acks = 0;
    for (NodeId voter : conf_.voters) {
      if (voter == id_ || progress_.at(voter).read_acked >= r.round) ++acks;
    }
    if (acks < quorum()) return;
    read_states_.push_back(ReadState{.context = r.context, .index = r.index});
    pending_reads_.pop_front();
  }
}

void Raft::fail_reads() {
  for (const PendingRead& r : pending_reads_) {
    read_states_.push_back(ReadState{.context = r.context, .index = LogIndex(0)});
  }
  for (uint64_t context : reads_before_commit_) {
    read_states_.push_back(ReadState{.context = context, .index = LogIndex(0)});
  }
  pending_reads_.clear();
  reads_before_commit_.clear();
}

// ---------------------------------------------------------------------------
// Snapshots (§7).

void Raft::compact(LogIndex index) {
  TESSERA_ASSERT_MSG(index <= applied_, "compacting past the applied index");
  if (index <= log_.snapshot_index()) return;
  base_conf_ = conf_at(index);
  while (!conf_changes_.empty() && conf_changes_.front().first <= index) {
    conf_changes_.erase(conf_changes_.begin());
  }
  log_.compact(index);
}

std::optional<SnapshotMeta> Raft::snapshot_meta_at(LogIndex index) const {
  if (index < log_.snapshot_index() || index > log_.last_index()) return std::nullopt;
  return SnapshotMeta{.index = index, .term = log_.term_at(index), .conf = conf_at(index)};
}

void Raft::report_snapshot(NodeId peer, bool ok) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(peer);
  if (it == progress_.end() || it->second.state != Progress::State::snapshot) return;
  Progress& p = it->second;
  p.state = Progress::State::probe;
  p.inflight.clear();
  if (ok) {
    // The driver sent at least the snapshot we asked for; probe after it.
    p.next = LogIndex(std::max(p.match.value, p.pending_snapshot.value) + 1);
    p.probe_sent = false;
    send_append(peer, false);
  } else {
    // Retry on the next heartbeat.
    p.next = LogIndex(p.match.value + 1);
    p.probe_sent = true;
  }
}

// ---------------------------------------------------------------------------
// Output.

std::map<NodeId, Raft::PeerProgress> Raft::progress() const {
  std::map<NodeId, PeerProgress> out;
  if (role_ != Role::leader) return out;
  for (const auto& [peer, p] : progress_) {
    out[peer] = PeerProgress{.match = p.match, .next = p.next,
                             .snapshot_pending = p.state == Progress::State::snapshot,
                             .recently_active = p.ticks_since_heard < config_.election_ticks};
  }
  if (is_member(id_)) {
    out[id_] = PeerProgress{.match = log_.last_index(),
                            .next = LogIndex(log_.last_index().value + 1),
                            .snapshot_pending = false, .recently_active = true};
  }
  return out;
}

void Raft::send(Message m) {
  m.from = id_;
  outbox_.push_back(std::move(m));
}

bool Raft::has_ready() const {
  if (ready_outstanding_) return false;
  HardState hs{term_, vote_, commit_};
  return !outbox_.empty() || hs != persisted_hard_state_ || unsent_snapshot_.has_value() ||
         log_.unstable_from() <= log_.last_index() || commit_ > applied_ ||
         !read_states_.empty();
}

Ready Raft::take_ready() {
  TESSERA_ASSERT(!ready_outstanding_);
  Ready ready;
  HardState hs{term_, vote_, commit_};
  if (hs != persisted_hard_state_) ready.hard_state = hs;
  ready.snapshot = std::move(unsent_snapshot_);
  unsent_snapshot_.reset();
  ready.entries = log_.unstable();
  log_.mark_handed_out(log_.last_index());
  ready.messages = std::move(outbox_);
  outbox_.clear();
  ready.committed = log_.range(LogIndex(applied_.value + 1), commit_);
  ready.read_states = std::move(read_states_);
  read_states_.clear();
  ready_hard_state_ = ready.hard_state;
  ready_applied_ = commit_;
  ready_outstanding_ = true;
  return ready;
}

void Raft::advance() {
  TESSERA_ASSERT(ready_outstanding_);
  ready_outstanding_ = false;
  if (ready_hard_state_) persisted_hard_state_ = *ready_hard_state_;
  ready_hard_state_.reset();
  log_.mark_persisted();
  applied_ = std::max(applied_, ready_applied_);
}

}  // namespace tessera::raft
