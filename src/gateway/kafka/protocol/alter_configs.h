#pragma once
// AlterConfigs (API key 33), versions 0-1: the non-flexible versions (v2 is
// the first flexible one). Protocol guide, "AlterConfigs API":
//
//   AlterConfigs Request (Version: 0-1) => [resources] validate_only
//     resources => resource_type INT8 resource_name STRING [configs]
//       configs => name STRING value NULLABLE_STRING
//     validate_only => BOOLEAN
//   AlterConfigs Response (Version: 0-1) => throttle_time_ms [responses]
//     responses => error_code INT16 error_message NULLABLE_STRING
//                  resource_type INT8 resource_name STRING
//
// v1 is byte-identical to v0 (it changes only when throttling happens).
// resource_type takes the values of ConfigResourceType (describe_configs.h).
// Codecs are pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::kafka {

inline constexpr int16_t kAlterConfigsMinVersion = 0;
inline constexpr int16_t kAlterConfigsMaxVersion = 1;

struct AlterableConfig {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const AlterableConfig&) const = default;
};

struct AlterConfigsResource {
  int8_t resource_type = 0;
  std::string resource_name;
  std::vector<AlterableConfig> configs;
  bool operator==(const AlterConfigsResource&) const = default;
};

struct AlterConfigsRequest {
  std::vector<AlterConfigsResource> resources;
  bool validate_only = false;
  bool operator==(const AlterConfigsRequest&) const = default;
};

struct AlterConfigsResourceResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t resource_type = 0;
  std::string resource_name;
  bool operator==(const AlterConfigsResourceResponse&) const = default;
};

struct AlterConfigsResponse {
  int32_t throttle_time_ms = 0;
  std::vector<AlterConfigsResourceResponse> responses;
  bool operator==(const AlterConfigsResponse&) const = default;
};

// Decoders take the body after the header and reject versions outside
// [kAlterConfigsMinVersion, kAlterConfigsMaxVersion], malformed fields and
// trailing bytes. Encoders assert the version is in range.
Result<AlterConfigsRequest> decode_alter_configs_request(std::string_view body, int16_t version);
Result<AlterConfigsResponse> decode_alter_configs_response(std::string_view body,
                                                           int16_t version);
std::string encode_alter_configs_request(const AlterConfigsRequest& request, int16_t version);
std::string encode_alter_configs_response(const AlterConfigsResponse& response,
                                          int16_t version);

}  // namespace tessera::kafka
