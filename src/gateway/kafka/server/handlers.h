#pragma once
// The Kafka gateway's request handlers: one function per API key, each in
// its own handle_*.cc. A handler decodes the request body, does the work as
// the session's principal and returns the response body (the Session adds
// the response header and the frame), nullopt for no response at all
// (Produce with acks=0), or an error for a request so malformed that the
// connection is closed.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "gateway/kafka/protocol/api_versions.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {

class Session;

using HandlerResult = Result<std::optional<std::string>>;
using HandlerFn = HandlerResult (*)(Session&, const RequestHeader&, std::string_view body);

struct ApiHandler {
  ApiKey key;
  int16_t min_version;
  int16_t max_version;
  HandlerFn fn;
};

// Every API this broker serves, by key; nullptr for others.
const ApiHandler* find_handler(int16_t api_key);
std::span<const ApiHandler> api_handlers();

// The ApiVersions answer for a request of `version` (an unsupported version
// gets UNSUPPORTED_VERSION in a v0 body, as KIP-511 asks).
std::string api_versions_response(int16_t version, int16_t error_code);

HandlerResult handle_api_versions(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_metadata(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_produce(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_fetch(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_list_offsets(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_init_producer_id(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_find_coordinator(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_join_group(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_sync_group(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_heartbeat(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_leave_group(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_offset_commit(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_offset_fetch(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_create_topics(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_delete_topics(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_create_partitions(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_describe_configs(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_alter_configs(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_sasl_handshake(Session&, const RequestHeader&, std::string_view body);
HandlerResult handle_sasl_authenticate(Session&, const RequestHeader&, std::string_view body);

}  // namespace tessera::kafka
