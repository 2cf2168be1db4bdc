// Seeds for the consumer-group targets — FindCoordinator, JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch — and for the
// consumer protocol embedded in JoinGroup and SyncGroup.
#include <string>

#include "gateway/kafka/protocol/find_coordinator.h"
#include "gateway/kafka/protocol/fuzz/seed_corpus.h"
#include "gateway/kafka/protocol/heartbeat.h"
#include "gateway/kafka/protocol/join_group.h"
#include "gateway/kafka/protocol/leave_group.h"
#include "gateway/kafka/protocol/offset_commit.h"
#include "gateway/kafka/protocol/offset_fetch.h"
#include "gateway/kafka/protocol/sync_group.h"

namespace tessera::kafka::fuzz {
namespace {

ConsumerProtocolSubscription subscription(int16_t version) {
  ConsumerProtocolSubscription s;
  s.version = version;
  s.topics = {"orders", "payments"};
  s.user_data = "ud";
  s.owned_partitions = {{"orders", {0, 1}}};
  s.generation_id = 4;
  s.rack_id = "rack-a";
  return s;
}

ConsumerProtocolAssignment assignment(int16_t version) {
  ConsumerProtocolAssignment a;
  a.version = version;
  a.assigned_partitions = {{"orders", {0, 1}}, {"payments", {}}};
  a.user_data = std::nullopt;
  return a;
}

void consumer_protocol(SeedWriter& w) {
  for (int16_t v = 0; v <= kConsumerProtocolSubscriptionMaxVersion; ++v) {
    w.add("fuzz_consumer_protocol", 0, encode_consumer_protocol_subscription(subscription(v)));
  }
  for (int16_t v = 0; v <= kConsumerProtocolAssignmentMaxVersion; ++v) {
    w.add("fuzz_consumer_protocol", 1, encode_consumer_protocol_assignment(assignment(v)));
  }
  // A newer version than known, with a field appended: decoded as the newest.
  std::string newer =
      encode_consumer_protocol_subscription(subscription(kConsumerProtocolSubscriptionMaxVersion));
  newer[1] = static_cast<char>(kConsumerProtocolSubscriptionMaxVersion + 1);
  w.add("fuzz_consumer_protocol", 0, newer + std::string("\0\0\0\1", 4));
}

void find_coordinator(SeedWriter& w) {
  FindCoordinatorRequest req{"group", kCoordinatorKeyTypeTransaction};
  FindCoordinatorResponse resp{1, 15, "not available", 3, "broker-3", 9092};
  w.add_api("fuzz_find_coordinator", kFindCoordinatorMinVersion, kFindCoordinatorMaxVersion, req,
            encode_find_coordinator_request, resp, encode_find_coordinator_response);
}

void join_group(SeedWriter& w) {
  JoinGroupRequest req;
  req.group_id = "group";
  req.session_timeout_ms = 10000;
  req.rebalance_timeout_ms = 30000;
  req.member_id = "member-1";
  req.group_instance_id = "instance-1";
  req.protocol_type = "consumer";
  req.protocols = {{"range", encode_consumer_protocol_subscription(subscription(3))},
                   {"roundrobin", ""}};
  JoinGroupResponse resp;
  resp.throttle_time_ms = 1;
  resp.generation_id = 4;
  resp.protocol_name = "range";
  resp.leader = "member-1";
  resp.member_id = "member-1";
  resp.members = {
      {"member-1", "instance-1", encode_consumer_protocol_subscription(subscription(1))},
      {"member-2", std::nullopt, ""}};
  w.add_api("fuzz_join_group", kJoinGroupMinVersion, kJoinGroupMaxVersion, req,
            encode_join_group_request, resp, encode_join_group_response);
}

void sync_group(SeedWriter& w) {
  SyncGroupRequest req;
  req.group_id = "group";
  req.generation_id = 4;
  req.member_id = "member-1";
  req.group_instance_id = "instance-1";
  req.assignments = {{"member-1", encode_consumer_protocol_assignment(assignment(0))},
                     {"member-2", ""}};
  SyncGroupResponse resp{2, 0, encode_consumer_protocol_assignment(assignment(3))};
  w.add_api("fuzz_sync_group", kSyncGroupMinVersion, kSyncGroupMaxVersion, req,
            encode_sync_group_request, resp, encode_sync_group_response);
}

void heartbeat(SeedWriter& w) {
  HeartbeatRequest req{"group", 4, "member-1", "instance-1"};
  HeartbeatResponse resp{1, 27};
  w.add_api("fuzz_heartbeat", kHeartbeatMinVersion, kHeartbeatMaxVersion, req,
            encode_heartbeat_request, resp, encode_heartbeat_response);
}

void leave_group(SeedWriter& w) {
  LeaveGroupRequest req{"group", "member-1", {{"member-1", "instance-1"}, {"member-2", {}}}};
  LeaveGroupResponse resp{1, 0, {{"member-1", "instance-1", 0}, {"member-2", {}, 25}}};
  w.add_api("fuzz_leave_group", kLeaveGroupMinVersion, kLeaveGroupMaxVersion, req,
            encode_leave_group_request, resp, encode_leave_group_response);
}

void offset_commit(SeedWriter& w) {
  OffsetCommitRequest req;
  req.group_id = "group";
  req.generation_id = 4;
  req.member_id = "member-1";
  req.group_instance_id = "instance-1";
  req.retention_time_ms = 86'400'000;
  req.topics = {{"orders", {{0, 100, 3, 1'700'000'000'000, "meta"}, {1, 7, -1, -1, {}}}}};
  OffsetCommitResponse resp{1, {{"orders", {{0, 0}, {1, 22}}}}};
  w.add_api("fuzz_offset_commit", kOffsetCommitMinVersion, kOffsetCommitMaxVersion, req,
            encode_offset_commit_request, resp, encode_offset_commit_response);
}

void offset_fetch(SeedWriter& w) {
  OffsetFetchRequest req;
  req.group_id = "group";
  req.topics = std::vector<OffsetFetchRequestTopic>{{"orders", {0, 1}}, {"payments", {}}};
  OffsetFetchResponse resp;
  resp.throttle_time_ms = 1;
  resp.topics = {{"orders", {{0, 100, 3, "meta", 0}, {1, -1, -1, std::nullopt, 0}}}};
  resp.error_code = 0;
  w.add_api("fuzz_offset_fetch", kOffsetFetchMinVersion, kOffsetFetchMaxVersion, req,
            encode_offset_fetch_request, resp, encode_offset_fetch_response);
  req.topics.reset();
  w.add("fuzz_offset_fetch", selector_for(2, kOffsetFetchMinVersion, false),
        encode_offset_fetch_request(req, 2));
}

}  // namespace

void add_group_seeds(SeedWriter& w) {
  consumer_protocol(w);
  find_coordinator(w);
  join_group(w);
  sync_group(w);
  heartbeat(w);
  leave_group(w);
  offset_commit(w);
  offset_fetch(w);
}

}  // namespace tessera::kafka::fuzz
