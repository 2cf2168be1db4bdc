#pragma once
// Connection: one gRPC channel to a Tessera server and a typed, blocking
// call per RPC of tessera.v1 (proto/tessera/v1/tessera.proto).
//
// Every call carries the credentials as `x-tessera-key-id` and
// `x-tessera-secret` metadata and a deadline (unary_timeout_ms; Fetch adds its
// long-poll wait; file streams have none). A failed call becomes a Status:
// the Errc is read from the `x-tessera-errc` trailer and the message is the
// server's, which already names the subject ("/apps/x: permission denied").
// Without the trailer, an unreachable server gives Errc::unavailable
// "cannot reach tessera at HOST:PORT" and other gRPC codes map to the
// nearest Errc.
//
// Redirects: a node that holds no replica of the shard a request needs
// refuses with Errc::not_leader and an `x-tessera-redirect: HOST:PORT`
// trailer. A not_leader refusal means nothing was proposed, so every unary
// call (read or write) and a file read that has returned no data yet is
// sent again to that endpoint, following at most kRedirectHopsMax redirects
// within the call's one deadline; channels to redirect targets are cached.
// Nothing else is retried: an Errc::unavailable (a write's outcome unknown,
// a server unreachable) comes back to the caller as it is. A file write
// stream is never redirected (its pieces are not kept to send again); the
// server forwards those to the shard's leader itself.
//
// gRPC headers stay out of this header (pimpl); the generated message types
// are part of the interface. A Connection is safe to use from several
// threads (gRPC stubs are); FileWriter and FileReader are not, and must not
// outlive the Connection that opened them.

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "client/credentials.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::client {

class FileWriter;
class FileReader;

struct ConnectionOptions {
  std::string endpoint = std::string(kDefaultEndpoint);
  Credentials credentials;
  int64_t unary_timeout_ms = 30'000;
  // Largest response message accepted; Read and Fetch send at most 1 MiB of
  // data per message.
  int max_receive_bytes = 16 << 20;
};

class Connection {
 public:
  // Creates the channel; no network I/O happens until the first call.
  explicit Connection(ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& endpoint() const;
  const Credentials& credentials() const;

  // Namespace.
  Result<v1::StatResponse> stat(const v1::StatRequest& req);
  Result<v1::ListResponse> list(const v1::ListRequest& req);
  Result<v1::MkdirResponse> mkdir(const v1::MkdirRequest& req);
  Result<v1::RemoveResponse> remove(const v1::RemoveRequest& req);
  Result<v1::RenameResponse> rename(const v1::RenameRequest& req);
  Result<v1::SymlinkResponse> symlink(const v1::SymlinkRequest& req);
  Result<v1::LinkResponse> link(const v1::LinkRequest& req);
  Result<v1::ChmodResponse> chmod(const v1::ChmodRequest& req);
  Result<v1::ChownResponse> chown(const v1::ChownRequest& req);
  Result<v1::GetAclResponse> get_acl(const v1::GetAclRequest& req);
  Result<v1::SetAclResponse> set_acl(const v1::SetAclRequest& req);

  // Files. open_writer/open_reader start a stream (see file_stream.h).
  Result<v1::CreateFileResponse> create_file(const v1::CreateFileRequest& req);
  Result<v1::TruncateResponse> truncate(const v1::TruncateRequest& req);
  std::unique_ptr<FileWriter> open_writer();
  std::unique_ptr<FileReader> open_reader(const v1::ReadRequest& req);

  // Tables.
  Result<v1::CreateTableResponse> create_table(const v1::CreateTableRequest& req);
  Result<v1::PutRowResponse> put_row(const v1::PutRowRequest& req);
  Result<v1::GetRowResponse> get_row(const v1::GetRowRequest& req);
  Result<v1::DeleteRowResponse> delete_row(const v1::DeleteRowRequest& req);
  Result<v1::UpdateRowResponse> update_row(const v1::UpdateRowRequest& req);
  Result<v1::BatchRowResponse> batch_row(const v1::BatchRowRequest& req);
  Result<v1::ScanResponse> scan(const v1::ScanRequest& req);

  // Streams.
  Result<v1::CreateStreamResponse> create_stream(const v1::CreateStreamRequest& req);
  Result<v1::CreateTopicResponse> create_topic(const v1::CreateTopicRequest& req);
  Result<v1::ListTopicsResponse> list_topics(const v1::ListTopicsRequest& req);
  Result<v1::ProduceResponse> produce(const v1::ProduceRequest& req);
  Result<v1::FetchResponse> fetch(const v1::FetchRequest& req);
  Result<v1::CommitOffsetResponse> commit_offset(const v1::CommitOffsetRequest& req);
  Result<v1::GetOffsetResponse> get_offset(const v1::GetOffsetRequest& req);

  // Admin.
  Result<v1::CreateVolumeResponse> create_volume(const v1::CreateVolumeRequest& req);
  Result<v1::ListVolumesResponse> list_volumes(const v1::ListVolumesRequest& req);
  Result<v1::RemoveVolumeResponse> remove_volume(const v1::RemoveVolumeRequest& req);
  Result<v1::CreateUserResponse> create_user(const v1::CreateUserRequest& req);
  Result<v1::ListUsersResponse> list_users(const v1::ListUsersRequest& req);
  Result<v1::CreateKeyResponse> create_key(const v1::CreateKeyRequest& req);
  Result<v1::WhoAmIResponse> who_am_i(const v1::WhoAmIRequest& req);
  Result<v1::StatusResponse> server_status(const v1::StatusRequest& req);
  Result<v1::ClusterHealthResponse> cluster_health(const v1::ClusterHealthRequest& req);
  Result<v1::ListNodesResponse> list_nodes(const v1::ListNodesRequest& req);
  Result<v1::NodeResponse> drain_node(const v1::NodeRequest& req);
  Result<v1::NodeResponse> remove_node(const v1::NodeRequest& req);

  // Defined in client/connection_impl.h (gRPC-facing, internal; named here
  // so that the file streams can reach the channel cache).
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::client
