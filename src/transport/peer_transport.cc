#include "transport/peer_transport.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "tessera/internal/peer.grpc.pb.h"

namespace tessera::transport {
namespace {

using shard::NodeId;

constexpr int64_t kBackoffInitialMs = 50;
// Threads sending snapshots; more snapshots wait in a queue of this length.
constexpr size_t kSnapshotSendersMax = 2;
constexpr size_t kSnapshotQueueMax = 16;
// Channels kept for call() and snapshots, by address.
constexpr size_t kCallChannelsMax = 64;
// Room left in a gRPC message for the fields around a batch or chunk.
constexpr size_t kEnvelopeBytesMax = 1024;

// Puts a non-ok `st` into a reply message (RaftAck, SnapshotAck, CallReply).
template <typename Reply>
void set_error(Reply* reply, const Status& st) {
  reply->set_errc(static_cast<uint32_t>(st.code()));
  reply->set_errc_name(std::string(errc_name(st.code())));
  reply->set_message(st.message());
}

// The error a reply carries: by name when present, since numeric values are
// only trusted up to the codes every build knows.
template <typename Reply>
Status error_of(const Reply& reply) {
  if (reply.errc() == 0 && reply.errc_name().empty()) return Status::ok();
  Errc code = Errc::internal;
  if (!reply.errc_name().empty()) {
    code = errc_from_name(reply.errc_name());
  } else if (reply.errc() <= static_cast<uint32_t>(Errc::internal)) {
    code = static_cast<Errc>(reply.errc());
  }
  if (code == Errc::ok) code = Errc::internal;
  return Status(code, reply.message());
}

// gRPC call failures as Errc. The receiver's own errors travel in the reply
// messages, so only transport-level failures come through here.
Status status_from_grpc(const grpc::Status& s, const std::string& subject) {
  Errc code = Errc::internal;
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return Status::ok();
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
      code = Errc::unavailable;
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      code = Errc::resource_exhausted;
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      code = Errc::not_found;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = Errc::permission_denied;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      code = Errc::unauthenticated;
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = Errc::invalid_argument;
      break;
    default:
      break;
  }
  return Status(code, subject + ": " + s.error_message() + " (grpc code " +
                          std::to_string(static_cast<int>(s.error_code())) + ")");
}

std::string node_name(uint64_t id) { return "node " + std::to_string(id); }

// One outbound peer: its queue and the state its sender thread shares with
// send(), set_peer() and stop(). Everything but the counters is guarded by mu.
struct PeerState {
  PeerState(NodeId peer_id, std::string addr) : id(peer_id), address(std::move(addr)) {}

  const NodeId id;
  std::mutex mu;
  std::condition_variable cv;
  std::string address;
  uint64_t address_gen = 0;  // bumped on each address change
  std::deque<std::string> queue;
  size_t queue_bytes = 0;
  bool stopping = false;
  grpc::ClientContext* active = nullptr;  // the open stream, for TryCancel

  std::atomic<uint64_t> batches_sent{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> batches_dropped{0};
  std::atomic<bool> connected{false};
  std::thread thread;

  // Drops everything queued. Requires mu.
  void drop_queue() {
    batches_dropped += queue.size();
    queue.clear();
    queue_bytes = 0;
  }
};

struct SnapshotJob {
  NodeId to;
  std::string header;
  std::unique_ptr<shard::ChunkSource> source;
  std::function<void(Status)> done;
  Status refusal;  // non-ok: answer `done` with it without sending
};

}  // namespace

struct PeerTransport::Impl {
  // The gRPC side: runs on gRPC server threads.
  class Service final : public internal::Peer::Service {
   public:
    explicit Service(Impl& t) : t_(t) {}
    grpc::Status Raft(grpc::ServerContext* ctx, grpc::ServerReader<internal::RaftBatch>* reader,
                      internal::RaftAck* ack) override;
    grpc::Status Snapshot(grpc::ServerContext* ctx, grpc::ServerReader<internal::SnapshotChunk>* reader,
                          internal::SnapshotAck* ack) override;
    grpc::Status Call(grpc::ServerContext* ctx, const internal::CallRequest* req, internal::CallReply* reply) override;

   private:
    Impl& t_;
  };

  // Registers an inbound call so stop() can cancel it and the destructor can
  // wait for it; `admitted` is false once the transport is stopping.
  class Inbound {
   public:
    Inbound(Impl& t, grpc::ServerContext* ctx) : t_(t), ctx_(ctx) {
      std::lock_guard lk(t_.inbound_mu);
      if (t_.stopping) return;
      t_.inbound.insert(ctx_);
      admitted = true;
    }
    ~Inbound() {
      if (!admitted) return;
      std::lock_guard lk(t_.inbound_mu);
      t_.inbound.erase(ctx_);
      if (t_.inbound.empty()) t_.inbound_cv.notify_all();
    }
    Inbound(const Inbound&) = delete;
    Inbound& operator=(const Inbound&) = delete;
    bool admitted = false;

   private:
    Impl& t_;
    grpc::ServerContext* ctx_;
  };

  Impl(NodeId id, PeerTransportOptions o) : self(id), opts(std::move(o)), service(*this) {
    opts.reconnect_backoff_ms_max = std::clamp<int64_t>(opts.reconnect_backoff_ms_max, 1, INT_MAX);
    opts.batch_bytes_max = std::max<size_t>(opts.batch_bytes_max, 1);
    for (size_t i = 0; i < kSnapshotSendersMax; ++i) snapshot_threads.emplace_back([this] { run_snapshots(); });
  }

  const NodeId self;
  PeerTransportOptions opts;
  Service service;
  std::atomic<shard::TransportHandler*> handler{nullptr};
  std::atomic<bool> stopping{false};

  mutable std::mutex peers_mu;
  std::map<NodeId, std::shared_ptr<PeerState>> peers;

  std::shared_mutex methods_mu;
  std::map<std::string, MethodHandler, std::less<>> methods;

  std::mutex channels_mu;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;

  std::mutex snapshot_mu;
  std::condition_variable snapshot_cv;
  std::deque<SnapshotJob> snapshot_queue;
  size_t snapshots_queued = 0;  // jobs in snapshot_queue that will be sent
  std::set<grpc::ClientContext*> snapshot_active;
  std::vector<std::thread> snapshot_threads;

  std::mutex inbound_mu;
  std::condition_variable inbound_cv;
  std::set<grpc::ServerContext*> inbound;

  std::shared_ptr<grpc::Channel> make_channel(const std::string& address) const {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(opts.max_message_bytes);
    args.SetMaxReceiveMessageSize(opts.max_message_bytes);
    // gRPC's own reconnect backoff would otherwise grow to 120 s and keep the
    // channel failing fast long after the peer is back.
    int max_ms = static_cast<int>(opts.reconnect_backoff_ms_max);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min<int>(kBackoffInitialMs, max_ms));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }

  std::shared_ptr<grpc::Channel> shared_channel(const std::string& address) {
    std::lock_guard lk(channels_mu);
    auto it = channels.find(address);
    if (it != channels.end()) return it->second;
    if (channels.size() >= kCallChannelsMax) channels.clear();
    auto ch = make_channel(address);
    channels.emplace(address, ch);
    return ch;
  }

  int64_t next_backoff_ms(int64_t backoff_ms) const {
    if (backoff_ms == 0) return std::min(kBackoffInitialMs, opts.reconnect_backoff_ms_max);
    return std::min(backoff_ms * 2, opts.reconnect_backoff_ms_max);
  }

  // Whether a request from `from` in `cluster_id`, addressed to `to`, may be
  // served here. `to` == 0 means "whoever listens at this address" and is
  // accepted only when `any_to` is set.
  Status admit(const std::string& cluster_id, uint64_t from, uint64_t to, bool any_to, std::string_view what) const {
    if (!opts.cluster_id.empty() && cluster_id != opts.cluster_id) {
      return Status(Errc::permission_denied, std::string(what) + " from " + node_name(from) + ": cluster id \"" +
                                                 cluster_id + "\" is not this node's cluster \"" + opts.cluster_id +
                                                 "\"");
    }
    if (to != self.value && !(any_to && to == 0)) {
      return Status(Errc::invalid_argument, std::string(what) + " from " + node_name(from) + ": addressed to " +
                                                node_name(to) + " but this is " + node_name(self.value));
    }
    return Status::ok();
  }

  void run_peer(const std::shared_ptr<PeerState>& p);
  void run_snapshots();
  Status send_one_snapshot(SnapshotJob& job);
};

// ---- outbound raft streams --------------------------------------------------

// The sender thread of one peer: opens a stream when there is something to
// send, writes coalesced batches in queue order, and on a broken stream drops
// the queue and reconnects after a backoff. The backoff resets only after a
// stream that stayed up for reconnect_backoff_ms_max (a refusing peer accepts
// the first write into gRPC's buffers and then ends the stream). When such a
// long-lived stream breaks, its failed write is retried at once on a new
// stream: the peer may have restarted, and raft tolerates a duplicate.
void PeerTransport::Impl::run_peer(const std::shared_ptr<PeerState>& p) {
  using Clock = std::chrono::steady_clock;
  std::shared_ptr<grpc::Channel> channel;
  std::string channel_address;
  int64_t backoff_ms = 0;
  bool outage_logged = false;
  std::optional<internal::RaftBatch> retry;

  std::unique_lock lk(p->mu);
  while (true) {
    p->cv.wait(lk, [&] { return p->stopping || !p->queue.empty() || retry.has_value(); });
    if (p->stopping) break;
    const std::string address = p->address;
    const uint64_t gen = p->address_gen;
    lk.unlock();

    if (!channel || channel_address != address) {
      channel = make_channel(address);
      channel_address = address;
    }
    auto stub = internal::Peer::NewStub(channel);
    grpc::ClientContext ctx;
    internal::RaftAck ack;
    lk.lock();
    if (p->stopping) break;
    p->active = &ctx;
    lk.unlock();

    const auto opened = Clock::now();
    auto writer = stub->Raft(&ctx, &ack);
    internal::RaftBatch msg;
    msg.set_cluster_id(opts.cluster_id);
    msg.set_from(self.value);
    msg.set_to(p->id.value);
    bool delivered = false;
    std::optional<internal::RaftBatch> failed;  // the write that broke the stream
    // Writes `m`; on failure keeps it in `failed`. Called without p->mu.
    auto write = [&](internal::RaftBatch&& m, size_t bytes) {
      if (!writer->Write(m)) {
        failed = std::move(m);
        return false;
      }
      p->batches_sent += m.batches_size();
      p->bytes_sent += bytes;
      p->connected = true;
      delivered = true;
      return true;
    };
    bool broken = false;
    if (retry) {
      size_t bytes = 0;
      for (const auto& b : retry->batches()) bytes += b.size();
      broken = !write(std::move(*retry), bytes);
      retry.reset();
    }
    lk.lock();
    while (!broken) {
      p->cv.wait(lk, [&] { return p->stopping || p->address_gen != gen || !p->queue.empty(); });
      if (p->stopping || p->address_gen != gen) break;
      msg.clear_batches();
      size_t bytes = 0;
      while (!p->queue.empty() &&
             (msg.batches_size() == 0 || bytes + p->queue.front().size() <= opts.batch_bytes_max)) {
        bytes += p->queue.front().size();
        p->queue_bytes -= p->queue.front().size();
        msg.add_batches(std::move(p->queue.front()));
        p->queue.pop_front();
      }
      lk.unlock();
      broken = !write(std::move(msg), bytes);
      lk.lock();
    }
    const bool moved = p->address_gen != gen;
    lk.unlock();

    p->connected = false;
    if (!broken) ctx.TryCancel();
    grpc::Status st = writer->Finish();
    lk.lock();
    p->active = nullptr;
    if (p->stopping) {
      if (failed) p->batches_dropped += failed->batches_size();
      break;
    }
    const Status refusal = st.ok() ? error_of(ack) : Status::ok();
    const bool refused = !refusal.is_ok();
    const bool long_lived =
        delivered && !refused && Clock::now() - opened >= std::chrono::milliseconds(opts.reconnect_backoff_ms_max);
    if (long_lived) {
      backoff_ms = 0;
      outage_logged = false;
    }
    if (failed && long_lived && !moved) {
      retry = std::move(failed);
      continue;
    }
    if (failed) p->batches_dropped += failed->batches_size();
    if (moved) continue;  // reconnect to the new address at once, keeping the queue

    Status why = refused ? refusal : status_from_grpc(st, node_name(p->id.value) + " at " + address);
    if (!outage_logged) {
      spdlog::warn("transport: raft stream to {} at {} failed: {}; dropping {} queued batches, retrying",
                   node_name(p->id.value), address, why.to_string(), p->queue.size());
      outage_logged = true;
    } else {
      spdlog::debug("transport: raft stream to {} at {} failed: {}", node_name(p->id.value), address, why.to_string());
    }
    p->drop_queue();
    backoff_ms = next_backoff_ms(backoff_ms);
    p->cv.wait_for(lk, std::chrono::milliseconds(backoff_ms), [&] { return p->stopping || p->address_gen != gen; });
  }
  p->active = nullptr;
  p->connected = false;
  if (retry) p->batches_dropped += retry->batches_size();
  p->drop_queue();
}

// ---- snapshots ----------------------------------------------------------------

void PeerTransport::Impl::run_snapshots() {
  while (true) {
    std::unique_lock lk(snapshot_mu);
    snapshot_cv.wait(lk, [&] { return stopping || !snapshot_queue.empty(); });
    if (snapshot_queue.empty()) return;  // stopping, nothing left to answer
    SnapshotJob job = std::move(snapshot_queue.front());
    snapshot_queue.pop_front();
    if (job.refusal.is_ok()) --snapshots_queued;
    lk.unlock();
    Status st = job.refusal;
    if (st.is_ok()) {
      st = stopping ? Status(Errc::unavailable, "snapshot to " + node_name(job.to.value) + ": transport stopped")
                    : send_one_snapshot(job);
    }
    job.source.reset();
    job.done(std::move(st));
  }
}

Status PeerTransport::Impl::send_one_snapshot(SnapshotJob& job) {
  const std::string subject = "snapshot to " + node_name(job.to.value);
  std::string address;
  {
    std::lock_guard lk(peers_mu);
    auto it = peers.find(job.to);
    if (it != peers.end()) {
      std::lock_guard plk(it->second->mu);
      address = it->second->address;
    }
  }
  if (address.empty()) return Status(Errc::unavailable, subject + ": no address for the peer");

  auto stub = internal::Peer::NewStub(shared_channel(address));
  grpc::ClientContext ctx;
  {
    std::lock_guard lk(snapshot_mu);
    if (stopping) return Status(Errc::unavailable, subject + ": transport stopped");
    snapshot_active.insert(&ctx);
  }
  internal::SnapshotAck ack;
  auto writer = stub->Snapshot(&ctx, &ack);
  internal::SnapshotChunk msg;
  msg.set_cluster_id(opts.cluster_id);
  msg.set_from(self.value);
  msg.set_to(job.to.value);
  msg.set_header(std::move(job.header));
  bool ok = writer->Write(msg);
  Status local;  // the source's error, or a chunk we cannot send
  while (ok) {
    std::string chunk;
    auto more = job.source->next(chunk);
    if (!more.is_ok()) {
      local = more.status();
      break;
    }
    msg.Clear();
    if (!*more) {
      msg.set_last(true);
      ok = writer->Write(msg) && writer->WritesDone();
      break;
    }
    if (chunk.size() + kEnvelopeBytesMax > static_cast<size_t>(opts.max_message_bytes)) {
      local = Status(Errc::too_large, subject + ": chunk of " + std::to_string(chunk.size()) +
                                          " bytes exceeds the transport's max_message_bytes");
      break;
    }
    msg.set_data(std::move(chunk));
    ok = writer->Write(msg);
  }
  if (!local.is_ok()) ctx.TryCancel();
  grpc::Status st = writer->Finish();
  {
    std::lock_guard lk(snapshot_mu);
    snapshot_active.erase(&ctx);
  }
  if (!local.is_ok()) return local;
  if (!st.ok()) return status_from_grpc(st, subject + " at " + address);
  TESSERA_TRY(error_of(ack));
  if (!ok) return Status(Errc::unavailable, subject + " at " + address + ": stream broken");
  return Status::ok();
}

// ---- inbound ----------------------------------------------------------------

grpc::Status PeerTransport::Impl::Service::Raft(grpc::ServerContext* ctx,
                                                grpc::ServerReader<internal::RaftBatch>* reader,
                                                internal::RaftAck* ack) {
  Inbound in(t_, ctx);
  if (!in.admitted) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "peer transport stopped");
  internal::RaftBatch msg;
  uint64_t received = 0;
  uint64_t dropped = 0;
  while (reader->Read(&msg)) {
    Status st = t_.admit(msg.cluster_id(), msg.from(), msg.to(), false, "raft stream");
    if (!st.is_ok()) {
      spdlog::warn("transport: refusing {}", st.message());
      set_error(ack, st);
      break;
    }
    shard::TransportHandler* h = t_.handler.load();
    if (h == nullptr) {
      if (dropped == 0) spdlog::info("transport: no handler yet; dropping raft batches from {}", node_name(msg.from()));
      dropped += msg.batches_size();
      continue;
    }
    for (auto& b : *msg.mutable_batches()) {
      h->on_raft(std::move(b));
      ++received;
    }
  }
  ack->set_batches_received(received);
  return grpc::Status::OK;
}

namespace {

// An inbound snapshot stream, as the handler's ChunkSource.
class StreamChunks final : public shard::ChunkSource {
 public:
  StreamChunks(grpc::ServerReader<internal::SnapshotChunk>* reader, uint64_t from) : reader_(reader), from_(from) {}

  Result<bool> next(std::string& chunk) override {
    if (ended_) return false;
    if (!reader_->Read(&msg_)) {
      ended_ = true;
      return Status(Errc::unavailable, "snapshot from " + node_name(from_) + ": stream ended early");
    }
    if (msg_.last()) {
      ended_ = true;
      return false;
    }
    chunk = std::move(*msg_.mutable_data());
    return true;
  }

 private:
  grpc::ServerReader<internal::SnapshotChunk>* reader_;
  uint64_t from_;
  internal::SnapshotChunk msg_;
  bool ended_ = false;
};

}  // namespace

grpc::Status PeerTransport::Impl::Service::Snapshot(grpc::ServerContext* ctx,
                                                    grpc::ServerReader<internal::SnapshotChunk>* reader,
                                                    internal::SnapshotAck* ack) {
  Inbound in(t_, ctx);
  if (!in.admitted) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "peer transport stopped");
  auto answer = [ack](const Status& st) {
    if (!st.is_ok()) set_error(ack, st);
    return grpc::Status::OK;
  };
  internal::SnapshotChunk first;
  if (!reader->Read(&first)) return answer(Status(Errc::unavailable, "snapshot: empty stream"));
  Status st = t_.admit(first.cluster_id(), first.from(), first.to(), false, "snapshot");
  if (!st.is_ok()) {
    spdlog::warn("transport: refusing {}", st.message());
    return answer(st);
  }
  shard::TransportHandler* h = t_.handler.load();
  if (h == nullptr) {
    return answer(Status(Errc::unavailable, "snapshot from " + node_name(first.from()) + ": " +
                                                node_name(t_.self.value) + " is not ready"));
  }
  StreamChunks chunks(reader, first.from());
  return answer(h->on_snapshot(first.header(), chunks));
}

grpc::Status PeerTransport::Impl::Service::Call(grpc::ServerContext* ctx, const internal::CallRequest* req,
                                                internal::CallReply* reply) {
  Inbound in(t_, ctx);
  if (!in.admitted) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "peer transport stopped");
  auto fail = [reply](const Status& st) {
    set_error(reply, st);
    return grpc::Status::OK;
  };
  // A node joining a cluster does not know its id yet: "join" is the one
  // call accepted without one (the join handler decides).
  const bool joining = req->method() == "join" && req->cluster_id().empty();
  Status st = t_.admit(joining ? t_.opts.cluster_id : req->cluster_id(), req->from(), req->to(), true,
                       "call " + req->method());
  if (!st.is_ok()) {
    spdlog::warn("transport: refusing {}", st.message());
    return fail(st);
  }
  MethodHandler fn;
  {
    std::shared_lock lk(t_.methods_mu);
    auto it = t_.methods.find(req->method());
    if (it != t_.methods.end()) fn = it->second;
  }
  if (!fn) {
    return fail(
        Status(Errc::not_found, "peer method \"" + req->method() + "\": not found on " + node_name(t_.self.value)));
  }
  auto r = fn(NodeId(req->from()), req->request());
  if (!r.is_ok()) return fail(r.status());
  reply->set_reply(std::move(*r));
  return grpc::Status::OK;
}

// ---- PeerTransport --------------------------------------------------------------

PeerTransport::PeerTransport(NodeId self, PeerTransportOptions opts)
    : impl_(std::make_unique<Impl>(self, std::move(opts))) {}

PeerTransport::~PeerTransport() {
  stop();
  std::map<NodeId, std::shared_ptr<PeerState>> peers;
  {
    std::lock_guard lk(impl_->peers_mu);
    peers.swap(impl_->peers);
  }
  for (auto& [id, p] : peers) {
    if (p->thread.joinable()) p->thread.join();
  }
  for (auto& t : impl_->snapshot_threads) t.join();
  // Jobs queued after the snapshot threads left still get their answer.
  for (auto& job : impl_->snapshot_queue) {
    job.source.reset();
    job.done(job.refusal.is_ok()
                 ? Status(Errc::unavailable, "snapshot to " + node_name(job.to.value) + ": transport stopped")
                 : job.refusal);
  }
  impl_->snapshot_queue.clear();
  std::unique_lock lk(impl_->inbound_mu);
  impl_->inbound_cv.wait(lk, [&] { return impl_->inbound.empty(); });
}

grpc::Service* PeerTransport::service() { return &impl_->service; }

shard::NodeId PeerTransport::self() const { return impl_->self; }

void PeerTransport::stop() {
  if (impl_->stopping.exchange(true)) return;
  {
    std::lock_guard lk(impl_->peers_mu);
    for (auto& [id, p] : impl_->peers) {
      std::lock_guard plk(p->mu);
      p->stopping = true;
      if (p->active != nullptr) p->active->TryCancel();
      p->cv.notify_all();
    }
  }
  {
    std::lock_guard lk(impl_->snapshot_mu);
    for (auto* ctx : impl_->snapshot_active) ctx->TryCancel();
  }
  impl_->snapshot_cv.notify_all();
  std::lock_guard lk(impl_->inbound_mu);
  for (auto* ctx : impl_->inbound) ctx->TryCancel();
}

void PeerTransport::set_handler(shard::TransportHandler* h) { impl_->handler.store(h); }

void PeerTransport::set_peer(NodeId id, std::string address) {
  std::lock_guard lk(impl_->peers_mu);
  if (impl_->stopping) return;
  auto it = impl_->peers.find(id);
  if (it == impl_->peers.end()) {
    auto p = std::make_shared<PeerState>(id, std::move(address));
    p->thread = std::thread([impl = impl_.get(), p] { impl->run_peer(p); });
    impl_->peers.emplace(id, std::move(p));
    return;
  }
  PeerState& p = *it->second;
  std::lock_guard plk(p.mu);
  if (p.address == address) return;
  spdlog::info("transport: {} moved from {} to {}", node_name(id.value), p.address, address);
  p.address = std::move(address);
  ++p.address_gen;
  if (p.active != nullptr) p.active->TryCancel();
  p.cv.notify_all();
}

void PeerTransport::remove_peer(NodeId id) {
  std::shared_ptr<PeerState> p;
  {
    std::lock_guard lk(impl_->peers_mu);
    auto it = impl_->peers.find(id);
    if (it == impl_->peers.end()) return;
    p = std::move(it->second);
    impl_->peers.erase(it);
  }
  {
    std::lock_guard plk(p->mu);
    p->stopping = true;
    if (p->active != nullptr) p->active->TryCancel();
    p->cv.notify_all();
  }
  if (p->thread.joinable()) p->thread.join();
}

void PeerTransport::send(NodeId to, std::string batch) {
  std::shared_ptr<PeerState> p;
  {
    std::lock_guard lk(impl_->peers_mu);
    auto it = impl_->peers.find(to);
    if (it != impl_->peers.end()) p = it->second;
  }
  if (!p) {
    spdlog::debug("transport: no address for {}; dropping a raft batch", node_name(to.value));
    return;
  }
  if (batch.size() + kEnvelopeBytesMax > static_cast<size_t>(impl_->opts.max_message_bytes)) {
    spdlog::warn("transport: dropping a raft batch of {} bytes to {}: larger than max_message_bytes", batch.size(),
                 node_name(to.value));
    ++p->batches_dropped;
    return;
  }
  std::lock_guard plk(p->mu);
  if (p->stopping || p->queue_bytes + batch.size() > impl_->opts.queue_bytes_max) {
    ++p->batches_dropped;
    return;
  }
  p->queue_bytes += batch.size();
  p->queue.push_back(std::move(batch));
  if (p->queue.size() == 1) p->cv.notify_one();
}

void PeerTransport::send_snapshot(NodeId to, std::string header, std::unique_ptr<shard::ChunkSource> source,
                                  std::function<void(Status)> done) {
  SnapshotJob job{to, std::move(header), std::move(source), std::move(done), Status::ok()};
  std::lock_guard lk(impl_->snapshot_mu);
  if (impl_->snapshots_queued >= kSnapshotQueueMax) {
    job.refusal = Status(Errc::resource_exhausted, "snapshot to " + node_name(to.value) + ": " +
                                                       std::to_string(kSnapshotQueueMax) + " snapshots already queued");
    job.header.clear();
    job.source.reset();
  } else {
    ++impl_->snapshots_queued;
  }
  impl_->snapshot_queue.push_back(std::move(job));
  impl_->snapshot_cv.notify_one();
}

void PeerTransport::register_method(std::string name, MethodHandler h) {
  std::unique_lock lk(impl_->methods_mu);
  impl_->methods[std::move(name)] = std::move(h);
}

Result<std::string> PeerTransport::call(const std::string& address, const std::string& method,
                                        const std::string& request, int64_t timeout_ms) {
  const std::string subject = address + ": call " + method;
  if (impl_->stopping) return Status(Errc::unavailable, subject + ": transport stopped");
  auto stub = internal::Peer::NewStub(impl_->shared_channel(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)));
  internal::CallRequest req;
  req.set_cluster_id(impl_->opts.cluster_id);
  req.set_from(impl_->self.value);
  req.set_method(method);
  req.set_request(request);
  internal::CallReply reply;
  grpc::Status st = stub->Call(&ctx, req, &reply);
  if (!st.ok()) return status_from_grpc(st, subject);
  TESSERA_TRY(error_of(reply));
  return std::move(*reply.mutable_reply());
}

std::map<NodeId, PeerTransport::PeerStats> PeerTransport::stats() const {
  std::map<NodeId, PeerStats> out;
  std::lock_guard lk(impl_->peers_mu);
  for (const auto& [id, p] : impl_->peers) {
    out[id] = PeerStats{p->batches_sent.load(), p->bytes_sent.load(), p->batches_dropped.load(), p->connected.load()};
  }
  return out;
}

}  // namespace tessera::transport
