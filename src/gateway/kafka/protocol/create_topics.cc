#include "gateway/kafka/protocol/create_topics.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/admin_codec_util.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using admin_detail::decode_body;
using admin_detail::named;
using admin_detail::read_count;

// Smallest encodings, bounding array counts by the bytes left.
constexpr size_t kTopicBytes = 2 + 4 + 2 + 4 + 4;  // name, partitions, rf, two arrays
constexpr size_t kAssignmentBytes = 4 + 4;         // partition_index, broker_ids count
constexpr size_t kBrokerIdBytes = 4;
constexpr size_t kConfigBytes = 2 + 2;  // name, value (null)

bool version_known(int16_t v) {
  return v >= kCreateTopicsMinVersion && v <= kCreateTopicsMaxVersion;
}

Result<CreatableReplicaAssignment> read_assignment(Reader& r) {
  CreatableReplicaAssignment a;
  TESSERA_ASSIGN_OR_RETURN(a.partition_index,
                           named(r.read_int32(), "topics.assignments.partition_index"));
  TESSERA_ASSIGN_OR_RETURN(size_t n,
                           read_count(r, kBrokerIdBytes, "topics.assignments.broker_ids"));
  a.broker_ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    TESSERA_ASSIGN_OR_RETURN(int32_t id,
                             named(r.read_int32(), "topics.assignments.broker_ids"));
    a.broker_ids.push_back(id);
  }
  return a;
}

Result<CreatableTopic> read_topic(Reader& r) {
  CreatableTopic t;
  TESSERA_ASSIGN_OR_RETURN(t.name, named(r.read_string(), "topics.name"));
  TESSERA_ASSIGN_OR_RETURN(t.num_partitions, named(r.read_int32(), "topics.num_partitions"));
  TESSERA_ASSIGN_OR_RETURN(t.replication_factor,
                           named(r.read_int16(), "topics.replication_factor"));
  TESSERA_ASSIGN_OR_RETURN(size_t assignments,
                           read_count(r, kAssignmentBytes, "topics.assignments"));
  t.assignments.reserve(assignments);
  for (size_t i = 0; i < assignments; ++i) {
    TESSERA_ASSIGN_OR_RETURN(CreatableReplicaAssignment a, read_assignment(r));
    t.assignments.push_back(std::move(a));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t configs, read_count(r, kConfigBytes, "topics.configs"));
  t.configs.reserve(configs);
  for (size_t i = 0; i < configs; ++i) {
    CreatableTopicConfig c;
    TESSERA_ASSIGN_OR_RETURN(c.name, named(r.read_string(), "topics.configs.name"));
    TESSERA_ASSIGN_OR_RETURN(c.value, named(r.read_nullable_string(), "topics.configs.value"));
    t.configs.push_back(std::move(c));
  }
  return t;
}

}  // namespace

Result<CreateTopicsRequest> decode_create_topics_request(std::string_view body, int16_t version) {
  return decode_body<CreateTopicsRequest>(
      body, "CreateTopics request", version, kCreateTopicsMinVersion, kCreateTopicsMaxVersion,
      [version](Reader& r) -> Result<CreateTopicsRequest> {
        CreateTopicsRequest req;
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kTopicBytes, "topics"));
        req.topics.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          TESSERA_ASSIGN_OR_RETURN(CreatableTopic t, read_topic(r));
          req.topics.push_back(std::move(t));
        }
        TESSERA_ASSIGN_OR_RETURN(req.timeout_ms, named(r.read_int32(), "timeout_ms"));
        if (version >= 1) {
          TESSERA_ASSIGN_OR_RETURN(req.validate_only, named(r.read_bool(), "validate_only"));
        }
        return req;
      });
}

std::string encode_create_topics_request(const CreateTopicsRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_array_length(request.topics.size());
  for (const CreatableTopic& t : request.topics) {
    w.write_string(t.name);
    w.write_int32(t.num_partitions);
    w.write_int16(t.replication_factor);
    w.write_array_length(t.assignments.size());
    for (const CreatableReplicaAssignment& a : t.assignments) {
      w.write_int32(a.partition_index);
      w.write_array_length(a.broker_ids.size());
      for (int32_t id : a.broker_ids) w.write_int32(id);
    }
    w.write_array_length(t.configs.size());
    for (const CreatableTopicConfig& c : t.configs) {
      w.write_string(c.name);
      w.write_nullable_string(c.value);
    }
  }
  w.write_int32(request.timeout_ms);
  if (version >= 1) w.write_bool(request.validate_only);
  return out;
}

Result<CreateTopicsResponse> decode_create_topics_response(std::string_view body,
                                                           int16_t version) {
  return decode_body<CreateTopicsResponse>(
      body, "CreateTopics response", version, kCreateTopicsMinVersion, kCreateTopicsMaxVersion,
      [version](Reader& r) -> Result<CreateTopicsResponse> {
        CreateTopicsResponse resp;
        if (version >= 2) {
          TESSERA_ASSIGN_OR_RETURN(resp.throttle_time_ms,
                                   named(r.read_int32(), "throttle_time_ms"));
        }
        const size_t topic_bytes = 2 + 2 + (version >= 1 ? 2 : 0);
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, topic_bytes, "topics"));
        resp.topics.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          CreatableTopicResult t;
          TESSERA_ASSIGN_OR_RETURN(t.name, named(r.read_string(), "topics.name"));
          TESSERA_ASSIGN_OR_RETURN(t.error_code, named(r.read_int16(), "topics.error_code"));
          if (version >= 1) {
            TESSERA_ASSIGN_OR_RETURN(t.error_message,
                                     named(r.read_nullable_string(), "topics.error_message"));
          }
          resp.topics.push_back(std::move(t));
        }
        return resp;
      });
}

std::string encode_create_topics_response(const CreateTopicsResponse& response,
                                          int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  if (version >= 2) w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.topics.size());
  for (const CreatableTopicResult& t : response.topics) {
    w.write_string(t.name);
    w.write_int16(t.error_code);
    if (version >= 1) w.write_nullable_string(t.error_message);
  }
  return out;
}

}  // namespace tessera::kafka
