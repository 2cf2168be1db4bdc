// GroupCoordinator: timers. tick() fires whatever is due: handed-out member
// ids nobody used, expired sessions, the end of a join phase and the end of
// the sync phase.

#include <algorithm>

#include "gateway/kafka/server/group_coordinator.h"

namespace tessera::kafka {
namespace {

// A member's session can expire unless it is waiting in a rebalance (which
// bounds the wait itself); a new member's first join always can.
template <typename Member>
bool session_can_expire(const Member& m) {
  return m.is_new || (!m.awaiting_join && !m.awaiting_sync);
}

}  // namespace

void GroupCoordinator::fire_timers(Group& g, int64_t now_ms, Outbox& out) {
  bool pending_expired = false;
  for (auto it = g.pending_members.begin(); it != g.pending_members.end();) {
    if (it->second <= now_ms) {
      it = g.pending_members.erase(it);
      pending_expired = true;
    } else {
      ++it;
    }
  }
  if (pending_expired) maybe_complete_join(g, now_ms, out);

  std::vector<std::string> expired;
  for (const auto& [id, m] : g.members) {
    if (m.heartbeat_deadline_ms <= now_ms && session_can_expire(m)) expired.push_back(id);
  }
  for (std::string& id : expired) {
    // An earlier removal may have completed a join phase and renewed it.
    auto it = g.members.find(id);
    if (it == g.members.end() || it->second.heartbeat_deadline_ms > now_ms ||
        !session_can_expire(it->second)) {
      continue;
    }
    remove_member_and_update(g, std::move(id), now_ms, out);
  }

  if (g.state == GroupState::preparing_rebalance && g.join_deadline_ms <= now_ms) {
    if (g.initial_delay && g.new_member_added && g.initial_delay_remaining_ms > 0) {
      // Members are still arriving: wait another delay, within the
      // rebalance timeout.
      int64_t step_ms = std::min<int64_t>(options_.initial_rebalance_delay_ms,
                                          g.initial_delay_remaining_ms);
      g.initial_delay_remaining_ms -= step_ms;
      g.new_member_added = false;
      g.join_deadline_ms = now_ms + step_ms;
    } else {
      complete_join(g, now_ms, out);
    }
  }

  if ((g.state == GroupState::completing_rebalance || g.state == GroupState::stable) &&
      g.sync_deadline_ms <= now_ms) {
    g.sync_deadline_ms = kNoDeadline;
    if (!g.pending_sync.empty()) {
      // Members that never sent SyncGroup are dropped and the group
      // rebalances without them.
      std::vector<std::string> laggards(g.pending_sync.begin(), g.pending_sync.end());
      for (std::string& id : laggards) {
        if (g.members.contains(id)) erase_member(g, std::move(id), out);
      }
      prepare_rebalance(g, now_ms, out);
    }
  }
}

void GroupCoordinator::tick(int64_t now_ms) {
  Outbox out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, g] : groups_) fire_timers(g, now_ms, out);
    std::erase_if(groups_, [](const auto& e) { return unused(e.second); });
  }
  run(out);
}

std::optional<int64_t> GroupCoordinator::next_deadline_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t next = kNoDeadline;
  for (const auto& [gid, g] : groups_) {
    for (const auto& [id, expiry] : g.pending_members) next = std::min(next, expiry);
    for (const auto& [id, m] : g.members) {
      if (session_can_expire(m)) next = std::min(next, m.heartbeat_deadline_ms);
    }
    if (g.state == GroupState::preparing_rebalance) next = std::min(next, g.join_deadline_ms);
    if (!g.pending_sync.empty()) next = std::min(next, g.sync_deadline_ms);
  }
  if (next == kNoDeadline) return std::nullopt;
  return next;
}

}  // namespace tessera::kafka
