// GroupCoordinator: request handling (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, OffsetCommit checks). The state transitions these requests
// drive are in group_coordinator_state.cc, timers in
// group_coordinator_timers.cc, diagnostics in group_coordinator_admin.cc.

#include "gateway/kafka/server/group_coordinator.h"

#include <utility>

#include "base/assert.h"

namespace tessera::kafka {

GroupCoordinator::GroupCoordinator(GroupCoordinatorOptions options) : options_(std::move(options)) {
  TESSERA_ASSERT(options_.session_timeout_min_ms <= options_.session_timeout_max_ms);
  TESSERA_ASSERT(options_.initial_rebalance_delay_ms >= 0);
  TESSERA_ASSERT(options_.group_members_max > 0);
}

void GroupCoordinator::run(Outbox& out) {
  for (auto& fn : out) fn();
  out.clear();
}

void GroupCoordinator::post_join(Outbox& out, JoinCallback& cb, JoinResult result) {
  TESSERA_ASSERT(cb);
  out.push_back([cb = std::move(cb), result = std::move(result)]() mutable { cb(std::move(result)); });
  cb = nullptr;
}

void GroupCoordinator::post_sync(Outbox& out, SyncCallback& cb, SyncResult result) {
  TESSERA_ASSERT(cb);
  out.push_back([cb = std::move(cb), result = std::move(result)]() mutable { cb(std::move(result)); });
  cb = nullptr;
}

JoinResult GroupCoordinator::join_error(std::string member_id, GroupError error) {
  JoinResult r;
  r.error = error;
  r.member_id = std::move(member_id);
  return r;
}

SyncResult GroupCoordinator::sync_error(GroupError error) {
  SyncResult r;
  r.error = error;
  return r;
}

void GroupCoordinator::join(JoinRequest req, JoinCallback done, int64_t now_ms) {
  TESSERA_ASSERT(done);
  Outbox out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (req.rebalance_timeout_ms <= 0) req.rebalance_timeout_ms = req.session_timeout_ms;
    Group* g = nullptr;
    if (req.group_id.empty()) {
      post_join(out, done, join_error(req.member_id, GroupError::invalid_group_id));
    } else if (req.session_timeout_ms < options_.session_timeout_min_ms ||
               req.session_timeout_ms > options_.session_timeout_max_ms) {
      post_join(out, done, join_error(req.member_id, GroupError::invalid_session_timeout));
    } else if (g = find_group(req.group_id); g == nullptr && !req.member_id.empty()) {
      post_join(out, done, join_error(req.member_id, GroupError::unknown_member_id));
    } else {
      if (g == nullptr) {
        g = &groups_.try_emplace(req.group_id).first->second;
        g->group_id = req.group_id;
      }
      // A restarting static member takes its old place: it does not grow
      // the group.
      std::string_view size_key = req.member_id;
      if (req.member_id.empty() && req.group_instance_id) {
        auto it = g->static_members.find(*req.group_instance_id);
        if (it != g->static_members.end()) size_key = it->second;
      }
      if (!accept_joining_member(*g, size_key)) {
        if (g->members.contains(req.member_id)) {
          remove_member_and_update(*g, req.member_id, now_ms, out);
        }
        post_join(out, done, join_error("", GroupError::group_max_size_reached));
      } else if (req.member_id.empty()) {
        new_member_join(*g, req, done, now_ms, out);
      } else {
        current_member_join(*g, req, done, now_ms, out);
      }
      maybe_complete_join(*g, now_ms, out);
      erase_if_unused(req.group_id);
    }
    TESSERA_ASSERT(!done);
  }
  run(out);
}

void GroupCoordinator::new_member_join(Group& g, JoinRequest& req, JoinCallback& done,
                                       int64_t now_ms, Outbox& out) {
  if (!supports_protocols(g, req)) {
    post_join(out, done, join_error("", GroupError::inconsistent_group_protocol));
    return;
  }
  if (req.group_instance_id) {
    std::string new_id = generate_member_id(g, req);
    auto it = g.static_members.find(*req.group_instance_id);
    if (it != g.static_members.end()) {
      static_member_rejoin(g, it->second, std::move(new_id), req, done, now_ms, out);
    } else {
      add_member_and_rebalance(g, std::move(new_id), req, done, now_ms, out);
    }
    return;
  }
  if (req.require_known_member_id) {
    // KIP-394: hand out the id now; the member joins when it comes back
    // with it, which it must do within its session timeout.
    if (g.pending_members.size() >= options_.pending_members_max) {
      post_join(out, done, join_error("", GroupError::group_max_size_reached));
      return;
    }
    std::string new_id = generate_member_id(g, req);
    g.pending_members[new_id] = now_ms + req.session_timeout_ms;
    post_join(out, done, join_error(std::move(new_id), GroupError::member_id_required));
    return;
  }
  add_member_and_rebalance(g, generate_member_id(g, req), req, done, now_ms, out);
}

void GroupCoordinator::current_member_join(Group& g, JoinRequest& req, JoinCallback& done,
                                           int64_t now_ms, Outbox& out) {
  if (!supports_protocols(g, req)) {
    post_join(out, done, join_error(req.member_id, GroupError::inconsistent_group_protocol));
    return;
  }
  if (g.pending_members.contains(req.member_id)) {
    // Handed-out ids are for dynamic members; a static member must join
    // with an empty member id.
    if (req.group_instance_id) {
      post_join(out, done, join_error(req.member_id, GroupError::unknown_member_id));
    } else {
      add_member_and_rebalance(g, req.member_id, req, done, now_ms, out);
    }
    return;
  }
  GroupError error = validate_member(g, req.member_id, req.group_instance_id);
  if (error != GroupError::none) {
    post_join(out, done, join_error(req.member_id, error));
    return;
  }
  Member& m = g.members.find(req.member_id)->second;
  const bool is_leader = m.member_id == g.leader_id;
  switch (g.state) {
    case GroupState::preparing_rebalance:
      update_member_and_rebalance(g, m, req, done, now_ms, out);
      return;
    case GroupState::completing_rebalance:
      // Same metadata: the member missed its JoinGroup answer; repeat it.
      if (m.protocols == req.protocols) {
        touch(m, now_ms);
        post_join(out, done, current_generation_result(g, m, g.leader_id, is_leader));
      } else {
        update_member_and_rebalance(g, m, req, done, now_ms, out);
      }
      return;
    case GroupState::stable:
      // The leader rejoining asks for a new assignment (e.g. topic metadata
      // changed); a follower with unchanged metadata just gets the current
      // generation back.
      if (is_leader || m.protocols != req.protocols) {
        update_member_and_rebalance(g, m, req, done, now_ms, out);
      } else {
        touch(m, now_ms);
        post_join(out, done, current_generation_result(g, m, g.leader_id, false));
      }
      return;
    case GroupState::empty:
    case GroupState::dead:
      post_join(out, done, join_error(req.member_id, GroupError::unknown_member_id));
      return;
  }
}

// KIP-345: a static member that restarts rejoins with an empty member id and
// takes over its instance's place under a new id; the old id is fenced. In a
// Stable group whose protocol would not change, no rebalance follows: the
// member gets the current generation and the leader id from before the swap,
// so it never believes it must compute an assignment the group would ignore.
void GroupCoordinator::static_member_rejoin(Group& g, const std::string& old_id_ref,
                                            std::string new_id, JoinRequest& req,
                                            JoinCallback& done, int64_t now_ms, Outbox& out) {
  const std::string old_id = old_id_ref;
  const std::string leader_before = g.leader_id;
  auto node = g.members.extract(old_id);
  TESSERA_ASSERT(!node.empty());
  Member& old_member = node.mapped();
  if (old_member.awaiting_join) {
    post_join(out, old_member.awaiting_join, join_error(old_id, GroupError::fenced_instance_id));
  }
  if (old_member.awaiting_sync) {
    post_sync(out, old_member.awaiting_sync, sync_error(GroupError::fenced_instance_id));
  }
  old_member.member_id = new_id;
  node.key() = new_id;
  Member& m = g.members.insert(std::move(node)).position->second;
  g.static_members[*req.group_instance_id] = new_id;
  if (g.leader_id == old_id) g.leader_id = new_id;
  if (g.pending_sync.erase(old_id) > 0) g.pending_sync.insert(new_id);

  m.client_id = std::move(req.client_id);
  m.client_host = std::move(req.client_host);
  m.protocols = std::move(req.protocols);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  touch(m, now_ms);
  m.awaiting_join = std::move(done);
  done = nullptr;

  switch (g.state) {
    case GroupState::stable:
      if (select_protocol(g) == g.protocol_name) {
        post_join(out, m.awaiting_join, current_generation_result(g, m, leader_before, false));
      } else {
        prepare_rebalance(g, now_ms, out);
      }
      return;
    case GroupState::completing_rebalance:
      // The leader may be assigning to the old id: start over.
      prepare_rebalance(g, now_ms, out);
      return;
    case GroupState::preparing_rebalance:
      return;  // answered when the join phase completes
    case GroupState::empty:
    case GroupState::dead:
      TESSERA_ASSERT_MSG(false, "a group with a static member is never Empty");
  }
}

void GroupCoordinator::sync(SyncRequest req, SyncCallback done, int64_t now_ms) {
  TESSERA_ASSERT(done);
  Outbox out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Group* g = find_group(req.group_id); g == nullptr) {
      post_sync(out, done, sync_error(GroupError::unknown_member_id));
    } else {
      sync_locked(*g, req, done, now_ms, out);
    }
    TESSERA_ASSERT(!done);
  }
  run(out);
}

void GroupCoordinator::sync_locked(Group& g, SyncRequest& req, SyncCallback& done, int64_t now_ms,
                                   Outbox& out) {
  GroupError error = validate_member(g, req.member_id, req.group_instance_id);
  if (error == GroupError::none && req.generation_id != g.generation_id) {
    error = GroupError::illegal_generation;
  }
  if (error == GroupError::none && ((req.protocol_type && *req.protocol_type != g.protocol_type) ||
                                    (req.protocol_name && *req.protocol_name != g.protocol_name))) {
    error = GroupError::inconsistent_group_protocol;
  }
  if (error == GroupError::none && g.state == GroupState::preparing_rebalance) {
    error = GroupError::rebalance_in_progress;
  }
  if (error == GroupError::none &&
      (g.state == GroupState::empty || g.state == GroupState::dead)) {
    error = GroupError::unknown_member_id;
  }
  if (error != GroupError::none) {
    post_sync(out, done, sync_error(error));
    return;
  }
  Member& m = g.members.find(req.member_id)->second;
  touch(m, now_ms);
  mark_synced(g, m.member_id);
  if (g.state == GroupState::stable) {
    post_sync(out, done, SyncResult{GroupError::none, g.protocol_type, g.protocol_name, m.assignment});
    return;
  }
  TESSERA_ASSERT(g.state == GroupState::completing_rebalance);
  // A repeated SyncGroup replaces the earlier one, whose client gave up.
  if (m.awaiting_sync) post_sync(out, m.awaiting_sync, sync_error(GroupError::rebalance_in_progress));
  m.awaiting_sync = std::move(done);
  done = nullptr;
  if (m.member_id != g.leader_id) return;  // followers wait for the leader

  // The leader's assignment: members it left out get an empty one, ids that
  // are not members are ignored.
  for (auto& [id, member] : g.members) member.assignment.clear();
  for (MemberAssignment& a : req.assignments) {
    auto it = g.members.find(a.member_id);
    if (it != g.members.end()) it->second.assignment = std::move(a.assignment);
  }
  g.state = GroupState::stable;
  for (auto& [id, member] : g.members) {
    if (!member.awaiting_sync) continue;
    post_sync(out, member.awaiting_sync,
              SyncResult{GroupError::none, g.protocol_type, g.protocol_name, member.assignment});
    touch(member, now_ms);
  }
}

GroupError GroupCoordinator::heartbeat(std::string_view group_id, int32_t generation_id,
                                       std::string_view member_id,
                                       const std::optional<std::string>& group_instance_id,
                                       int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Group* g = find_group(group_id);
  if (g == nullptr) return GroupError::unknown_member_id;
  GroupError error = validate_member(*g, member_id, group_instance_id);
  if (error != GroupError::none) return error;
  if (generation_id != g->generation_id) return GroupError::illegal_generation;
  switch (g->state) {
    case GroupState::empty:
    case GroupState::dead:
      return GroupError::unknown_member_id;
    case GroupState::preparing_rebalance:
      touch(g->members.find(member_id)->second, now_ms);
      return GroupError::rebalance_in_progress;
    case GroupState::completing_rebalance:
    case GroupState::stable:
      touch(g->members.find(member_id)->second, now_ms);
      return GroupError::none;
  }
  return GroupError::unknown_member_id;
}

std::vector<GroupError> GroupCoordinator::leave(std::string_view group_id,
                                                const std::vector<LeavingMember>& members,
                                                int64_t now_ms) {
  std::vector<GroupError> errors;
  Outbox out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Group* g = find_group(group_id);
    for (const LeavingMember& lm : members) {
      errors.push_back(g == nullptr ? GroupError::unknown_member_id : leave_one(*g, lm, now_ms, out));
    }
    if (g != nullptr) erase_if_unused(group_id);
  }
  run(out);
  return errors;
}

GroupError GroupCoordinator::leave_one(Group& g, const LeavingMember& lm, int64_t now_ms,
                                       Outbox& out) {
  if (lm.member_id.empty()) {
    // KIP-345 administrative removal by instance id.
    if (!lm.group_instance_id) return GroupError::unknown_member_id;
    auto it = g.static_members.find(*lm.group_instance_id);
    if (it == g.static_members.end()) return GroupError::unknown_member_id;
    remove_member_and_update(g, it->second, now_ms, out);
    return GroupError::none;
  }
  if (g.pending_members.erase(lm.member_id) > 0) {
    maybe_complete_join(g, now_ms, out);
    return GroupError::none;
  }
  GroupError error = validate_member(g, lm.member_id, lm.group_instance_id);
  if (error != GroupError::none) return error;
  remove_member_and_update(g, lm.member_id, now_ms, out);
  return GroupError::none;
}

// Kafka's OffsetCommit rules: members must be of the current generation; a
// commit with generation -1 and no member id comes from outside group
// management and is accepted only while the group has no members; during
// CompletingRebalance the member must first finish the rebalance.
GroupError GroupCoordinator::check_commit(std::string_view group_id, int32_t generation_id,
                                          std::string_view member_id,
                                          const std::optional<std::string>& group_instance_id,
                                          int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Group* g = find_group(group_id);
  if (g == nullptr) return generation_id < 0 ? GroupError::none : GroupError::illegal_generation;
  if (generation_id < 0 && g->state == GroupState::empty) return GroupError::none;
  if (generation_id < 0 && member_id.empty() && !group_instance_id) {
    return g->state == GroupState::empty ? GroupError::none : GroupError::unknown_member_id;
  }
  GroupError error = validate_member(*g, member_id, group_instance_id);
  if (error != GroupError::none) return error;
  if (generation_id != g->generation_id) return GroupError::illegal_generation;
  switch (g->state) {
    case GroupState::stable:
    case GroupState::preparing_rebalance:
      touch(g->members.find(member_id)->second, now_ms);
      return GroupError::none;
    case GroupState::completing_rebalance:
      return GroupError::rebalance_in_progress;
    case GroupState::empty:
    case GroupState::dead:
      return GroupError::unknown_member_id;
  }
  return GroupError::unknown_member_id;
}

}  // namespace tessera::kafka
