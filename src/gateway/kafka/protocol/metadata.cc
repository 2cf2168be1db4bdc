#include "gateway/kafka/protocol/metadata.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/data_codec_internal.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using data_codec::FieldReader;

constexpr std::string_view kRequest = "Metadata request";
constexpr std::string_view kResponse = "Metadata response";

// Smallest encodings, bounding array counts by the bytes left: a STRING is at
// least its INT16 length; an ARRAY at least its INT32 count.
constexpr size_t kTopicNameBytes = 2;
constexpr size_t kBrokerBytes = 4 + 2 + 4;                     // node_id host port
constexpr size_t kTopicBytes = 2 + 2 + 4;                      // error name partitions
constexpr size_t kPartitionBytes = 2 + 4 + 4 + 4 + 4;          // .. replicas isr

bool version_known(int16_t v) { return v >= kMetadataMinVersion && v <= kMetadataMaxVersion; }

Result<MetadataPartition> read_partition(FieldReader& r, int16_t version) {
  MetadataPartition p;
  TESSERA_ASSIGN_OR_RETURN(p.error_code, r.int16("topics.partitions.error_code"));
  TESSERA_ASSIGN_OR_RETURN(p.partition_index, r.int32("topics.partitions.partition_index"));
  TESSERA_ASSIGN_OR_RETURN(p.leader_id, r.int32("topics.partitions.leader_id"));
  if (version >= 7) {
    TESSERA_ASSIGN_OR_RETURN(p.leader_epoch, r.int32("topics.partitions.leader_epoch"));
  }
  TESSERA_ASSIGN_OR_RETURN(p.replica_nodes, r.int32_array("topics.partitions.replica_nodes"));
  TESSERA_ASSIGN_OR_RETURN(p.isr_nodes, r.int32_array("topics.partitions.isr_nodes"));
  if (version >= 5) {
    TESSERA_ASSIGN_OR_RETURN(p.offline_replicas,
                             r.int32_array("topics.partitions.offline_replicas"));
  }
  return p;
}

Result<MetadataTopic> read_topic(FieldReader& r, int16_t version) {
  MetadataTopic t;
  TESSERA_ASSIGN_OR_RETURN(t.error_code, r.int16("topics.error_code"));
  TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("topics.name"));
  t.name = std::string(name);
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(t.is_internal, r.boolean("topics.is_internal"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("topics.partitions", kPartitionBytes));
  t.partitions.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    TESSERA_ASSIGN_OR_RETURN(MetadataPartition p, read_partition(r, version));
    t.partitions.push_back(std::move(p));
  }
  if (version >= 8) {
    TESSERA_ASSIGN_OR_RETURN(t.topic_authorized_operations,
                             r.int32("topics.topic_authorized_operations"));
  }
  return t;
}

}  // namespace

// Metadata Request (v0-v8) => [topics] allow_auto_topic_creation (v4+)
//   include_cluster_authorized_operations (v8) include_topic_authorized_operations (v8)
//   topics => name STRING
Result<MetadataRequest> decode_metadata_request(std::string_view body, int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  MetadataRequest request;
  TESSERA_ASSIGN_OR_RETURN(std::optional<size_t> n, r.nullable_array("topics", kTopicNameBytes));
  if (!n && version == 0) return r.error("topics", "ARRAY is null (not nullable in v0)");
  if (n && !(version == 0 && *n == 0)) {
    request.topics.emplace();
    request.topics->reserve(*n);
    for (size_t i = 0; i < *n; ++i) {
      TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("topics.name"));
      request.topics->emplace_back(name);
    }
  }
  if (version >= 4) {
    TESSERA_ASSIGN_OR_RETURN(request.allow_auto_topic_creation,
                             r.boolean("allow_auto_topic_creation"));
  }
  if (version >= 8) {
    TESSERA_ASSIGN_OR_RETURN(request.include_cluster_authorized_operations,
                             r.boolean("include_cluster_authorized_operations"));
    TESSERA_ASSIGN_OR_RETURN(request.include_topic_authorized_operations,
                             r.boolean("include_topic_authorized_operations"));
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_metadata_request(const MetadataRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  if (!request.topics) {
    w.write_array_length(version == 0 ? std::optional<size_t>(0) : std::nullopt);
  } else {
    w.write_array_length(request.topics->size());
    for (const std::string& name : *request.topics) w.write_string(name);
  }
  if (version >= 4) w.write_bool(request.allow_auto_topic_creation);
  if (version >= 8) {
    w.write_bool(request.include_cluster_authorized_operations);
    w.write_bool(request.include_topic_authorized_operations);
  }
  return out;
}

// Metadata Response (v0-v8) => throttle_time_ms (v3+) [brokers] cluster_id (v2+)
//   controller_id (v1+) [topics] cluster_authorized_operations (v8)
//   brokers => node_id host port rack (v1+, NULLABLE_STRING)
//   topics => error_code name is_internal (v1+) [partitions] topic_authorized_operations (v8)
//   partitions => error_code partition_index leader_id leader_epoch (v7+)
//                 [replica_nodes] [isr_nodes] [offline_replicas] (v5+)
std::string encode_metadata_response(const MetadataResponse& response, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  if (version >= 3) w.write_int32(response.throttle_time_ms);
  w.write_array_length(response.brokers.size());
  for (const MetadataBroker& b : response.brokers) {
    w.write_int32(b.node_id);
    w.write_string(b.host);
    w.write_int32(b.port);
    if (version >= 1) w.write_nullable_string(b.rack);
  }
  if (version >= 2) w.write_nullable_string(response.cluster_id);
  if (version >= 1) w.write_int32(response.controller_id);
  w.write_array_length(response.topics.size());
  for (const MetadataTopic& t : response.topics) {
    w.write_int16(t.error_code);
    w.write_string(t.name);
    if (version >= 1) w.write_bool(t.is_internal);
    w.write_array_length(t.partitions.size());
    for (const MetadataPartition& p : t.partitions) {
      w.write_int16(p.error_code);
      w.write_int32(p.partition_index);
      w.write_int32(p.leader_id);
      if (version >= 7) w.write_int32(p.leader_epoch);
      data_codec::write_int32_array(w, p.replica_nodes);
      data_codec::write_int32_array(w, p.isr_nodes);
      if (version >= 5) data_codec::write_int32_array(w, p.offline_replicas);
    }
    if (version >= 8) w.write_int32(t.topic_authorized_operations);
  }
  if (version >= 8) w.write_int32(response.cluster_authorized_operations);
  return out;
}

Result<MetadataResponse> decode_metadata_response(std::string_view body, int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  MetadataResponse response;
  if (version >= 3) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t brokers, r.array("brokers", kBrokerBytes));
  response.brokers.reserve(brokers);
  for (size_t i = 0; i < brokers; ++i) {
    MetadataBroker b;
    TESSERA_ASSIGN_OR_RETURN(b.node_id, r.int32("brokers.node_id"));
    TESSERA_ASSIGN_OR_RETURN(std::string_view host, r.string("brokers.host"));
    b.host = std::string(host);
    TESSERA_ASSIGN_OR_RETURN(b.port, r.int32("brokers.port"));
    if (version >= 1) {
      TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> rack,
                               r.nullable_string("brokers.rack"));
      if (rack) b.rack = std::string(*rack);
    }
    response.brokers.push_back(std::move(b));
  }
  if (version >= 2) {
    TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> cluster_id,
                             r.nullable_string("cluster_id"));
    if (cluster_id) response.cluster_id = std::string(*cluster_id);
  }
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(response.controller_id, r.int32("controller_id"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topics, r.array("topics", kTopicBytes));
  response.topics.reserve(topics);
  for (size_t i = 0; i < topics; ++i) {
    TESSERA_ASSIGN_OR_RETURN(MetadataTopic t, read_topic(r, version));
    response.topics.push_back(std::move(t));
  }
  if (version >= 8) {
    TESSERA_ASSIGN_OR_RETURN(response.cluster_authorized_operations,
                             r.int32("cluster_authorized_operations"));
  }
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
