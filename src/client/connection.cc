#include "client/connection.h"

#include <chrono>

#include "client/connection_impl.h"
#include "client/file_stream.h"

namespace tessera::client {
namespace {

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

}  // namespace

std::unique_ptr<grpc::ClientContext> make_context(const Credentials& creds, int64_t timeout_ms) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kKeyIdHeader, creds.key_id);
  ctx->AddMetadata(kSecretHeader, creds.secret);
  if (timeout_ms > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }
  return ctx;
}

Status status_from_grpc(const grpc::Status& status, const grpc::ClientContext& ctx,
                        const std::string& endpoint) {
  TESSERA_ASSERT(!status.ok());
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(kErrcTrailer);
  if (it != trailers.end()) {
    Errc code = errc_from_name(std::string_view(it->second.data(), it->second.size()));
    if (code == Errc::ok) code = Errc::internal;
    std::string message = status.error_message();
    if (message.empty()) message = std::string(errc_text(code));
    return Status(code, std::move(message));
  }
  grpc::StatusCode gc = status.error_code();
  Errc code = errc_from_grpc_code(gc);
  if (gc == grpc::StatusCode::UNAVAILABLE) {
    return Status(code, "cannot reach tessera at " + endpoint);
  }
  if (gc == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Status(code, "tessera at " + endpoint + " did not answer in time");
  }
  if (gc == grpc::StatusCode::UNIMPLEMENTED) {
    return Status(code, "tessera at " + endpoint + " does not implement this call");
  }
  std::string message = status.error_message();
  if (message.empty()) message = endpoint + ": " + std::string(errc_text(code));
  return Status(code, std::move(message));
}

std::optional<std::string> redirect_target(const grpc::ClientContext& ctx, const std::string& endpoint) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto errc = trailers.find(kErrcTrailer);
  auto to = trailers.find(kRedirectTrailer);
  if (errc == trailers.end() || to == trailers.end()) return std::nullopt;
  // Only a refusal before proposal is safe to send again.
  if (errc_from_name(std::string_view(errc->second.data(), errc->second.size())) != Errc::not_leader) {
    return std::nullopt;
  }
  std::string target(to->second.data(), to->second.size());
  if (target.empty() || target == endpoint) return std::nullopt;
  return target;
}

Stubs::Stubs(const std::string& endpoint, int max_receive_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_receive_bytes);
  channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
  ns = v1::Namespace::NewStub(channel);
  files = v1::Files::NewStub(channel);
  tables = v1::Tables::NewStub(channel);
  streams = v1::Streams::NewStub(channel);
  admin = v1::Admin::NewStub(channel);
}

Connection::Impl::Impl(ConnectionOptions o)
    : options(std::move(o)), primary(std::make_shared<Stubs>(options.endpoint, options.max_receive_bytes)) {}

std::shared_ptr<Stubs> Connection::Impl::stubs_for(const std::string& endpoint) {
  if (endpoint == options.endpoint) return primary;
  std::lock_guard lk(mu_);
  auto it = redirected_.find(endpoint);
  if (it != redirected_.end()) return it->second;
  if (redirected_.size() >= kRedirectChannelsMax) redirected_.clear();
  auto stubs = std::make_shared<Stubs>(endpoint, options.max_receive_bytes);
  redirected_.emplace(endpoint, stubs);
  return stubs;
}

Connection::Connection(ConnectionOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Connection::~Connection() = default;

const std::string& Connection::endpoint() const { return impl_->options.endpoint; }
const Credentials& Connection::credentials() const { return impl_->options.credentials; }

// The unary calls: each is one Impl::call on the matching stub method.
#define TESSERA_UNARY(fn, stub, Service, Method, Req, Resp)            \
  Result<v1::Resp> Connection::fn(const v1::Req& req) {                \
    return impl_->call(&Stubs::stub, &v1::Service::Stub::Method, req); \
  }
// Calls that change nothing: also re-sent after `unavailable`.
#define TESSERA_UNARY_READ(fn, stub, Service, Method, Req, Resp)                     \
  Result<v1::Resp> Connection::fn(const v1::Req& req) {                              \
    return impl_->call(&Stubs::stub, &v1::Service::Stub::Method, req, Retry::reads); \
  }

TESSERA_UNARY_READ(stat, ns, Namespace, Stat, StatRequest, StatResponse)
TESSERA_UNARY_READ(list, ns, Namespace, List, ListRequest, ListResponse)
TESSERA_UNARY(mkdir, ns, Namespace, Mkdir, MkdirRequest, MkdirResponse)
TESSERA_UNARY(remove, ns, Namespace, Remove, RemoveRequest, RemoveResponse)
TESSERA_UNARY(rename, ns, Namespace, Rename, RenameRequest, RenameResponse)
TESSERA_UNARY(symlink, ns, Namespace, Symlink, SymlinkRequest, SymlinkResponse)
TESSERA_UNARY(link, ns, Namespace, Link, LinkRequest, LinkResponse)
TESSERA_UNARY(chmod, ns, Namespace, Chmod, ChmodRequest, ChmodResponse)
TESSERA_UNARY(chown, ns, Namespace, Chown, ChownRequest, ChownResponse)
TESSERA_UNARY_READ(get_acl, ns, Namespace, GetAcl, GetAclRequest, GetAclResponse)
TESSERA_UNARY(set_acl, ns, Namespace, SetAcl, SetAclRequest, SetAclResponse)

TESSERA_UNARY(create_file, files, Files, Create, CreateFileRequest, CreateFileResponse)
TESSERA_UNARY(truncate, files, Files, Truncate, TruncateRequest, TruncateResponse)

TESSERA_UNARY(create_table, tables, Tables, Create, CreateTableRequest, CreateTableResponse)
TESSERA_UNARY(put_row, tables, Tables, Put, PutRowRequest, PutRowResponse)
TESSERA_UNARY_READ(get_row, tables, Tables, Get, GetRowRequest, GetRowResponse)
TESSERA_UNARY(delete_row, tables, Tables, Delete, DeleteRowRequest, DeleteRowResponse)
TESSERA_UNARY(update_row, tables, Tables, Update, UpdateRowRequest, UpdateRowResponse)
TESSERA_UNARY(batch_row, tables, Tables, Batch, BatchRowRequest, BatchRowResponse)
TESSERA_UNARY_READ(scan, tables, Tables, Scan, ScanRequest, ScanResponse)

TESSERA_UNARY(create_stream, streams, Streams, Create, CreateStreamRequest, CreateStreamResponse)
TESSERA_UNARY(create_topic, streams, Streams, CreateTopic, CreateTopicRequest, CreateTopicResponse)
TESSERA_UNARY_READ(list_topics, streams, Streams, ListTopics, ListTopicsRequest, ListTopicsResponse)
TESSERA_UNARY(produce, streams, Streams, Produce, ProduceRequest, ProduceResponse)
TESSERA_UNARY(commit_offset, streams, Streams, CommitOffset, CommitOffsetRequest,
              CommitOffsetResponse)
TESSERA_UNARY_READ(get_offset, streams, Streams, GetOffset, GetOffsetRequest, GetOffsetResponse)

TESSERA_UNARY(create_volume, admin, Admin, CreateVolume, CreateVolumeRequest, CreateVolumeResponse)
TESSERA_UNARY_READ(list_volumes, admin, Admin, ListVolumes, ListVolumesRequest, ListVolumesResponse)
TESSERA_UNARY(remove_volume, admin, Admin, RemoveVolume, RemoveVolumeRequest, RemoveVolumeResponse)
TESSERA_UNARY(create_user, admin, Admin, CreateUser, CreateUserRequest, CreateUserResponse)
TESSERA_UNARY_READ(list_users, admin, Admin, ListUsers, ListUsersRequest, ListUsersResponse)
TESSERA_UNARY(create_key, admin, Admin, CreateKey, CreateKeyRequest, CreateKeyResponse)
TESSERA_UNARY_READ(who_am_i, admin, Admin, WhoAmI, WhoAmIRequest, WhoAmIResponse)
TESSERA_UNARY_READ(server_status, admin, Admin, Status, StatusRequest, StatusResponse)
TESSERA_UNARY_READ(cluster_health, admin, Admin, ClusterHealth, ClusterHealthRequest, ClusterHealthResponse)
TESSERA_UNARY_READ(list_nodes, admin, Admin, ListNodes, ListNodesRequest, ListNodesResponse)
TESSERA_UNARY(drain_node, admin, Admin, DrainNode, NodeRequest, NodeResponse)
TESSERA_UNARY(remove_node, admin, Admin, RemoveNode, NodeRequest, NodeResponse)

#undef TESSERA_UNARY
#undef TESSERA_UNARY_READ

// Fetch long-polls on the server: its deadline covers the wait plus the
// usual unary budget.
Result<v1::FetchResponse> Connection::fetch(const v1::FetchRequest& req) {
  int64_t timeout_ms = impl_->options.unary_timeout_ms + static_cast<int64_t>(req.max_wait_ms());
  return impl_->call(&Stubs::streams, &v1::Streams::Stub::Fetch, req, timeout_ms, Retry::reads);
}

}  // namespace tessera::client
