// GroupCoordinator: names, diagnostics (ListGroups, DescribeGroups),
// DeleteGroups and unloading.

#include <algorithm>

#include "gateway/kafka/server/group_coordinator.h"

namespace tessera::kafka {

std::string_view group_error_name(GroupError error) {
  switch (error) {
    case GroupError::none: return "NONE";
    case GroupError::not_coordinator: return "NOT_COORDINATOR";
    case GroupError::illegal_generation: return "ILLEGAL_GENERATION";
    case GroupError::inconsistent_group_protocol: return "INCONSISTENT_GROUP_PROTOCOL";
    case GroupError::invalid_group_id: return "INVALID_GROUP_ID";
    case GroupError::unknown_member_id: return "UNKNOWN_MEMBER_ID";
    case GroupError::invalid_session_timeout: return "INVALID_SESSION_TIMEOUT";
    case GroupError::rebalance_in_progress: return "REBALANCE_IN_PROGRESS";
    case GroupError::non_empty_group: return "NON_EMPTY_GROUP";
    case GroupError::group_id_not_found: return "GROUP_ID_NOT_FOUND";
    case GroupError::member_id_required: return "MEMBER_ID_REQUIRED";
    case GroupError::group_max_size_reached: return "GROUP_MAX_SIZE_REACHED";
    case GroupError::fenced_instance_id: return "FENCED_INSTANCE_ID";
  }
  return "UNKNOWN";
}

std::string_view group_state_name(GroupState state) {
  switch (state) {
    case GroupState::empty: return "Empty";
    case GroupState::preparing_rebalance: return "PreparingRebalance";
    case GroupState::completing_rebalance: return "CompletingRebalance";
    case GroupState::stable: return "Stable";
    case GroupState::dead: return "Dead";
  }
  return "Dead";
}

GroupError GroupCoordinator::delete_group(std::string_view group_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return GroupError::group_id_not_found;
  if (it->second.state != GroupState::empty) return GroupError::non_empty_group;
  groups_.erase(it);  // Dead: forgotten at once
  return GroupError::none;
}

void GroupCoordinator::unload_all() {
  Outbox out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [gid, g] : groups_) {
      for (auto& [id, m] : g.members) {
        if (m.awaiting_join) post_join(out, m.awaiting_join, join_error(id, GroupError::not_coordinator));
        if (m.awaiting_sync) post_sync(out, m.awaiting_sync, sync_error(GroupError::not_coordinator));
      }
    }
    groups_.clear();
  }
  run(out);
}

std::vector<GroupOverview> GroupCoordinator::list_groups() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<GroupOverview> out;
  for (const auto& [id, g] : groups_) {
    out.push_back(GroupOverview{id, g.protocol_type, std::string(group_state_name(g.state))});
  }
  return out;
}

std::optional<GroupDescription> GroupCoordinator::describe(std::string_view group_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Group* g = find_group(group_id);
  if (g == nullptr) return std::nullopt;
  GroupDescription d;
  d.group_id = g->group_id;
  d.state = group_state_name(g->state);
  d.protocol_type = g->protocol_type;
  d.generation_id = g->generation_id;
  d.leader_id = g->leader_id;
  const bool stable = g->state == GroupState::stable;
  if (stable) d.protocol_name = g->protocol_name;
  std::vector<const Member*> ordered;
  for (const auto& [id, m] : g->members) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const Member* a, const Member* b) { return a->join_seq < b->join_seq; });
  for (const Member* m : ordered) {
    MemberDescription md{m->member_id, m->group_instance_id, m->client_id, m->client_host, {}, {}};
    if (stable) {
      for (const GroupProtocol& p : m->protocols) {
        if (p.name == g->protocol_name) md.metadata = p.metadata;
      }
      md.assignment = m->assignment;
    }
    d.members.push_back(std::move(md));
  }
  return d;
}


}  // namespace tessera::kafka
