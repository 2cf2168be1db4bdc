#include "cli/cluster_calls.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::cli {
namespace {

// The wire names of client/connection_impl.h.
constexpr char kKeyIdHeader[] = "x-tessera-key-id";
constexpr char kSecretHeader[] = "x-tessera-secret";
constexpr char kErrcTrailer[] = "x-tessera-errc";

// Nearest Errc for a gRPC code when the server sent no x-tessera-errc.
Errc errc_from_grpc_code(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT: return Errc::invalid_argument;
    case grpc::StatusCode::NOT_FOUND: return Errc::not_found;
    case grpc::StatusCode::ALREADY_EXISTS: return Errc::already_exists;
    case grpc::StatusCode::PERMISSION_DENIED: return Errc::permission_denied;
    case grpc::StatusCode::UNAUTHENTICATED: return Errc::unauthenticated;
    case grpc::StatusCode::OUT_OF_RANGE: return Errc::out_of_range;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return Errc::resource_exhausted;
    case grpc::StatusCode::DATA_LOSS: return Errc::corruption;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED: return Errc::unavailable;
    default: return Errc::internal;
  }
}

// Connection's rules (client/connection.h): the server's Errc and message
// when it sent x-tessera-errc, else the nearest Errc and a message naming
// the endpoint.
Status status_of(const grpc::Status& s, const grpc::ClientContext& ctx, const std::string& endpoint) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(kErrcTrailer);
  if (it != trailers.end()) {
    Errc code = errc_from_name(std::string_view(it->second.data(), it->second.size()));
    if (code == Errc::ok) code = Errc::internal;
    std::string message = s.error_message();
    if (message.empty()) message = std::string(errc_text(code));
    return Status(code, std::move(message));
  }
  Errc code = errc_from_grpc_code(s.error_code());
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE: return Status(code, "cannot reach tessera at " + endpoint);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(code, "tessera at " + endpoint + " did not answer in time");
    case grpc::StatusCode::UNIMPLEMENTED:
      return Status(code, "tessera at " + endpoint + " does not implement this call");
    default: break;
  }
  std::string message = s.error_message();
  if (message.empty()) message = endpoint + ": " + std::string(errc_text(code));
  return Status(code, std::move(message));
}

}  // namespace

struct ClusterCalls::Impl {
  explicit Impl(const client::Connection& conn)
      : endpoint(conn.endpoint()),
        credentials(conn.credentials()),
        stub(v1::Admin::NewStub(channel_to(endpoint))) {}

  static std::shared_ptr<grpc::Channel> channel_to(const std::string& endpoint) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(client::ConnectionOptions{}.max_receive_bytes);
    return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
  }

  template <typename Req, typename Resp>
  Result<Resp> call(grpc::Status (v1::Admin::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req) {
    grpc::ClientContext ctx;
    ctx.AddMetadata(kKeyIdHeader, credentials.key_id);
    ctx.AddMetadata(kSecretHeader, credentials.secret);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(client::ConnectionOptions{}.unary_timeout_ms));
    Resp resp;
    grpc::Status s = (stub.get()->*method)(&ctx, req, &resp);
    if (!s.ok()) return status_of(s, ctx, endpoint);
    return resp;
  }

  std::string endpoint;
  client::Credentials credentials;
  std::unique_ptr<v1::Admin::Stub> stub;
};

ClusterCalls::ClusterCalls(const client::Connection& conn) : impl_(std::make_unique<Impl>(conn)) {}
ClusterCalls::~ClusterCalls() = default;

Result<v1::ClusterHealthResponse> ClusterCalls::cluster_health(const v1::ClusterHealthRequest& req) {
  return impl_->call(&v1::Admin::Stub::ClusterHealth, req);
}
Result<v1::ListNodesResponse> ClusterCalls::list_nodes(const v1::ListNodesRequest& req) {
  return impl_->call(&v1::Admin::Stub::ListNodes, req);
}
Result<v1::NodeResponse> ClusterCalls::drain_node(const v1::NodeRequest& req) {
  return impl_->call(&v1::Admin::Stub::DrainNode, req);
}
Result<v1::NodeResponse> ClusterCalls::remove_node(const v1::NodeRequest& req) {
  return impl_->call(&v1::Admin::Stub::RemoveNode, req);
}

}  // namespace tessera::cli
