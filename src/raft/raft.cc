#include "raft/raft.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "base/assert.h"

namespace tessera::raft {

std::string_view message_type_name(MessageType type) {
  switch (type) {
    case MessageType::pre_vote: return "pre_vote";
    case MessageType::pre_vote_reply: return "pre_vote_reply";
    case MessageType::vote: return "vote";
    case MessageType::vote_reply: return "vote_reply";
    case MessageType::append: return "append";
    case MessageType::append_reply: return "append_reply";
  }
  return "unknown";
}

Raft::Raft(NodeId id, std::vector<NodeId> voters, Config config, uint64_t seed,
           RestoredState restored)
    : id_(id),
      voters_(std::move(voters)),
      config_(config),
      rng_state_(seed),
      term_(restored.hard_state.term),
      vote_(restored.hard_state.vote),
      log_(std::move(restored.entries)),
      commit_(restored.hard_state.commit),
      applied_(restored.applied),
      persisted_hard_state_(restored.hard_state) {
  TESSERA_ASSERT(id_ != kNoNode);
  TESSERA_ASSERT(is_voter(id_));
  TESSERA_ASSERT(config_.election_ticks > config_.heartbeat_ticks);
  TESSERA_ASSERT(config_.heartbeat_ticks >= 1);
  TESSERA_ASSERT(config_.max_entries_per_append >= 1);
  TESSERA_ASSERT(commit_ <= log_.last_index());
  TESSERA_ASSERT(applied_ <= commit_);
  reset_election_timer();
}

bool Raft::is_voter(NodeId node) const {
  return std::find(voters_.begin(), voters_.end(), node) != voters_.end();
}

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
    ++election_elapsed_;
    if (++heartbeat_elapsed_ >= config_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      broadcast_append();
    }
    return;
  }
  if (++election_elapsed_ >= randomized_election_ticks_) campaign();
}

void Raft::campaign() {
  if (config_.pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
}

void Raft::become_follower(Term term, NodeId leader) {
  if (term > term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  role_ = Role::follower;
  leader_ = leader;
  votes_.clear();
  progress_.clear();
  reset_election_timer();
}

// Thesis §9.6: ask for votes at term_ + 1 without changing any state, so a
// node that cannot win (partitioned, stale log) never disrupts the cluster.
void Raft::become_pre_candidate() {
  role_ = Role::pre_candidate;
  leader_ = kNoNode;
  request_votes(MessageType::pre_vote, Term(term_.value + 1));
}

// §5.2: increment the term, vote for self, request votes from all others.
void Raft::become_candidate() {
  role_ = Role::candidate;
  term_ = Term(term_.value + 1);
  vote_ = id_;
  leader_ = kNoNode;
  request_votes(MessageType::vote, term_);
}

// Votes for itself and asks every other voter with `type` at `term`; wins at
// once when it is the only voter.
void Raft::request_votes(MessageType type, Term term) {
  votes_.clear();
  progress_.clear();
  reset_election_timer();
  votes_[id_] = true;
  if (votes_.size() >= quorum()) {
    if (role_ == Role::pre_candidate) {
      become_candidate();
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId peer : voters_) {
    if (peer == id_) continue;
    send(Message{.type = type, .to = peer, .term = term, .log_term = log_.last_term(),
                 .index = log_.last_index()});
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
  progress_.clear();
  for (NodeId peer : voters_) {
    progress_[peer] = Progress{.match = LogIndex(0), .next = LogIndex(log_.last_index().value + 1)};
  }
  log_.append(Entry{.term = term_, .index = LogIndex(log_.last_index().value + 1), .data = {}});
  progress_[id_].match = log_.last_index();
  progress_[id_].next = LogIndex(log_.last_index().value + 1);
  maybe_commit();
  broadcast_append();
}

void Raft::step(const Message& m) {
  TESSERA_ASSERT(m.to == id_);
  if (!is_voter(m.from)) return;

  // Term rules (§5.1), adjusted for pre-vote (thesis §9.6): a pre_vote
  // carries a proposed term and a granted pre_vote_reply echoes it, so
  // neither moves this node's term.
  if (m.term > term_) {
    bool pre_vote_traffic = m.type == MessageType::pre_vote ||
                            (m.type == MessageType::pre_vote_reply && !m.reject);
    if (!pre_vote_traffic) {
      become_follower(m.term, m.type == MessageType::append ? m.from : kNoNode);
    }
  } else if (m.term < term_) {
    if (m.type == MessageType::append) {
      // A stale leader learns the newer term from the rejection.
      send(Message{.type = MessageType::append_reply, .to = m.from, .term = term_,
                   .index = m.index, .reject = true, .reject_hint = log_.last_index()});
    } else if (m.type == MessageType::pre_vote) {
      send(Message{.type = MessageType::pre_vote_reply, .to = m.from, .term = term_,
                   .reject = true});
    }
    return;
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
  votes_[m.from] = !m.reject;
  size_t granted = 0;
  for (const auto& [node, ok] : votes_) granted += ok ? 1 : 0;
  size_t rejected = votes_.size() - granted;
  if (granted >= quorum()) {
    if (role_ == Role::pre_candidate) {
      become_candidate();
    } else {
      become_leader();
    }
  } else if (rejected >= quorum()) {
    become_follower(term_, kNoNode);
  }
}

// §5.3, AppendEntries receiver steps 1-5 (step 1, the stale term, is in step()).
void Raft::handle_append(const Message& m) {
  if (role_ != Role::follower) {
    become_follower(term_, m.from);
  } else {
    leader_ = m.from;
    election_elapsed_ = 0;
  }
  if (m.index < commit_) {
    // Everything up to commit_ already matches any leader of this term.
    send(Message{.type = MessageType::append_reply, .to = m.from, .term = term_,
                 .index = commit_});
    return;
  }
  if (!log_.matches(m.index, m.log_term)) {
    LogIndex hint(std::min(m.index.value - 1, log_.last_index().value));
    send(Message{.type = MessageType::append_reply, .to = m.from, .term = term_,
                 .index = m.index, .reject = true, .reject_hint = hint});
    return;
  }
  log_.merge(m.entries, commit_);
  LogIndex last_new(m.index.value + m.entries.size());
  LogIndex new_commit = std::min(m.commit, last_new);
  if (new_commit > commit_) commit_ = new_commit;
  send(Message{.type = MessageType::append_reply, .to = m.from, .term = term_,
               .index = last_new});
}

void Raft::handle_append_reply(const Message& m) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(m.from);
  TESSERA_ASSERT(it != progress_.end());
  Progress& p = it->second;
  if (m.reject) {
    if (m.index <= p.match) return;  // stale rejection
    uint64_t next = std::min(m.index.value, m.reject_hint.value + 1);
    p.next = LogIndex(std::max(next, p.match.value + 1));
    send_append(m.from);
    return;
  }
  if (m.index > p.match) {
    p.match = m.index;
    maybe_commit();
  }
  if (p.next <= p.match) p.next = LogIndex(p.match.value + 1);
  if (p.next <= log_.last_index()) send_append(m.from);
}

// §5.3, §5.4.2: the largest index stored on a quorum commits, but only if it
// belongs to the current term.
void Raft::maybe_commit() {
  std::vector<uint64_t> matches;
  for (NodeId voter : voters_) matches.push_back(progress_[voter].match.value);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  LogIndex candidate(matches[quorum() - 1]);
  if (candidate > commit_ && log_.term_at(candidate) == term_) commit_ = candidate;
}

void Raft::send_append(NodeId peer) {
  Progress& p = progress_[peer];
  LogIndex prev(p.next.value - 1);
  Message m{.type = MessageType::append, .to = peer, .term = term_,
            .log_term = log_.term_at(prev), .index = prev, .commit = commit_};
  m.entries = log_.slice(p.next, config_.max_entries_per_append);
  // Optimistic pipelining: a lost message is repaired by the rejection of
  // the next append, which moves `next` back.
  p.next = LogIndex(p.next.value + m.entries.size());
  send(std::move(m));
}

void Raft::broadcast_append() {
  for (NodeId peer : voters_) {
    if (peer != id_) send_append(peer);
  }
}

Result<LogIndex> Raft::propose(std::string data) {
  if (role_ != Role::leader) return error(Errc::unavailable, "raft: not the leader");
  LogIndex index(log_.last_index().value + 1);
  log_.append(Entry{.term = term_, .index = index, .data = std::move(data)});
  progress_[id_].match = index;
  progress_[id_].next = LogIndex(index.value + 1);
  maybe_commit();
  broadcast_append();
  return index;
}

void Raft::send(Message m) {
  m.from = id_;
  outbox_.push_back(std::move(m));
}

bool Raft::has_ready() const {
  if (ready_outstanding_) return false;
  HardState hs{term_, vote_, commit_};
  return !outbox_.empty() || hs != persisted_hard_state_ ||
         log_.unstable_from() <= log_.last_index() || commit_ > applied_;
}

Ready Raft::take_ready() {
  TESSERA_ASSERT(!ready_outstanding_);
  Ready ready;
  HardState hs{term_, vote_, commit_};
  if (hs != persisted_hard_state_) ready.hard_state = hs;
  ready.entries = log_.unstable();
  log_.mark_handed_out(log_.last_index());
  ready.messages = std::move(outbox_);
  outbox_.clear();
  ready.committed = log_.range(LogIndex(applied_.value + 1), commit_);
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
