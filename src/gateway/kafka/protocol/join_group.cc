#include "gateway/kafka/protocol/join_group.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/group_field_reader.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using group_internal::FieldReader;
using group_internal::unsupported_version;
using group_internal::view;

constexpr std::string_view kRequest = "JoinGroup request";
constexpr std::string_view kResponse = "JoinGroup response";
constexpr std::string_view kSubscription = "ConsumerProtocolSubscription";
constexpr std::string_view kAssignment = "ConsumerProtocolAssignment";

// Smallest encodings of one array element, which bound the element counts.
constexpr size_t kProtocolBytes = 2 + 4;          // name, metadata
constexpr size_t kTopicPartitionsBytes = 2 + 4;   // topic, partitions count

bool in_range(int16_t v) { return v >= kJoinGroupMinVersion && v <= kJoinGroupMaxVersion; }

size_t member_bytes(int16_t version) { return 2 + (version >= 5 ? 2 : 0) + 4; }

void write_topic_partitions(Writer& w, const std::vector<ConsumerProtocolTopicPartitions>& list) {
  w.write_array_length(list.size());
  for (const ConsumerProtocolTopicPartitions& tp : list) {
    w.write_string(tp.topic);
    w.write_array_length(tp.partitions.size());
    for (int32_t p : tp.partitions) w.write_int32(p);
  }
}

Result<std::vector<ConsumerProtocolTopicPartitions>> read_topic_partitions(
    FieldReader& r, std::string_view field, std::string_view topic_field,
    std::string_view partitions_field) {
  TESSERA_ASSIGN_OR_RETURN(size_t n, r.array(field, kTopicPartitionsBytes));
  std::vector<ConsumerProtocolTopicPartitions> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ConsumerProtocolTopicPartitions tp;
    TESSERA_ASSIGN_OR_RETURN(tp.topic, r.string(topic_field));
    TESSERA_ASSIGN_OR_RETURN(tp.partitions, r.int32_array(partitions_field));
    out.push_back(std::move(tp));
  }
  return out;
}

}  // namespace

Result<JoinGroupRequest> decode_join_group_request(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  JoinGroupRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.group_id, r.string("group_id"));
  TESSERA_ASSIGN_OR_RETURN(request.session_timeout_ms, r.int32("session_timeout_ms"));
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(request.rebalance_timeout_ms, r.int32("rebalance_timeout_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(request.member_id, r.string("member_id"));
  if (version >= 5) {
    TESSERA_ASSIGN_OR_RETURN(request.group_instance_id, r.nullable_string("group_instance_id"));
  }
  TESSERA_ASSIGN_OR_RETURN(request.protocol_type, r.string("protocol_type"));
  TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("protocols", kProtocolBytes));
  request.protocols.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    JoinGroupRequestProtocol p;
    TESSERA_ASSIGN_OR_RETURN(p.name, r.string("protocols.name"));
    TESSERA_ASSIGN_OR_RETURN(p.metadata, r.bytes("protocols.metadata"));
    request.protocols.push_back(std::move(p));
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_join_group_request(const JoinGroupRequest& request, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  w.write_string(request.group_id);
  w.write_int32(request.session_timeout_ms);
  if (version >= 1) w.write_int32(request.rebalance_timeout_ms);
  w.write_string(request.member_id);
  if (version >= 5) w.write_nullable_string(view(request.group_instance_id));
  w.write_string(request.protocol_type);
  w.write_array_length(request.protocols.size());
  for (const JoinGroupRequestProtocol& p : request.protocols) {
    w.write_string(p.name);
    w.write_bytes(p.metadata);
  }
  return out;
}

std::string encode_join_group_response(const JoinGroupResponse& response, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  if (version >= 2) w.write_int32(response.throttle_time_ms);
  w.write_int16(response.error_code);
  w.write_int32(response.generation_id);
  w.write_string(response.protocol_name);
  w.write_string(response.leader);
  w.write_string(response.member_id);
  w.write_array_length(response.members.size());
  for (const JoinGroupResponseMember& m : response.members) {
    w.write_string(m.member_id);
    if (version >= 5) w.write_nullable_string(view(m.group_instance_id));
    w.write_bytes(m.metadata);
  }
  return out;
}

Result<JoinGroupResponse> decode_join_group_response(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  JoinGroupResponse response;
  if (version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
  TESSERA_ASSIGN_OR_RETURN(response.generation_id, r.int32("generation_id"));
  TESSERA_ASSIGN_OR_RETURN(response.protocol_name, r.string("protocol_name"));
  TESSERA_ASSIGN_OR_RETURN(response.leader, r.string("leader"));
  TESSERA_ASSIGN_OR_RETURN(response.member_id, r.string("member_id"));
  TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("members", member_bytes(version)));
  response.members.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    JoinGroupResponseMember m;
    TESSERA_ASSIGN_OR_RETURN(m.member_id, r.string("members.member_id"));
    if (version >= 5) {
      TESSERA_ASSIGN_OR_RETURN(m.group_instance_id,
                               r.nullable_string("members.group_instance_id"));
    }
    TESSERA_ASSIGN_OR_RETURN(m.metadata, r.bytes("members.metadata"));
    response.members.push_back(std::move(m));
  }
  TESSERA_TRY(r.end());
  return response;
}

// ---- Consumer protocol ----

Result<ConsumerProtocolSubscription> decode_consumer_protocol_subscription(
    std::string_view metadata) {
  FieldReader r(metadata, kSubscription, 0);
  TESSERA_ASSIGN_OR_RETURN(int16_t wire_version, r.int16("version"));
  if (wire_version < 0) return unsupported_version(kSubscription, wire_version);
  r.set_version(wire_version);
  ConsumerProtocolSubscription s;
  s.version = std::min(wire_version, kConsumerProtocolSubscriptionMaxVersion);
  TESSERA_ASSIGN_OR_RETURN(s.topics, r.string_array("topics"));
  TESSERA_ASSIGN_OR_RETURN(s.user_data, r.nullable_bytes("user_data"));
  if (s.version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(s.owned_partitions,
                             read_topic_partitions(r, "owned_partitions", "owned_partitions.topic",
                                                   "owned_partitions.partitions"));
  }
  if (s.version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(s.generation_id, r.int32("generation_id"));
  }
  if (s.version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(s.rack_id, r.nullable_string("rack_id"));
  }
  if (wire_version <= kConsumerProtocolSubscriptionMaxVersion) TESSERA_TRY(r.end());
  return s;
}

std::string encode_consumer_protocol_subscription(const ConsumerProtocolSubscription& value) {
  TESSERA_ASSERT(value.version >= 0 && value.version <= kConsumerProtocolSubscriptionMaxVersion);
  std::string out;
  Writer w(&out);
  w.write_int16(value.version);
  w.write_array_length(value.topics.size());
  for (const std::string& t : value.topics) w.write_string(t);
  w.write_nullable_bytes(view(value.user_data));
  if (value.version >= 1) write_topic_partitions(w, value.owned_partitions);
  if (value.version >= 2) w.write_int32(value.generation_id);
  if (value.version >= 3) w.write_nullable_string(view(value.rack_id));
  return out;
}

Result<ConsumerProtocolAssignment> decode_consumer_protocol_assignment(
    std::string_view assignment) {
  FieldReader r(assignment, kAssignment, 0);
  TESSERA_ASSIGN_OR_RETURN(int16_t wire_version, r.int16("version"));
  if (wire_version < 0) return unsupported_version(kAssignment, wire_version);
  r.set_version(wire_version);
  ConsumerProtocolAssignment a;
  a.version = std::min(wire_version, kConsumerProtocolAssignmentMaxVersion);
  TESSERA_ASSIGN_OR_RETURN(
      a.assigned_partitions,
      read_topic_partitions(r, "assigned_partitions", "assigned_partitions.topic",
                            "assigned_partitions.partitions"));
  TESSERA_ASSIGN_OR_RETURN(a.user_data, r.nullable_bytes("user_data"));
  if (wire_version <= kConsumerProtocolAssignmentMaxVersion) TESSERA_TRY(r.end());
  return a;
}

std::string encode_consumer_protocol_assignment(const ConsumerProtocolAssignment& value) {
  TESSERA_ASSERT(value.version >= 0 && value.version <= kConsumerProtocolAssignmentMaxVersion);
  std::string out;
  Writer w(&out);
  w.write_int16(value.version);
  write_topic_partitions(w, value.assigned_partitions);
  w.write_nullable_bytes(view(value.user_data));
  return out;
}

}  // namespace tessera::kafka
