#pragma once
// Session: one Kafka connection's state and its request dispatch. Parses
// the request header, checks the API version against what this broker
// serves, enforces authentication (SASL PLAIN or SCRAM-SHA-256 over
// Tessera access keys; unauthenticated connections act as "anonymous" when
// allowed, else only ApiVersions and SASL requests are served), calls the
// API's handler and frames its answer.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "gateway/kafka/protocol/wire.h"
#include "gateway/kafka/server/listener.h"
#include "tessera/internal/state.pb.h"

namespace tessera::kafka {

class Broker;
class ScramServer;

class Session final : public ConnectionHandler {
 public:
  Session(Broker& broker, std::string peer);
  ~Session() override;

  Status handle(std::string_view frame, std::string* out) override;

  Broker& broker() { return broker_; }
  const std::string& peer() const { return peer_; }
  const std::string& client_id() const { return client_id_; }
  // Who this connection acts as; set once authenticated (or anonymous).
  const std::optional<internal::Principal>& principal() const { return principal_; }

  // SASL (handle_sasl.cc).
  Result<std::string> sasl_handshake(const RequestHeader& h, std::string_view body);
  Result<std::string> sasl_authenticate(const RequestHeader& h, std::string_view body);

 private:
  // A SASL token after a v0 handshake: a bare frame, no Kafka header.
  Status raw_sasl(std::string_view token, std::string* out);
  // Runs one step of the chosen mechanism: the server's answer, or an error
  // whose message the client may see.
  Result<std::string> sasl_step(std::string_view token);

  Broker& broker_;
  const std::string peer_;
  std::string client_id_;
  std::optional<internal::Principal> principal_;
  enum class Sasl { none, expect_raw, expect_authenticate, done };
  Sasl sasl_ = Sasl::none;
  std::string mechanism_;
  std::unique_ptr<ScramServer> scram_;
  std::optional<internal::Principal> scram_principal_;
};

}  // namespace tessera::kafka
