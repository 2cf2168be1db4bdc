#pragma once
// Metadata (API key 3), versions 0-8: the non-flexible versions (v9 is the
// first flexible one), from the protocol guide's "Metadata API" BNF:
//   v1: null topics means all topics, broker rack, controller id, is_internal;
//   v2: cluster_id; v3: throttle_time_ms; v4: allow_auto_topic_creation;
//   v5: offline_replicas; v7: leader_epoch; v8: authorized operations.
//
// Fields a version lacks are not written by the encoders and are left at
// their defaults (the schema's defaults) by the decoders.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kMetadataMinVersion = 0;
inline constexpr int16_t kMetadataMaxVersion = 8;

// The schema's default for the authorized-operations bit fields: "not
// requested / not computed".
inline constexpr int32_t kAuthorizedOperationsUnknown = std::numeric_limits<int32_t>::min();

struct MetadataRequest {
  // nullopt = all topics. In v0 the wire has no null: an empty array means all
  // topics, so the v0 decoder returns nullopt for it, and the v0 encoder writes
  // an empty array for both nullopt and an empty list (v0 cannot ask for none).
  std::optional<std::vector<std::string>> topics;
  bool allow_auto_topic_creation = true;               // v4+ (older: always true)
  bool include_cluster_authorized_operations = false;  // v8+
  bool include_topic_authorized_operations = false;    // v8+
  bool operator==(const MetadataRequest&) const = default;
};

struct MetadataBroker {
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;  // v1+
  bool operator==(const MetadataBroker&) const = default;
};

struct MetadataPartition {
  int16_t error_code = 0;
  int32_t partition_index = 0;
  int32_t leader_id = 0;
  int32_t leader_epoch = -1;  // v7+
  std::vector<int32_t> replica_nodes;
  std::vector<int32_t> isr_nodes;
  std::vector<int32_t> offline_replicas;  // v5+
  bool operator==(const MetadataPartition&) const = default;
};

struct MetadataTopic {
  int16_t error_code = 0;
  std::string name;
  bool is_internal = false;  // v1+
  std::vector<MetadataPartition> partitions;
  int32_t topic_authorized_operations = kAuthorizedOperationsUnknown;  // v8+
  bool operator==(const MetadataTopic&) const = default;
};

struct MetadataResponse {
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<MetadataBroker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  int32_t controller_id = -1;             // v1+
  std::vector<MetadataTopic> topics;
  int32_t cluster_authorized_operations = kAuthorizedOperationsUnknown;  // v8+
  bool operator==(const MetadataResponse&) const = default;
};

// Decoders take the body after the request/response header. They reject a
// version outside [kMetadataMinVersion, kMetadataMaxVersion], malformed or
// truncated fields (naming the field) and trailing bytes.
Result<MetadataRequest> decode_metadata_request(std::string_view body, int16_t version);
Result<MetadataResponse> decode_metadata_response(std::string_view body, int16_t version);

// Encoders: `version` must be in range (asserted; the caller negotiated it).
std::string encode_metadata_request(const MetadataRequest& request, int16_t version);
std::string encode_metadata_response(const MetadataResponse& response, int16_t version);

}  // namespace tessera::kafka
