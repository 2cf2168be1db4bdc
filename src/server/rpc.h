#pragma once
// Shared plumbing of the gRPC services: authentication from request metadata,
// the one mapping of Tessera errors onto gRPC statuses, and per-request
// metrics. Included only by service .cc files (it pulls in grpcpp).

#include <grpcpp/grpcpp.h>

#include <string_view>

#include "server/backend.h"
#include "server/redirect.h"

namespace tessera::server {

inline constexpr std::string_view kKeyIdHeader = "x-tessera-key-id";
inline constexpr std::string_view kSecretHeader = "x-tessera-secret";
inline constexpr std::string_view kErrcTrailer = "x-tessera-errc";
// HOST:PORT of a node holding the shard, on a redirect (server/redirect.h).
inline constexpr std::string_view kRedirectTrailer = "x-tessera-redirect";

// Maps `st` to a gRPC status; the Errc name goes to trailing metadata, and
// so does a redirect's address.
grpc::Status to_grpc(grpc::ServerContext* ctx, const Status& st);

Result<internal::Principal> authenticate(const Backend& backend, const grpc::ServerContext* ctx);

// Runs `fn(principal)` for an authenticated request, recording its metrics
// under `op` (a string literal). A redirect leaves only a request that
// proposed nothing (server/redirect.h after_proposal).
template <typename Fn>
grpc::Status serve(Backend& backend, grpc::ServerContext* ctx, std::string_view op, Fn&& fn) {
  RequestTimer timer(backend.requests(), op);
  auto who = authenticate(backend, ctx);
  const uint64_t proposals = Backend::proposals_on_this_thread();
  Status st = who.is_ok() ? fn(*who) : who.status();
  if (Backend::proposals_on_this_thread() != proposals) st = after_proposal(std::move(st));
  timer.finish(errc_name(st.code()));
  return to_grpc(ctx, st);
}

}  // namespace tessera::server
