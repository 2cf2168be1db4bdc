#include "gateway/kafka/server/handlers.h"

#include <array>

#include "gateway/kafka/protocol/alter_configs.h"
#include "gateway/kafka/protocol/create_partitions.h"
#include "gateway/kafka/protocol/create_topics.h"
#include "gateway/kafka/protocol/delete_topics.h"
#include "gateway/kafka/protocol/describe_configs.h"
#include "gateway/kafka/protocol/fetch.h"
#include "gateway/kafka/protocol/find_coordinator.h"
#include "gateway/kafka/protocol/heartbeat.h"
#include "gateway/kafka/protocol/join_group.h"
#include "gateway/kafka/protocol/leave_group.h"
#include "gateway/kafka/protocol/offset_commit.h"
#include "gateway/kafka/protocol/offset_fetch.h"
#include "gateway/kafka/protocol/sync_group.h"
#include "gateway/kafka/protocol/init_producer_id.h"
#include "gateway/kafka/protocol/list_offsets.h"
#include "gateway/kafka/protocol/metadata.h"
#include "gateway/kafka/protocol/produce.h"
#include "gateway/kafka/protocol/sasl.h"

namespace tessera::kafka {
namespace {

// Only non-flexible versions are served (but ApiVersions v3, whose response
// header stays v0): every client of the issue negotiates down to them.
constexpr std::array kHandlers{
    ApiHandler{ApiKey::produce, kProduceMinVersion, kProduceMaxVersion, handle_produce},
    ApiHandler{ApiKey::fetch, kFetchMinVersion, kFetchMaxVersion, handle_fetch},
    ApiHandler{ApiKey::list_offsets, kListOffsetsMinVersion, kListOffsetsMaxVersion, handle_list_offsets},
    ApiHandler{ApiKey::metadata, kMetadataMinVersion, kMetadataMaxVersion, handle_metadata},
    ApiHandler{ApiKey::offset_commit, kOffsetCommitMinVersion, kOffsetCommitMaxVersion, handle_offset_commit},
    ApiHandler{ApiKey::offset_fetch, kOffsetFetchMinVersion, kOffsetFetchMaxVersion, handle_offset_fetch},
    ApiHandler{ApiKey::find_coordinator, kFindCoordinatorMinVersion, kFindCoordinatorMaxVersion,
               handle_find_coordinator},
    ApiHandler{ApiKey::join_group, kJoinGroupMinVersion, kJoinGroupMaxVersion, handle_join_group},
    ApiHandler{ApiKey::heartbeat, kHeartbeatMinVersion, kHeartbeatMaxVersion, handle_heartbeat},
    ApiHandler{ApiKey::leave_group, kLeaveGroupMinVersion, kLeaveGroupMaxVersion, handle_leave_group},
    ApiHandler{ApiKey::sync_group, kSyncGroupMinVersion, kSyncGroupMaxVersion, handle_sync_group},
    ApiHandler{ApiKey::sasl_handshake, kSaslHandshakeMinVersion, kSaslHandshakeMaxVersion,
               handle_sasl_handshake},
    ApiHandler{ApiKey::api_versions, 0, kApiVersionsMaxVersion, handle_api_versions},
    ApiHandler{ApiKey::create_topics, kCreateTopicsMinVersion, kCreateTopicsMaxVersion, handle_create_topics},
    ApiHandler{ApiKey::delete_topics, kDeleteTopicsMinVersion, kDeleteTopicsMaxVersion, handle_delete_topics},
    ApiHandler{ApiKey::init_producer_id, kInitProducerIdMinVersion, kInitProducerIdMaxVersion,
               handle_init_producer_id},
    ApiHandler{ApiKey::describe_configs, kDescribeConfigsMinVersion, kDescribeConfigsMaxVersion,
               handle_describe_configs},
    ApiHandler{ApiKey::alter_configs, kAlterConfigsMinVersion, kAlterConfigsMaxVersion, handle_alter_configs},
    ApiHandler{ApiKey::sasl_authenticate, kSaslAuthenticateMinVersion, kSaslAuthenticateMaxVersion,
               handle_sasl_authenticate},
    ApiHandler{ApiKey::create_partitions, kCreatePartitionsMinVersion, kCreatePartitionsMaxVersion,
               handle_create_partitions},
};

}  // namespace

const ApiHandler* find_handler(int16_t api_key) {
  for (const auto& h : kHandlers) {
    if (static_cast<int16_t>(h.key) == api_key) return &h;
  }
  return nullptr;
}

std::span<const ApiHandler> api_handlers() { return kHandlers; }

std::string api_versions_response(int16_t version, int16_t error_code) {
  ApiVersionsResponse resp;
  resp.error_code = error_code;
  for (const auto& h : kHandlers) {
    resp.api_keys.push_back(ApiVersionRange{static_cast<int16_t>(h.key), h.min_version, h.max_version, {}});
  }
  return encode_api_versions_response(resp, version);
}

HandlerResult handle_api_versions(Session&, const RequestHeader& h, std::string_view body) {
  TESSERA_TRY(decode_api_versions_request(body, h.api_version).status());
  return std::optional<std::string>(api_versions_response(h.api_version, 0));
}

}  // namespace tessera::kafka
