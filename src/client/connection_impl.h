#pragma once
// Internal to tessera_client: the gRPC side of Connection. Includes gRPC
// headers; never include it from a public client header or from the CLI.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "client/connection.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::client {

inline constexpr char kKeyIdHeader[] = "x-tessera-key-id";
inline constexpr char kSecretHeader[] = "x-tessera-secret";
inline constexpr char kErrcTrailer[] = "x-tessera-errc";

// A ClientContext carrying the auth metadata of `creds` and, when
// timeout_ms > 0, a deadline timeout_ms from now.
std::unique_ptr<grpc::ClientContext> make_context(const Credentials& creds, int64_t timeout_ms);

// Converts a failed call into a Status (see connection.h for the rules).
// `ctx` must be the context of that call, after it finished. `endpoint`
// names the server in connectivity errors.
Status status_from_grpc(const grpc::Status& status, const grpc::ClientContext& ctx,
                        const std::string& endpoint);

struct Connection::Impl {
  explicit Impl(ConnectionOptions o);

  // One blocking unary call: `method` is a Stub member such as
  // &v1::Namespace::Stub::Stat.
  template <typename Stub, typename Req, typename Resp>
  Result<Resp> call(Stub& stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, int64_t timeout_ms) {
    auto ctx = make_context(options.credentials, timeout_ms);
    Resp resp;
    grpc::Status s = (stub.*method)(ctx.get(), req, &resp);
    if (!s.ok()) return status_from_grpc(s, *ctx, options.endpoint);
    return resp;
  }

  template <typename Stub, typename Req, typename Resp>
  Result<Resp> call(Stub& stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req) {
    return call(stub, method, req, options.unary_timeout_ms);
  }

  ConnectionOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Namespace::Stub> ns;
  std::unique_ptr<v1::Files::Stub> files;
  std::unique_ptr<v1::Tables::Stub> tables;
  std::unique_ptr<v1::Streams::Stub> streams;
  std::unique_ptr<v1::Admin::Stub> admin;
};

}  // namespace tessera::client
