#include "gateway/kafka/server/session.h"

#include <spdlog/spdlog.h>

#include "gateway/kafka/protocol/sasl_mechanisms.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"

namespace tessera::kafka {
namespace {

bool before_authentication(int16_t api_key) {
  switch (static_cast<ApiKey>(api_key)) {
    case ApiKey::api_versions:
    case ApiKey::sasl_handshake:
    case ApiKey::sasl_authenticate: return true;
    default: return false;
  }
}

void frame_response(int32_t correlation_id, std::string_view body, std::string* out) {
  size_t start = begin_frame(out);
  Writer w(out);
  write_response_header(w, correlation_id, 0);  // no flexible response is served
  w.write_raw(body);
  finish_frame(out, start);
}

}  // namespace

Session::Session(Broker& broker, std::string peer) : broker_(broker), peer_(std::move(peer)) {}

Session::~Session() = default;

Status Session::handle(std::string_view frame, std::string* out) {
  if (sasl_ == Sasl::expect_raw) return raw_sasl(frame, out);
  Reader peek(frame);
  TESSERA_ASSIGN_OR_RETURN(int16_t api_key, peek.read_int16());
  TESSERA_ASSIGN_OR_RETURN(int16_t version, peek.read_int16());
  const bool flexible_header = api_key == static_cast<int16_t>(ApiKey::api_versions) &&
                               version >= kApiVersionsFirstFlexibleVersion;
  Reader r(frame);
  TESSERA_ASSIGN_OR_RETURN(auto h, parse_request_header(r, flexible_header ? 2 : 1));
  if (h.client_id) client_id_ = *h.client_id;
  const std::string_view body = frame.substr(r.position());

  const ApiHandler* api = find_handler(api_key);
  if (api == nullptr) {
    return Status(Errc::invalid_argument,
                  "unsupported API key " + std::to_string(api_key) + " (client " + client_id_ + ")");
  }
  if (version < api->min_version || version > api->max_version) {
    if (api->key == ApiKey::api_versions) {
      frame_response(h.correlation_id, api_versions_response(0, code(KafkaError::unsupported_version)), out);
      return Status::ok();
    }
    return Status(Errc::invalid_argument,
                  std::string(api_key_name(api_key)) + " version " + std::to_string(version) +
                      " is not supported (" + std::to_string(api->min_version) + ".." +
                      std::to_string(api->max_version) + ")");
  }
  if (!principal_ && !before_authentication(api_key)) {
    if (sasl_ != Sasl::none || !broker_.options().allow_anonymous) {
      return Status(Errc::unauthenticated, std::string(api_key_name(api_key)) +
                                               " request before SASL authentication completed");
    }
    principal_ = anonymous_principal();
    sasl_ = Sasl::done;
  }
  TESSERA_ASSIGN_OR_RETURN(auto answer, api->fn(*this, h, body));
  if (answer) frame_response(h.correlation_id, *answer, out);
  return Status::ok();
}

}  // namespace tessera::kafka
