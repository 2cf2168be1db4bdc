#pragma once
// The API keys Tessera's Kafka gateway will serve, and the ApiVersions
// request and response (API key 18, versions 0-3; KIP-511 for v3).
//
// ApiVersions is the first request a client sends, before it knows what the
// broker speaks, hence two rules of the protocol guide encoded here:
//  - v3 is the first flexible version (request header v2, compact strings and
//    tagged fields in the body), but its RESPONSE header is always v0, so that
//    a client that guessed too high a version can still read the reply;
//  - v0-v2 requests have an empty body.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {

// Request type numbers from the protocol guide's "Api Keys" table.
enum class ApiKey : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  init_producer_id = 22,
  describe_configs = 32,
  alter_configs = 33,
  sasl_authenticate = 36,
  create_partitions = 37,
};

// The protocol guide's name of a key ("ApiVersions"); "Unknown" for others.
std::string_view api_key_name(int16_t api_key);

inline constexpr int16_t kApiVersionsMaxVersion = 3;
inline constexpr int16_t kApiVersionsFirstFlexibleVersion = 3;
// KIP-511: every ApiVersions response uses response header v0.
inline constexpr int kApiVersionsResponseHeaderVersion = 0;

// Request header version for an ApiVersions request of `version`.
constexpr int api_versions_request_header_version(int16_t version) {
  return version >= kApiVersionsFirstFlexibleVersion ? 2 : 1;
}

struct ApiVersionsRequest {
  // v3+: who the client is (for broker metrics); empty before v3.
  std::string client_software_name;
  std::string client_software_version;
  TaggedFields tagged_fields;  // v3+
};

struct ApiVersionRange {
  int16_t api_key = 0;
  int16_t min_version = 0;  // inclusive
  int16_t max_version = 0;  // inclusive
  TaggedFields tagged_fields;  // v3+
  bool operator==(const ApiVersionRange&) const = default;
};

struct ApiVersionsResponse {
  int16_t error_code = 0;
  std::vector<ApiVersionRange> api_keys;
  int32_t throttle_time_ms = 0;  // v1+
  // v3+. Holds the optional SupportedFeatures / FinalizedFeatures tags, which
  // this codec carries as raw bytes without interpreting them.
  TaggedFields tagged_fields;
  bool operator==(const ApiVersionsResponse&) const = default;
};

// Decodes a request body (the bytes after the request header). Rejects
// versions above kApiVersionsMaxVersion, malformed fields and trailing bytes.
Result<ApiVersionsRequest> decode_api_versions_request(std::string_view body, int16_t version);
// The inverse, for tests and a future client.
std::string encode_api_versions_request(const ApiVersionsRequest& request, int16_t version);

// Encodes a response body (without the header, which the caller writes with
// kApiVersionsResponseHeaderVersion). Fields the version lacks are omitted:
// throttle_time_ms before v1, tagged fields before v3. `version` must be in
// [0, kApiVersionsMaxVersion] (asserted).
std::string encode_api_versions_response(const ApiVersionsResponse& response, int16_t version);
Result<ApiVersionsResponse> decode_api_versions_response(std::string_view body, int16_t version);

}  // namespace tessera::kafka
