#include "server/rpc.h"

#include "server/redirect.h"

namespace tessera::server {
namespace {

grpc::StatusCode grpc_code(Errc code) {
  switch (code) {
    case Errc::ok: return grpc::StatusCode::OK;
    case Errc::invalid_argument:
    case Errc::too_large: return grpc::StatusCode::INVALID_ARGUMENT;
    case Errc::not_found: return grpc::StatusCode::NOT_FOUND;
    case Errc::already_exists: return grpc::StatusCode::ALREADY_EXISTS;
    case Errc::permission_denied: return grpc::StatusCode::PERMISSION_DENIED;
    case Errc::unauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case Errc::not_a_directory:
    case Errc::is_a_directory:
    case Errc::not_empty:
    case Errc::wrong_kind:
    case Errc::cross_volume:
    case Errc::version_mismatch:
    case Errc::failed_precondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case Errc::quota_exceeded:
    case Errc::resource_exhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Errc::out_of_range: return grpc::StatusCode::OUT_OF_RANGE;
    case Errc::not_leader:
    case Errc::unavailable: return grpc::StatusCode::UNAVAILABLE;
    case Errc::corruption: return grpc::StatusCode::DATA_LOSS;
    case Errc::io_error:
    case Errc::internal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

std::string_view metadata(const grpc::ServerContext* ctx, std::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return std::string_view(it->second.data(), it->second.size());
}

}  // namespace

grpc::Status to_grpc(grpc::ServerContext* ctx, const Status& st) {
  if (st.is_ok()) return grpc::Status::OK;
  ctx->AddTrailingMetadata(std::string(kErrcTrailer), std::string(errc_name(st.code())));
  if (auto address = redirect_address(st)) ctx->AddTrailingMetadata(std::string(kRedirectTrailer), *address);
  return grpc::Status(grpc_code(st.code()), st.message());
}

Result<internal::Principal> authenticate(const Backend& backend, const grpc::ServerContext* ctx) {
  auto key_id = metadata(ctx, kKeyIdHeader);
  auto secret = metadata(ctx, kSecretHeader);
  if (key_id.empty()) {
    return Status(Errc::unauthenticated,
                  "no access key: send x-tessera-key-id and x-tessera-secret (see `tessera key create`)");
  }
  return backend.authenticate(key_id, secret);
}

}  // namespace tessera::server
