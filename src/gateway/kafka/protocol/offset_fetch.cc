#include "gateway/kafka/protocol/offset_fetch.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/group_field_reader.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using group_internal::FieldReader;
using group_internal::unsupported_version;
using group_internal::view;

constexpr std::string_view kRequest = "OffsetFetch request";
constexpr std::string_view kResponse = "OffsetFetch response";
constexpr size_t kTopicBytes = 2 + 4;  // name, array count

bool in_range(int16_t v) { return v >= kOffsetFetchMinVersion && v <= kOffsetFetchMaxVersion; }

// partition_index, committed_offset, [leader epoch], metadata, error_code.
size_t response_partition_bytes(int16_t version) {
  return 4 + 8 + (version >= 5 ? 4 : 0) + 2 + 2;
}

}  // namespace

Result<OffsetFetchRequest> decode_offset_fetch_request(std::string_view body, int16_t version) {
  if (!in_range(version)) return unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  OffsetFetchRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.group_id, r.string("group_id"));
  std::optional<size_t> topic_count;
  if (version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(topic_count, r.nullable_array("topics", kTopicBytes));
  } else {
    TESSERA_ASSIGN_OR_RETURN(topic_count, r.array("topics", kTopicBytes));
  }
  if (!topic_count) {
    request.topics.reset();
  } else {
    request.topics->reserve(*topic_count);
    for (size_t t = 0; t < *topic_count; ++t) {
      OffsetFetchRequestTopic topic;
      TESSERA_ASSIGN_OR_RETURN(topic.name, r.string("topics.name"));
      TESSERA_ASSIGN_OR_RETURN(topic.partition_indexes,
                               r.int32_array("topics.partition_indexes"));
      request.topics->push_back(std::move(topic));
    }
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_offset_fetch_request(const OffsetFetchRequest& request, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  TESSERA_ASSERT(request.topics.has_value() || version >= 2);
  std::string out;
  Writer w(&out);
  w.write_string(request.group_id);
  if (!request.topics) {
    w.write_array_length(std::nullopt);
    return out;
  }
  w.write_array_length(request.topics->size());
  for (const OffsetFetchRequestTopic& topic : *request.topics) {
    w.write_string(topic.name);
    w.write_array_length(topic.partition_indexes.size());
    for (int32_t p : topic.partition_indexes) w.write_int32(p);
  }
  return out;
}

std::string encode_offset_fetch_response(const OffsetFetchResponse& response, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  if (version >= 3) w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.topics.size());
  for (const OffsetFetchResponseTopic& topic : response.topics) {
    w.write_string(topic.name);
    w.write_array_length(topic.partitions.size());
    for (const OffsetFetchResponsePartition& p : topic.partitions) {
      w.write_int32(p.partition_index);
      w.write_int64(p.committed_offset);
      if (version >= 5) w.write_int32(p.committed_leader_epoch);
      w.write_nullable_string(view(p.metadata));
      w.write_int16(p.error_code);
    }
  }
  if (version >= 2) w.write_int16(response.error_code);
  return out;
}

Result<OffsetFetchResponse> decode_offset_fetch_response(std::string_view body,
                                                         int16_t version) {
  if (!in_range(version)) return unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  OffsetFetchResponse response;
  if (version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topic_count, r.array("topics", kTopicBytes));
  response.topics.reserve(topic_count);
  for (size_t t = 0; t < topic_count; ++t) {
    OffsetFetchResponseTopic topic;
    TESSERA_ASSIGN_OR_RETURN(topic.name, r.string("topics.name"));
    TESSERA_ASSIGN_OR_RETURN(size_t n,
                             r.array("topics.partitions", response_partition_bytes(version)));
    topic.partitions.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      OffsetFetchResponsePartition p;
      TESSERA_ASSIGN_OR_RETURN(p.partition_index, r.int32("partitions.partition_index"));
      TESSERA_ASSIGN_OR_RETURN(p.committed_offset, r.int64("partitions.committed_offset"));
      if (version >= 5) {
        TESSERA_ASSIGN_OR_RETURN(p.committed_leader_epoch,
                                 r.int32("partitions.committed_leader_epoch"));
      }
      TESSERA_ASSIGN_OR_RETURN(p.metadata, r.nullable_string("partitions.metadata"));
      TESSERA_ASSIGN_OR_RETURN(p.error_code, r.int16("partitions.error_code"));
      topic.partitions.push_back(std::move(p));
    }
    response.topics.push_back(std::move(topic));
  }
  if (version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
  }
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
