#include "gateway/kafka/protocol/list_offsets.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/data_codec_internal.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using data_codec::FieldReader;

constexpr std::string_view kRequest = "ListOffsets request";
constexpr std::string_view kResponse = "ListOffsets response";

// Smallest encodings, bounding array counts by the bytes left.
constexpr size_t kTopicBytes = 2 + 4;          // name [partitions]
constexpr size_t kPartitionBytes = 4 + 8;      // partition_index timestamp
constexpr size_t kPartitionResponseBytes = 4 + 2 + 4;  // index error_code, v0 offsets

bool version_known(int16_t v) {
  return v >= kListOffsetsMinVersion && v <= kListOffsetsMaxVersion;
}

Result<ListOffsetsPartitionResponse> read_partition_response(FieldReader& r, int16_t version) {
  ListOffsetsPartitionResponse p;
  TESSERA_ASSIGN_OR_RETURN(p.partition_index, r.int32("topics.partitions.partition_index"));
  TESSERA_ASSIGN_OR_RETURN(p.error_code, r.int16("topics.partitions.error_code"));
  if (version == 0) {
    TESSERA_ASSIGN_OR_RETURN(p.old_style_offsets,
                             r.int64_array("topics.partitions.old_style_offsets"));
  } else {
    TESSERA_ASSIGN_OR_RETURN(p.timestamp, r.int64("topics.partitions.timestamp"));
    TESSERA_ASSIGN_OR_RETURN(p.offset, r.int64("topics.partitions.offset"));
  }
  if (version >= 4) {
    TESSERA_ASSIGN_OR_RETURN(p.leader_epoch, r.int32("topics.partitions.leader_epoch"));
  }
  return p;
}

}  // namespace

// ListOffsets Request (v0-v5) => replica_id INT32 isolation_level INT8 (v2+) [topics]
//   topics => name STRING [partitions]
//   partitions => partition_index INT32 current_leader_epoch INT32 (v4+)
//                 timestamp INT64 max_num_offsets INT32 (v0)
Result<ListOffsetsRequest> decode_list_offsets_request(std::string_view body, int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  ListOffsetsRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.replica_id, r.int32("replica_id"));
  if (version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(request.isolation_level, r.int8("isolation_level"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topics, r.array("topics", kTopicBytes));
  request.topics.resize(topics);
  for (ListOffsetsTopic& t : request.topics) {
    TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("topics.name"));
    t.name = std::string(name);
    TESSERA_ASSIGN_OR_RETURN(size_t partitions, r.array("topics.partitions", kPartitionBytes));
    t.partitions.resize(partitions);
    for (ListOffsetsPartition& p : t.partitions) {
      TESSERA_ASSIGN_OR_RETURN(p.partition_index, r.int32("topics.partitions.partition_index"));
      if (version >= 4) {
        TESSERA_ASSIGN_OR_RETURN(p.current_leader_epoch,
                                 r.int32("topics.partitions.current_leader_epoch"));
      }
      TESSERA_ASSIGN_OR_RETURN(p.timestamp, r.int64("topics.partitions.timestamp"));
      if (version == 0) {
        TESSERA_ASSIGN_OR_RETURN(p.max_num_offsets, r.int32("topics.partitions.max_num_offsets"));
      }
    }
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_list_offsets_request(const ListOffsetsRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int32(request.replica_id);
  if (version >= 2) w.write_int8(request.isolation_level);
  w.write_array_length(request.topics.size());
  for (const ListOffsetsTopic& t : request.topics) {
    w.write_string(t.name);
    w.write_array_length(t.partitions.size());
    for (const ListOffsetsPartition& p : t.partitions) {
      w.write_int32(p.partition_index);
      if (version >= 4) w.write_int32(p.current_leader_epoch);
      w.write_int64(p.timestamp);
      if (version == 0) w.write_int32(p.max_num_offsets);
    }
  }
  return out;
}

// ListOffsets Response (v0-v5) => throttle_time_ms INT32 (v2+) [topics]
//   topics => name STRING [partitions]
//   partitions => partition_index INT32 error_code INT16 [old_style_offsets INT64] (v0)
//                 timestamp INT64 (v1+) offset INT64 (v1+) leader_epoch INT32 (v4+)
std::string encode_list_offsets_response(const ListOffsetsResponse& response, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  if (version >= 2) w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.topics.size());
  for (const ListOffsetsTopicResponse& t : response.topics) {
    w.write_string(t.name);
    w.write_array_length(t.partitions.size());
    for (const ListOffsetsPartitionResponse& p : t.partitions) {
      w.write_int32(p.partition_index);
      w.write_int16(p.error_code);
      if (version == 0) {
        data_codec::write_int64_array(w, p.old_style_offsets);
      } else {
        w.write_int64(p.timestamp);
        w.write_int64(p.offset);
      }
      if (version >= 4) w.write_int32(p.leader_epoch);
    }
  }
  return out;
}

Result<ListOffsetsResponse> decode_list_offsets_response(std::string_view body,
                                                         int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  ListOffsetsResponse response;
  if (version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topics, r.array("topics", kTopicBytes));
  response.topics.reserve(topics);
  for (size_t i = 0; i < topics; ++i) {
    ListOffsetsTopicResponse t;
    TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("topics.name"));
    t.name = std::string(name);
    TESSERA_ASSIGN_OR_RETURN(size_t partitions,
                             r.array("topics.partitions", kPartitionResponseBytes));
    t.partitions.reserve(partitions);
    for (size_t j = 0; j < partitions; ++j) {
      TESSERA_ASSIGN_OR_RETURN(ListOffsetsPartitionResponse p,
                               read_partition_response(r, version));
      t.partitions.push_back(std::move(p));
    }
    response.topics.push_back(std::move(t));
  }
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
