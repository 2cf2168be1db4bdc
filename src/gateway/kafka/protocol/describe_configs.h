#pragma once
// DescribeConfigs (API key 32), versions 0-3: the non-flexible versions (v4
// is the first flexible one). Protocol guide, "DescribeConfigs API":
//
//   DescribeConfigs Request (Version: 0-3) =>
//       [resources] include_synonyms(v1+) include_documentation(v3+)
//     resources => resource_type INT8 resource_name STRING
//                  [configuration_keys STRING] (nullable array: null = all keys)
//     include_synonyms => BOOLEAN  include_documentation => BOOLEAN
//   DescribeConfigs Response (Version: 0-3) => throttle_time_ms [results]
//     results => error_code INT16 error_message NULLABLE_STRING
//                resource_type INT8 resource_name STRING [configs]
//       configs => name STRING value NULLABLE_STRING read_only BOOLEAN
//                  is_default BOOLEAN (v0 only) config_source INT8 (v1+)
//                  is_sensitive BOOLEAN [synonyms] (v1+)
//                  config_type INT8 (v3+) documentation NULLABLE_STRING (v3+)
//         synonyms => name STRING value NULLABLE_STRING source INT8
//
// v2 is byte-identical to v1. Codecs are pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kDescribeConfigsMinVersion = 0;
inline constexpr int16_t kDescribeConfigsMaxVersion = 3;

// The resource_type values of DescribeConfigs and AlterConfigs (Kafka's
// ConfigResource.Type). Carried on the wire as a raw INT8, so unknown values
// survive a decode.
enum class ConfigResourceType : int8_t {
  unknown = 0,
  topic = 2,
  broker = 4,
  broker_logger = 8,
  client_metrics = 16,
  group = 32,
};

struct DescribeConfigsResource {
  int8_t resource_type = 0;
  std::string resource_name;
  std::optional<std::vector<std::string>> configuration_keys;  // nullopt: every key
  bool operator==(const DescribeConfigsResource&) const = default;
};

struct DescribeConfigsRequest {
  std::vector<DescribeConfigsResource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+
  bool operator==(const DescribeConfigsRequest&) const = default;
};

struct DescribeConfigsSynonym {
  std::string name;
  std::optional<std::string> value;
  int8_t source = 0;
  bool operator==(const DescribeConfigsSynonym&) const = default;
};

struct DescribeConfigsResourceResult {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  bool is_default = false;  // v0 only; false when decoding v1+
  // v1+. -1 when decoding v0: the schema's placeholder (the meaningful v0
  // default depends on the resource, so callers derive it from is_default).
  int8_t config_source = -1;
  bool is_sensitive = false;
  std::vector<DescribeConfigsSynonym> synonyms;  // v1+
  int8_t config_type = 0;                        // v3+
  std::optional<std::string> documentation;      // v3+
  bool operator==(const DescribeConfigsResourceResult&) const = default;
};

struct DescribeConfigsResult {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t resource_type = 0;
  std::string resource_name;
  std::vector<DescribeConfigsResourceResult> configs;
  bool operator==(const DescribeConfigsResult&) const = default;
};

struct DescribeConfigsResponse {
  int32_t throttle_time_ms = 0;
  std::vector<DescribeConfigsResult> results;
  bool operator==(const DescribeConfigsResponse&) const = default;
};

// Decoders take the body after the header and reject versions outside
// [kDescribeConfigsMinVersion, kDescribeConfigsMaxVersion], malformed fields
// and trailing bytes. Encoders write exactly the fields `version` has and
// assert it is in range.
Result<DescribeConfigsRequest> decode_describe_configs_request(std::string_view body,
                                                               int16_t version);
Result<DescribeConfigsResponse> decode_describe_configs_response(std::string_view body,
                                                                 int16_t version);
std::string encode_describe_configs_request(const DescribeConfigsRequest& request,
                                            int16_t version);
std::string encode_describe_configs_response(const DescribeConfigsResponse& response,
                                             int16_t version);

}  // namespace tessera::kafka
