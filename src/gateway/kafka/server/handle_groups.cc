// Consumer group membership: FindCoordinator, JoinGroup, SyncGroup,
// Heartbeat and LeaveGroup over the GroupCoordinator, which runs on the
// meta shard's leader (every other node answers NOT_COORDINATOR). JoinGroup
// and SyncGroup block this connection's thread until the coordinator
// answers, as a Kafka broker parks the request.
#include <future>

#include "gateway/kafka/protocol/find_coordinator.h"
#include "gateway/kafka/protocol/heartbeat.h"
#include "gateway/kafka/protocol/join_group.h"
#include "gateway/kafka/protocol/leave_group.h"
#include "gateway/kafka/protocol/sync_group.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"

namespace tessera::kafka {
namespace {

constexpr int16_t kNotCoordinator = static_cast<int16_t>(GroupError::not_coordinator);

// Waits for a coordinator callback; the coordinator answers every callback
// (unload_all on stop), the bound is a safety net.
template <typename T>
std::optional<T> await(std::future<T>& f, int64_t ms) {
  if (f.wait_for(std::chrono::milliseconds(ms)) != std::future_status::ready) return std::nullopt;
  return f.get();
}

std::string peer_host(const std::string& peer) {
  auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

}  // namespace

HandlerResult handle_find_coordinator(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_find_coordinator_request(body, h.api_version));
  Broker& b = s.broker();
  FindCoordinatorResponse resp;
  resp.node_id = -1;
  resp.port = -1;
  if (req.key_type != kCoordinatorKeyTypeGroup) {
    resp.error_code = code(KafkaError::coordinator_not_available);
    resp.error_message = "transactions are not supported";
  } else {
    const int32_t id = b.coordinator_id();
    for (auto& n : b.brokers()) {
      if (n.node_id != id) continue;
      resp.node_id = n.node_id;
      resp.host = n.host;
      resp.port = n.port;
    }
    if (resp.node_id < 0) {
      resp.error_code = code(KafkaError::coordinator_not_available);
      resp.error_message = "no group coordinator elected yet";
    }
  }
  return std::optional<std::string>(encode_find_coordinator_response(resp, h.api_version));
}

HandlerResult handle_join_group(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_join_group_request(body, h.api_version));
  Broker& b = s.broker();
  JoinGroupResponse resp;
  if (!b.is_coordinator()) {
    resp.error_code = kNotCoordinator;
    resp.member_id = req.member_id;
    return std::optional<std::string>(encode_join_group_response(resp, h.api_version));
  }
  JoinRequest jr;
  jr.group_id = req.group_id;
  jr.member_id = req.member_id;
  jr.group_instance_id = req.group_instance_id;
  jr.client_id = s.client_id();
  jr.client_host = "/" + peer_host(s.peer());
  jr.session_timeout_ms = req.session_timeout_ms;
  jr.rebalance_timeout_ms = h.api_version >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
  jr.protocol_type = req.protocol_type;
  for (auto& p : req.protocols) jr.protocols.push_back(GroupProtocol{p.name, p.metadata});
  jr.require_known_member_id = h.api_version >= 4;
  // Shared: the callback may outlive this handler when the bound below passes.
  auto done = std::make_shared<std::promise<JoinResult>>();
  auto f = done->get_future();
  b.groups().join(std::move(jr), [done](JoinResult r) { done->set_value(std::move(r)); }, b.now_ms());
  const int64_t bound = std::max(req.session_timeout_ms, req.rebalance_timeout_ms) + 30000;
  auto r = await(f, bound);
  if (!r) {
    resp.error_code = code(KafkaError::rebalance_in_progress);
    return std::optional<std::string>(encode_join_group_response(resp, h.api_version));
  }
  resp.error_code = static_cast<int16_t>(r->error);
  resp.generation_id = r->generation_id;
  resp.protocol_name = r->protocol_name.value_or("");
  resp.leader = r->leader_id;
  resp.member_id = r->member_id;
  for (auto& m : r->members) {
    resp.members.push_back(JoinGroupResponseMember{m.member_id, m.group_instance_id, m.metadata});
  }
  return std::optional<std::string>(encode_join_group_response(resp, h.api_version));
}

HandlerResult handle_sync_group(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_sync_group_request(body, h.api_version));
  Broker& b = s.broker();
  SyncGroupResponse resp;
  if (!b.is_coordinator()) {
    resp.error_code = kNotCoordinator;
    return std::optional<std::string>(encode_sync_group_response(resp, h.api_version));
  }
  SyncRequest sr;
  sr.group_id = req.group_id;
  sr.generation_id = req.generation_id;
  sr.member_id = req.member_id;
  sr.group_instance_id = req.group_instance_id;
  for (auto& a : req.assignments) sr.assignments.push_back(MemberAssignment{a.member_id, a.assignment});
  auto done = std::make_shared<std::promise<SyncResult>>();
  auto f = done->get_future();
  b.groups().sync(std::move(sr), [done](SyncResult r) { done->set_value(std::move(r)); }, b.now_ms());
  auto r = await(f, 330000);
  if (!r) {
    resp.error_code = code(KafkaError::rebalance_in_progress);
  } else {
    resp.error_code = static_cast<int16_t>(r->error);
    resp.assignment = std::move(r->assignment);
  }
  return std::optional<std::string>(encode_sync_group_response(resp, h.api_version));
}

HandlerResult handle_heartbeat(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_heartbeat_request(body, h.api_version));
  Broker& b = s.broker();
  HeartbeatResponse resp;
  resp.error_code = !b.is_coordinator()
                        ? kNotCoordinator
                        : static_cast<int16_t>(b.groups().heartbeat(req.group_id, req.generation_id,
                                                                    req.member_id, req.group_instance_id,
                                                                    b.now_ms()));
  return std::optional<std::string>(encode_heartbeat_response(resp, h.api_version));
}

HandlerResult handle_leave_group(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_leave_group_request(body, h.api_version));
  Broker& b = s.broker();
  LeaveGroupResponse resp;
  std::vector<LeavingMember> leaving;
  if (h.api_version < 3) {
    leaving.push_back(LeavingMember{req.member_id, std::nullopt});
  } else {
    for (auto& m : req.members) leaving.push_back(LeavingMember{m.member_id, m.group_instance_id});
  }
  if (!b.is_coordinator()) {
    resp.error_code = kNotCoordinator;
    return std::optional<std::string>(encode_leave_group_response(resp, h.api_version));
  }
  auto errors = b.groups().leave(req.group_id, leaving, b.now_ms());
  for (size_t i = 0; i < leaving.size() && i < errors.size(); ++i) {
    const auto e = static_cast<int16_t>(errors[i]);
    if (h.api_version < 3) resp.error_code = e;
    resp.members.push_back(LeaveGroupMemberResponse{leaving[i].member_id, leaving[i].group_instance_id, e});
  }
  return std::optional<std::string>(encode_leave_group_response(resp, h.api_version));
}

}  // namespace tessera::kafka
