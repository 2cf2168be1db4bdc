#include "gateway/kafka/protocol/create_partitions.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/admin_codec_util.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using admin_detail::decode_body;
using admin_detail::named;
using admin_detail::read_count;

constexpr size_t kTopicBytes = 2 + 4 + 4;   // name, count, assignments (null)
constexpr size_t kAssignmentBytes = 4;      // broker_ids count
constexpr size_t kBrokerIdBytes = 4;
constexpr size_t kResultBytes = 2 + 2 + 2;  // name, error_code, error_message (null)

bool version_known(int16_t v) {
  return v >= kCreatePartitionsMinVersion && v <= kCreatePartitionsMaxVersion;
}

Result<CreatePartitionsTopic> read_topic(Reader& r) {
  CreatePartitionsTopic t;
  TESSERA_ASSIGN_OR_RETURN(t.name, named(r.read_string(), "topics.name"));
  TESSERA_ASSIGN_OR_RETURN(t.count, named(r.read_int32(), "topics.count"));
  TESSERA_ASSIGN_OR_RETURN(std::optional<size_t> n,
                           named(r.read_array_length(kAssignmentBytes), "topics.assignments"));
  if (!n) return t;
  t.assignments.emplace();
  t.assignments->reserve(*n);
  for (size_t i = 0; i < *n; ++i) {
    CreatePartitionsAssignment a;
    TESSERA_ASSIGN_OR_RETURN(size_t ids,
                             read_count(r, kBrokerIdBytes, "topics.assignments.broker_ids"));
    a.broker_ids.reserve(ids);
    for (size_t j = 0; j < ids; ++j) {
      TESSERA_ASSIGN_OR_RETURN(int32_t id,
                               named(r.read_int32(), "topics.assignments.broker_ids"));
      a.broker_ids.push_back(id);
    }
    t.assignments->push_back(std::move(a));
  }
  return t;
}

}  // namespace

Result<CreatePartitionsRequest> decode_create_partitions_request(std::string_view body,
                                                                 int16_t version) {
  return decode_body<CreatePartitionsRequest>(
      body, "CreatePartitions request", version, kCreatePartitionsMinVersion,
      kCreatePartitionsMaxVersion, [](Reader& r) -> Result<CreatePartitionsRequest> {
        CreatePartitionsRequest req;
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kTopicBytes, "topics"));
        req.topics.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          TESSERA_ASSIGN_OR_RETURN(CreatePartitionsTopic t, read_topic(r));
          req.topics.push_back(std::move(t));
        }
        TESSERA_ASSIGN_OR_RETURN(req.timeout_ms, named(r.read_int32(), "timeout_ms"));
        TESSERA_ASSIGN_OR_RETURN(req.validate_only, named(r.read_bool(), "validate_only"));
        return req;
      });
}

std::string encode_create_partitions_request(const CreatePartitionsRequest& request,
                                             int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_array_length(request.topics.size());
  for (const CreatePartitionsTopic& t : request.topics) {
    w.write_string(t.name);
    w.write_int32(t.count);
    if (!t.assignments) {
      w.write_array_length(std::nullopt);
      continue;
    }
    w.write_array_length(t.assignments->size());
    for (const CreatePartitionsAssignment& a : *t.assignments) {
      w.write_array_length(a.broker_ids.size());
      for (int32_t id : a.broker_ids) w.write_int32(id);
    }
  }
  w.write_int32(request.timeout_ms);
  w.write_bool(request.validate_only);
  return out;
}

Result<CreatePartitionsResponse> decode_create_partitions_response(std::string_view body,
                                                                   int16_t version) {
  return decode_body<CreatePartitionsResponse>(
      body, "CreatePartitions response", version, kCreatePartitionsMinVersion,
      kCreatePartitionsMaxVersion, [](Reader& r) -> Result<CreatePartitionsResponse> {
        CreatePartitionsResponse resp;
        TESSERA_ASSIGN_OR_RETURN(resp.throttle_time_ms,
                                 named(r.read_int32(), "throttle_time_ms"));
        TESSERA_ASSIGN_OR_RETURN(size_t n, read_count(r, kResultBytes, "results"));
        resp.results.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          CreatePartitionsTopicResult t;
          TESSERA_ASSIGN_OR_RETURN(t.name, named(r.read_string(), "results.name"));
          TESSERA_ASSIGN_OR_RETURN(t.error_code, named(r.read_int16(), "results.error_code"));
          TESSERA_ASSIGN_OR_RETURN(t.error_message,
                                   named(r.read_nullable_string(), "results.error_message"));
          resp.results.push_back(std::move(t));
        }
        return resp;
      });
}

std::string encode_create_partitions_response(const CreatePartitionsResponse& response,
                                              int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.results.size());
  for (const CreatePartitionsTopicResult& t : response.results) {
    w.write_string(t.name);
    w.write_int16(t.error_code);
    w.write_nullable_string(t.error_message);
  }
  return out;
}

}  // namespace tessera::kafka
