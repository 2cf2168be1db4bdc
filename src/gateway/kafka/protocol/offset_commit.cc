#include "gateway/kafka/protocol/offset_commit.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/group_field_reader.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using group_internal::FieldReader;
using group_internal::unsupported_version;
using group_internal::view;

constexpr std::string_view kRequest = "OffsetCommit request";
constexpr std::string_view kResponse = "OffsetCommit response";
constexpr size_t kTopicBytes = 2 + 4;              // name, partitions count
constexpr size_t kResponsePartitionBytes = 4 + 2;  // partition_index, error_code

bool in_range(int16_t v) {
  return v >= kOffsetCommitMinVersion && v <= kOffsetCommitMaxVersion;
}

// partition_index, committed_offset, [leader epoch], [timestamp], metadata.
size_t request_partition_bytes(int16_t version) {
  return 4 + 8 + (version >= 6 ? 4 : 0) + (version == 1 ? 8 : 0) + 2;
}

}  // namespace

Result<OffsetCommitRequest> decode_offset_commit_request(std::string_view body,
                                                         int16_t version) {
  if (!in_range(version)) return unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  OffsetCommitRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.group_id, r.string("group_id"));
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(request.generation_id, r.int32("generation_id"));
    TESSERA_ASSIGN_OR_RETURN(request.member_id, r.string("member_id"));
  }
  if (version >= 7) {
    TESSERA_ASSIGN_OR_RETURN(request.group_instance_id, r.nullable_string("group_instance_id"));
  }
  if (version >= 2 && version <= 4) {
    TESSERA_ASSIGN_OR_RETURN(request.retention_time_ms, r.int64("retention_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topic_count, r.array("topics", kTopicBytes));
  request.topics.reserve(topic_count);
  for (size_t t = 0; t < topic_count; ++t) {
    OffsetCommitRequestTopic topic;
    TESSERA_ASSIGN_OR_RETURN(topic.name, r.string("topics.name"));
    TESSERA_ASSIGN_OR_RETURN(size_t n,
                             r.array("topics.partitions", request_partition_bytes(version)));
    topic.partitions.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      OffsetCommitRequestPartition p;
      TESSERA_ASSIGN_OR_RETURN(p.partition_index, r.int32("partitions.partition_index"));
      TESSERA_ASSIGN_OR_RETURN(p.committed_offset, r.int64("partitions.committed_offset"));
      if (version >= 6) {
        TESSERA_ASSIGN_OR_RETURN(p.committed_leader_epoch,
                                 r.int32("partitions.committed_leader_epoch"));
      }
      if (version == 1) {
        TESSERA_ASSIGN_OR_RETURN(p.commit_timestamp, r.int64("partitions.commit_timestamp"));
      }
      TESSERA_ASSIGN_OR_RETURN(p.committed_metadata,
                               r.nullable_string("partitions.committed_metadata"));
      topic.partitions.push_back(std::move(p));
    }
    request.topics.push_back(std::move(topic));
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_offset_commit_request(const OffsetCommitRequest& request, int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  w.write_string(request.group_id);
  if (version >= 1) {
    w.write_int32(request.generation_id);
    w.write_string(request.member_id);
  }
  if (version >= 7) w.write_nullable_string(view(request.group_instance_id));
  if (version >= 2 && version <= 4) w.write_int64(request.retention_time_ms);
  w.write_array_length(request.topics.size());
  for (const OffsetCommitRequestTopic& topic : request.topics) {
    w.write_string(topic.name);
    w.write_array_length(topic.partitions.size());
    for (const OffsetCommitRequestPartition& p : topic.partitions) {
      w.write_int32(p.partition_index);
      w.write_int64(p.committed_offset);
      if (version >= 6) w.write_int32(p.committed_leader_epoch);
      if (version == 1) w.write_int64(p.commit_timestamp);
      w.write_nullable_string(view(p.committed_metadata));
    }
  }
  return out;
}

std::string encode_offset_commit_response(const OffsetCommitResponse& response,
                                          int16_t version) {
  TESSERA_ASSERT(in_range(version));
  std::string out;
  Writer w(&out);
  if (version >= 3) w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.topics.size());
  for (const OffsetCommitResponseTopic& topic : response.topics) {
    w.write_string(topic.name);
    w.write_array_length(topic.partitions.size());
    for (const OffsetCommitResponsePartition& p : topic.partitions) {
      w.write_int32(p.partition_index);
      w.write_int16(p.error_code);
    }
  }
  return out;
}

Result<OffsetCommitResponse> decode_offset_commit_response(std::string_view body,
                                                           int16_t version) {
  if (!in_range(version)) return unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  OffsetCommitResponse response;
  if (version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topic_count, r.array("topics", kTopicBytes));
  response.topics.reserve(topic_count);
  for (size_t t = 0; t < topic_count; ++t) {
    OffsetCommitResponseTopic topic;
    TESSERA_ASSIGN_OR_RETURN(topic.name, r.string("topics.name"));
    TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("topics.partitions", kResponsePartitionBytes));
    topic.partitions.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      OffsetCommitResponsePartition p;
      TESSERA_ASSIGN_OR_RETURN(p.partition_index, r.int32("partitions.partition_index"));
      TESSERA_ASSIGN_OR_RETURN(p.error_code, r.int16("partitions.error_code"));
      topic.partitions.push_back(std::move(p));
    }
    response.topics.push_back(std::move(topic));
  }
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
