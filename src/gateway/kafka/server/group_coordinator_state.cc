// GroupCoordinator: group state transitions and protocol selection.
// Everything here runs with mu_ held and queues callbacks into an Outbox.

#include <algorithm>
#include <cstdio>

#include "base/assert.h"
#include "gateway/kafka/server/group_coordinator.h"

namespace tessera::kafka {
namespace {

// Member ids come from a 128-bit source; a repeat is a broken source.
constexpr int kMemberIdAttemptsMax = 8;

std::string uuid_text(uint64_t hi, uint64_t lo) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

bool supports(const std::vector<GroupProtocol>& protocols, std::string_view name) {
  return std::any_of(protocols.begin(), protocols.end(),
                     [&](const GroupProtocol& p) { return p.name == name; });
}


}  // namespace

GroupCoordinator::Group* GroupCoordinator::find_group(std::string_view group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

const GroupCoordinator::Group* GroupCoordinator::find_group(std::string_view group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

// A group that never had a member and holds no handed-out id is forgotten, so
// failed joins and unused member ids leave nothing behind. Groups that had
// members stay (Empty) until delete_group, as in Kafka.
bool GroupCoordinator::unused(const Group& g) {
  return g.state == GroupState::empty && g.generation_id == 0 && g.members.empty() &&
         g.pending_members.empty();
}

void GroupCoordinator::erase_if_unused(std::string_view group_id) {
  auto it = groups_.find(group_id);
  if (it != groups_.end() && unused(it->second)) groups_.erase(it);
}

bool GroupCoordinator::accept_joining_member(const Group& g, std::string_view member_id) const {
  auto it = g.members.find(member_id);
  switch (g.state) {
    case GroupState::empty:
    case GroupState::dead:
      return true;
    case GroupState::preparing_rebalance: {
      // Counting members that rejoined (not all members) lets a group that
      // is over the limit shed the members that rejoin last.
      if (it != g.members.end() && it->second.awaiting_join) return true;
      size_t awaiting = std::count_if(g.members.begin(), g.members.end(),
                                      [](const auto& e) { return bool(e.second.awaiting_join); });
      return awaiting < options_.group_members_max;
    }
    case GroupState::completing_rebalance:
    case GroupState::stable:
      return it != g.members.end() || g.members.size() < options_.group_members_max;
  }
  return false;
}

// An Empty group takes any non-empty protocol type and protocol list;
// otherwise the type must match and one protocol must be supported by every
// current member, so the members always have a protocol in common.
bool GroupCoordinator::supports_protocols(const Group& g, const JoinRequest& req) {
  if (g.state == GroupState::empty) return !req.protocol_type.empty() && !req.protocols.empty();
  if (req.protocol_type != g.protocol_type) return false;
  return std::any_of(req.protocols.begin(), req.protocols.end(), [&](const GroupProtocol& p) {
    return std::all_of(g.members.begin(), g.members.end(),
                       [&](const auto& e) { return supports(e.second.protocols, p.name); });
  });
}

// KIP-345: a request naming an instance id must carry that instance's
// current member id; older ids are fenced.
GroupError GroupCoordinator::validate_member(const Group& g, std::string_view member_id,
                                             const std::optional<std::string>& instance_id) {
  if (instance_id) {
    auto it = g.static_members.find(*instance_id);
    if (it == g.static_members.end()) return GroupError::unknown_member_id;
    if (it->second != member_id) return GroupError::fenced_instance_id;
  }
  if (!g.members.contains(member_id)) return GroupError::unknown_member_id;
  return GroupError::none;
}

// "<client id or instance id>-<uuid-like suffix>", as Kafka forms them.
std::string GroupCoordinator::generate_member_id(const Group& g, const JoinRequest& req) {
  const std::string& prefix = req.group_instance_id ? *req.group_instance_id : req.client_id;
  for (int attempt = 0;; ++attempt) {
    TESSERA_ASSERT_MSG(attempt < kMemberIdAttemptsMax, "member id source repeats itself");
    uint64_t hi = options_.random ? options_.random() : 0;
    uint64_t lo = options_.random ? options_.random() : ++id_counter_;
    std::string id = prefix + "-" + uuid_text(hi, lo);
    if (!g.members.contains(id) && !g.pending_members.contains(id)) return id;
  }
}

void GroupCoordinator::add_member_and_rebalance(Group& g, std::string member_id, JoinRequest& req,
                                                JoinCallback& done, int64_t now_ms, Outbox& out) {
  TESSERA_ASSERT(!g.members.contains(member_id));
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  Member m;
  m.member_id = member_id;
  m.group_instance_id = req.group_instance_id;
  m.client_id = std::move(req.client_id);
  m.client_host = std::move(req.client_host);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocols = std::move(req.protocols);
  m.join_seq = g.next_join_seq++;
  // A member without a generation cannot heartbeat; its first join is
  // bounded by the new-member timeout instead of the session.
  m.is_new = true;
  m.heartbeat_deadline_ms = now_ms + options_.new_member_join_timeout_ms;
  m.awaiting_join = std::move(done);
  done = nullptr;
  if (g.leader_id.empty()) g.leader_id = member_id;
  if (m.group_instance_id) g.static_members[*m.group_instance_id] = member_id;
  g.pending_members.erase(member_id);
  if (g.state == GroupState::preparing_rebalance && g.initial_delay) g.new_member_added = true;
  g.members.emplace(member_id, std::move(m));
  maybe_prepare_rebalance(g, now_ms, out);
}

void GroupCoordinator::update_member_and_rebalance(Group& g, Member& m, JoinRequest& req,
                                                   JoinCallback& done, int64_t now_ms,
                                                   Outbox& out) {
  m.protocols = std::move(req.protocols);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  // A second JoinGroup from the same member replaces the first, whose
  // client has given up on it.
  if (m.awaiting_join) post_join(out, m.awaiting_join, join_error(m.member_id, GroupError::rebalance_in_progress));
  m.awaiting_join = std::move(done);
  done = nullptr;
  if (!m.is_new) touch(m, now_ms);
  maybe_prepare_rebalance(g, now_ms, out);
}

void GroupCoordinator::remove_member_and_update(Group& g, std::string member_id, int64_t now_ms,
                                                Outbox& out) {
  erase_member(g, std::move(member_id), out);
  switch (g.state) {
    case GroupState::stable:
    case GroupState::completing_rebalance:
      maybe_prepare_rebalance(g, now_ms, out);
      break;
    case GroupState::preparing_rebalance:
      maybe_complete_join(g, now_ms, out);
      break;
    case GroupState::empty:
    case GroupState::dead:
      break;
  }
}

void GroupCoordinator::erase_member(Group& g, std::string member_id, Outbox& out) {
  auto it = g.members.find(member_id);
  TESSERA_ASSERT(it != g.members.end());
  Member& m = it->second;
  if (m.awaiting_join) post_join(out, m.awaiting_join, join_error("", GroupError::unknown_member_id));
  if (m.awaiting_sync) post_sync(out, m.awaiting_sync, sync_error(GroupError::unknown_member_id));
  if (m.group_instance_id) {
    auto s = g.static_members.find(*m.group_instance_id);
    if (s != g.static_members.end() && s->second == member_id) g.static_members.erase(s);
  }
  g.members.erase(it);
  g.pending_sync.erase(member_id);
  if (g.pending_sync.empty()) g.sync_deadline_ms = kNoDeadline;
  if (g.leader_id == member_id) {
    g.leader_id.clear();
    uint64_t best = UINT64_MAX;
    for (const auto& [id, other] : g.members) {
      if (other.join_seq < best) {
        best = other.join_seq;
        g.leader_id = id;
      }
    }
  }
}

void GroupCoordinator::maybe_prepare_rebalance(Group& g, int64_t now_ms, Outbox& out) {
  if (g.state == GroupState::stable || g.state == GroupState::completing_rebalance ||
      g.state == GroupState::empty) {
    prepare_rebalance(g, now_ms, out);
  }
}

void GroupCoordinator::prepare_rebalance(Group& g, int64_t now_ms, Outbox& out) {
  if (g.state == GroupState::completing_rebalance) {
    // Members waiting for the leader's assignment must rejoin instead.
    // Their sessions restart from the answer, as from any other.
    for (auto& [id, m] : g.members) {
      m.assignment.clear();
      if (!m.awaiting_sync) continue;
      post_sync(out, m.awaiting_sync, sync_error(GroupError::rebalance_in_progress));
      touch(m, now_ms);
    }
  }
  g.pending_sync.clear();
  g.sync_deadline_ms = kNoDeadline;
  const int32_t delay_ms = options_.initial_rebalance_delay_ms;
  if (g.state == GroupState::empty && delay_ms > 0) {
    g.initial_delay = true;
    g.new_member_added = false;
    g.initial_delay_remaining_ms = std::max<int64_t>(rebalance_timeout_ms(g) - delay_ms, 0);
    g.join_deadline_ms = now_ms + delay_ms;
  } else {
    g.initial_delay = false;
    g.join_deadline_ms = now_ms + rebalance_timeout_ms(g);
  }
  g.state = GroupState::preparing_rebalance;
  maybe_complete_join(g, now_ms, out);
}

// The join phase ends early once every member rejoined and every handed-out
// member id was used; never during an initial delay.
void GroupCoordinator::maybe_complete_join(Group& g, int64_t now_ms, Outbox& out) {
  if (g.state != GroupState::preparing_rebalance || g.initial_delay) return;
  if (!g.pending_members.empty()) return;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join) return;
  }
  complete_join(g, now_ms, out);
}

void GroupCoordinator::complete_join(Group& g, int64_t now_ms, Outbox& out) {
  TESSERA_ASSERT(g.state == GroupState::preparing_rebalance);
  g.initial_delay = false;
  g.new_member_added = false;
  // Dynamic members that did not rejoin are gone; static members keep their
  // place until their session expires (KIP-345).
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join && !m.group_instance_id) gone.push_back(id);
  }
  for (std::string& id : gone) erase_member(g, std::move(id), out);

  // The leader stays if it rejoined; otherwise the earliest-joined member
  // that did takes over. With nobody rejoined, wait another round for the
  // remaining (static) members' sessions to decide.
  if (!g.members.empty()) {
    auto lit = g.members.find(g.leader_id);
    if (lit == g.members.end() || !lit->second.awaiting_join) {
      const Member* next = nullptr;
      for (const auto& [id, m] : g.members) {
        if (m.awaiting_join && (next == nullptr || m.join_seq < next->join_seq)) next = &m;
      }
      if (next == nullptr) {
        g.join_deadline_ms = now_ms + rebalance_timeout_ms(g);
        return;
      }
      g.leader_id = next->member_id;
    }
  }
  g.join_deadline_ms = kNoDeadline;
  ++g.generation_id;
  if (g.members.empty()) {
    g.state = GroupState::empty;
    g.protocol_name.clear();
    g.leader_id.clear();
    return;
  }
  g.protocol_name = select_protocol(g);
  g.state = GroupState::completing_rebalance;
  for (auto& [id, m] : g.members) {
    if (m.awaiting_join) {
      post_join(out, m.awaiting_join, current_generation_result(g, m, g.leader_id, id == g.leader_id));
    }
    touch(m, now_ms);
    m.is_new = false;
    g.pending_sync.insert(id);
  }
  g.sync_deadline_ms = now_ms + rebalance_timeout_ms(g);
}

JoinResult GroupCoordinator::current_generation_result(const Group& g, const Member& m,
                                                       const std::string& leader_id,
                                                       bool with_members) {
  JoinResult r;
  r.generation_id = g.generation_id;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol_name;
  r.leader_id = leader_id;
  r.member_id = m.member_id;
  if (!with_members) return r;
  std::vector<const Member*> ordered;
  for (const auto& [id, other] : g.members) ordered.push_back(&other);
  std::sort(ordered.begin(), ordered.end(),
            [](const Member* a, const Member* b) { return a->join_seq < b->join_seq; });
  for (const Member* other : ordered) {
    auto p = std::find_if(other->protocols.begin(), other->protocols.end(),
                          [&](const GroupProtocol& gp) { return gp.name == g.protocol_name; });
    TESSERA_ASSERT(p != other->protocols.end());
    r.members.push_back(JoinMember{other->member_id, other->group_instance_id, p->metadata});
  }
  return r;
}

// Candidates are the protocols every member supports; each member votes for
// its most preferred candidate and the most votes win. Ties (which Kafka
// breaks arbitrarily) go to the earliest-joined member's preference.
std::string GroupCoordinator::select_protocol(const Group& g) {
  TESSERA_ASSERT(!g.members.empty());
  const Member* first = nullptr;
  for (const auto& [id, m] : g.members) {
    if (first == nullptr || m.join_seq < first->join_seq) first = &m;
  }
  std::vector<std::string> candidates;
  for (const GroupProtocol& p : first->protocols) {
    bool common = std::all_of(g.members.begin(), g.members.end(),
                              [&](const auto& e) { return supports(e.second.protocols, p.name); });
    if (common && std::find(candidates.begin(), candidates.end(), p.name) == candidates.end()) {
      candidates.push_back(p.name);
    }
  }
  TESSERA_ASSERT(!candidates.empty());
  std::vector<size_t> votes(candidates.size(), 0);
  for (const auto& [id, m] : g.members) {
    for (const GroupProtocol& p : m.protocols) {
      auto c = std::find(candidates.begin(), candidates.end(), p.name);
      if (c != candidates.end()) {
        ++votes[c - candidates.begin()];
        break;
      }
    }
  }
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (votes[i] > votes[best]) best = i;
  }
  return candidates[best];
}

int32_t GroupCoordinator::rebalance_timeout_ms(const Group& g) {
  int32_t timeout_ms = 0;
  for (const auto& [id, m] : g.members) timeout_ms = std::max(timeout_ms, m.rebalance_timeout_ms);
  return timeout_ms;
}

void GroupCoordinator::touch(Member& m, int64_t now_ms) {
  m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
}

void GroupCoordinator::mark_synced(Group& g, const std::string& member_id) {
  g.pending_sync.erase(member_id);
  if (g.pending_sync.empty()) g.sync_deadline_ms = kNoDeadline;
}

}  // namespace tessera::kafka
