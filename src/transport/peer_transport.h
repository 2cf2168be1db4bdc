#pragma once
// PeerTransport: the gRPC implementation of shard::Transport, plus generic
// unary calls between nodes. Served by the `tessera.internal.Peer` service
// (proto/tessera/internal/peer.proto) on the node's own gRPC server, so peers
// reach each other on the address clients use.
//
// Outbound raft batches go to a bounded queue per peer, drained by one sender
// thread per peer over one long-lived client stream (order preserved; queued
// batches coalesced into one stream write up to batch_bytes_max). A broken
// stream drops what was queued and reconnects with exponential backoff up to
// reconnect_backoff_ms_max. Snapshots are sent by two snapshot threads.
// Inbound traffic runs on gRPC server threads and is delivered to the
// TransportHandler.
//
// Lifecycle: construct, register service() on a grpc::ServerBuilder, set the
// handler, start the server, add peers. To shut down: stop() (cancels the
// long-lived inbound streams, so grpc::Server::Shutdown need not wait for
// them), then shut the server down, then destroy the transport. The
// transport must outlive the grpc::Server it is registered on.
//
// Thread-safety: every public method may be called from any thread.
// gRPC headers stay out of this header (it is included by the node wiring).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "shard/transport.h"

namespace grpc {
class Service;
}

namespace tessera::transport {

struct PeerTransportOptions {
  // Bytes queued per peer; send() drops beyond it.
  size_t queue_bytes_max = 64u << 20;
  // Queued batches are coalesced into one stream write up to this size.
  size_t batch_bytes_max = 4u << 20;
  // Largest gRPC message sent or received by this transport's channels. A
  // single batch or snapshot chunk larger than this is not sendable.
  int max_message_bytes = 64 << 20;
  // Reconnect backoff doubles from 50 ms (or less) up to this.
  int64_t reconnect_backoff_ms_max = 1000;
  // Sent with every request. When non-empty, requests carrying a different
  // cluster id (including none) are refused with Errc::permission_denied.
  std::string cluster_id;
};

class PeerTransport final : public shard::Transport {
 public:
  explicit PeerTransport(shard::NodeId self, PeerTransportOptions opts);
  // Calls stop(), joins every thread. Returns within about a second even
  // with streams blocked on dead peers.
  ~PeerTransport() override;

  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // The Peer service, to register on the node's grpc::ServerBuilder. Owned by
  // the transport.
  grpc::Service* service();

  // Stops sending and serving: outbound streams are cancelled, queued
  // batches dropped, inbound streams cancelled and new inbound requests
  // refused (Errc::unavailable). Idempotent. Call before
  // grpc::Server::Shutdown.
  void stop();

  // Where inbound batches and snapshots go. Set it before traffic; messages
  // arriving while it is null are dropped (snapshots are answered with
  // Errc::unavailable). The handler must outlive the transport or be reset
  // to null first (in-flight deliveries may still be running then).
  void set_handler(shard::TransportHandler* h);

  // Adds a peer or changes its address ("host:port"). A changed address
  // cancels the current stream; queued batches go to the new address.
  void set_peer(shard::NodeId id, std::string address);
  // Forgets a peer: its queue is dropped and its sender thread joined.
  void remove_peer(shard::NodeId id);

  // shard::Transport. send() never blocks on the network.
  void send(shard::NodeId to, std::string batch) override;
  // `done` always runs on a snapshot thread, including for refusals
  // (unknown peer, transport stopped, too many queued snapshots).
  void send_snapshot(shard::NodeId to, std::string header, std::unique_ptr<shard::ChunkSource> source,
                     std::function<void(Status)> done) override;

  // Generic unary calls. Handlers run on gRPC threads; `from` is the
  // caller's node id (NodeId{0} when it has none yet).
  using MethodHandler = std::function<Result<std::string>(shard::NodeId from, const std::string& request)>;
  // Registers or replaces the handler of `name`.
  void register_method(std::string name, MethodHandler h);
  // Calls `method` on the node at `address` (peer or not). Errors: the
  // remote handler's status; Errc::not_found for a method the receiver does
  // not know; Errc::permission_denied for a cluster id mismatch;
  // Errc::unavailable when unreachable or past timeout_ms. Blocks the caller.
  Result<std::string> call(const std::string& address, const std::string& method, const std::string& request,
                           int64_t timeout_ms);

  struct PeerStats {
    uint64_t batches_sent = 0;     // batches written to the stream
    uint64_t bytes_sent = 0;       // their bytes
    uint64_t batches_dropped = 0;  // queue full, stream broken, too large, stopped
    bool connected = false;        // the last stream write succeeded
  };
  // One entry per known peer.
  std::map<shard::NodeId, PeerStats> stats() const;

  shard::NodeId self() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::transport
