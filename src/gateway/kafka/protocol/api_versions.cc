#include "gateway/kafka/protocol/api_versions.h"

#include <string>

#include "base/assert.h"

namespace tessera::kafka {
namespace {

// The smallest encoding of one api_keys entry: three INT16s, plus an empty
// tagged-fields byte in flexible versions. Bounds the array count.
constexpr size_t kEntryBytes = 6;

bool is_flexible(int16_t version) { return version >= kApiVersionsFirstFlexibleVersion; }

Status unsupported(std::string_view what, int16_t version) {
  return Status(Errc::invalid_argument, "kafka: " + std::string(what) + " version " +
                                            std::to_string(version) + " is not supported");
}

bool version_known(int16_t version) { return version >= 0 && version <= kApiVersionsMaxVersion; }

}  // namespace

std::string_view api_key_name(int16_t api_key) {
  switch (static_cast<ApiKey>(api_key)) {
    case ApiKey::produce: return "Produce";
    case ApiKey::fetch: return "Fetch";
    case ApiKey::list_offsets: return "ListOffsets";
    case ApiKey::metadata: return "Metadata";
    case ApiKey::offset_commit: return "OffsetCommit";
    case ApiKey::offset_fetch: return "OffsetFetch";
    case ApiKey::find_coordinator: return "FindCoordinator";
    case ApiKey::join_group: return "JoinGroup";
    case ApiKey::heartbeat: return "Heartbeat";
    case ApiKey::leave_group: return "LeaveGroup";
    case ApiKey::sync_group: return "SyncGroup";
    case ApiKey::sasl_handshake: return "SaslHandshake";
    case ApiKey::api_versions: return "ApiVersions";
    case ApiKey::create_topics: return "CreateTopics";
    case ApiKey::delete_topics: return "DeleteTopics";
    case ApiKey::init_producer_id: return "InitProducerId";
    case ApiKey::describe_configs: return "DescribeConfigs";
    case ApiKey::alter_configs: return "AlterConfigs";
    case ApiKey::sasl_authenticate: return "SaslAuthenticate";
    case ApiKey::create_partitions: return "CreatePartitions";
  }
  return "Unknown";
}

// ApiVersionsRequest v3 => client_software_name COMPACT_STRING
//                          client_software_version COMPACT_STRING TAG_BUFFER
Result<ApiVersionsRequest> decode_api_versions_request(std::string_view body, int16_t version) {
  if (!version_known(version)) return unsupported("ApiVersions request", version);
  ApiVersionsRequest request;
  Reader r(body);
  if (is_flexible(version)) {
    TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.read_compact_string());
    TESSERA_ASSIGN_OR_RETURN(std::string_view software_version, r.read_compact_string());
    request.client_software_name = std::string(name);
    request.client_software_version = std::string(software_version);
    TESSERA_ASSIGN_OR_RETURN(request.tagged_fields, r.read_tagged_fields());
  }
  TESSERA_TRY(r.expect_end("ApiVersions request v" + std::to_string(version)));
  return request;
}

std::string encode_api_versions_request(const ApiVersionsRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  if (is_flexible(version)) {
    w.write_compact_string(request.client_software_name);
    w.write_compact_string(request.client_software_version);
    w.write_tagged_fields(request.tagged_fields);
  }
  return out;
}

// ApiVersionsResponse => error_code INT16 [api_keys] throttle_time_ms INT32 (v1+)
//   api_keys => api_key INT16 min_version INT16 max_version INT16 (+TAG_BUFFER v3)
// with a compact array and a trailing TAG_BUFFER in v3.
std::string encode_api_versions_response(const ApiVersionsResponse& response,
                                         int16_t version) {
  TESSERA_ASSERT(version_known(version));
  const bool flexible = is_flexible(version);
  std::string out;
  Writer w(&out);
  w.write_int16(response.error_code);
  if (flexible) {
    w.write_compact_array_length(response.api_keys.size());
  } else {
    w.write_array_length(response.api_keys.size());
  }
  for (const ApiVersionRange& k : response.api_keys) {
    w.write_int16(k.api_key);
    w.write_int16(k.min_version);
    w.write_int16(k.max_version);
    if (flexible) w.write_tagged_fields(k.tagged_fields);
  }
  if (version >= 1) w.write_int32(response.throttle_time_ms);
  if (flexible) w.write_tagged_fields(response.tagged_fields);
  return out;
}

Result<ApiVersionsResponse> decode_api_versions_response(std::string_view body,
                                                         int16_t version) {
  if (!version_known(version)) return unsupported("ApiVersions response", version);
  const bool flexible = is_flexible(version);
  const size_t entry_bytes = kEntryBytes + (flexible ? 1 : 0);
  ApiVersionsResponse response;
  Reader r(body);
  TESSERA_ASSIGN_OR_RETURN(response.error_code, r.read_int16());
  std::optional<size_t> count;
  if (flexible) {
    TESSERA_ASSIGN_OR_RETURN(count, r.read_compact_array_length(entry_bytes));
  } else {
    TESSERA_ASSIGN_OR_RETURN(count, r.read_array_length(entry_bytes));
  }
  // The schema's api_keys is not nullable; Kafka's reader rejects a null.
  if (!count) return Status(Errc::invalid_argument, "kafka: ApiVersions api_keys is null");
  response.api_keys.reserve(*count);
  for (size_t i = 0; i < *count; ++i) {
    ApiVersionRange k;
    TESSERA_ASSIGN_OR_RETURN(k.api_key, r.read_int16());
    TESSERA_ASSIGN_OR_RETURN(k.min_version, r.read_int16());
    TESSERA_ASSIGN_OR_RETURN(k.max_version, r.read_int16());
    if (flexible) {
      TESSERA_ASSIGN_OR_RETURN(k.tagged_fields, r.read_tagged_fields());
    }
    response.api_keys.push_back(std::move(k));
  }
  if (version >= 1) {
    TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.read_int32());
  }
  if (flexible) {
    TESSERA_ASSIGN_OR_RETURN(response.tagged_fields, r.read_tagged_fields());
  }
  TESSERA_TRY(r.expect_end("ApiVersions response v" + std::to_string(version)));
  return response;
}

}  // namespace tessera::kafka
