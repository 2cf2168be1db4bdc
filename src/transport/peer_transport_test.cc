#include "transport/peer_transport.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tessera::transport {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using shard::NodeId;

constexpr auto kWait = 10s;

// Records what the transport delivers.
class Recorder final : public shard::TransportHandler {
 public:
  void on_raft(std::string batch) override {
    std::lock_guard lk(mu_);
    batches_.push_back(std::move(batch));
    cv_.notify_all();
  }

  Status on_snapshot(const std::string& header, shard::ChunkSource& chunks) override {
    std::string data;
    size_t n = 0;
    while (true) {
      std::string chunk;
      auto more = chunks.next(chunk);
      if (!more.is_ok()) return more.status();
      if (!*more) break;
      data += chunk;
      ++n;
    }
    std::lock_guard lk(mu_);
    snapshot_header_ = header;
    snapshot_data_ = std::move(data);
    snapshot_chunks_ = n;
    ++snapshots_;
    cv_.notify_all();
    return snapshot_answer_;
  }

  bool wait_batches(size_t n, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return batches_.size() >= n; });
  }
  std::vector<std::string> batches() {
    std::lock_guard lk(mu_);
    return batches_;
  }
  size_t batch_count() {
    std::lock_guard lk(mu_);
    return batches_.size();
  }
  void set_snapshot_answer(Status st) {
    std::lock_guard lk(mu_);
    snapshot_answer_ = std::move(st);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> batches_;
  std::string snapshot_header_;
  std::string snapshot_data_;
  size_t snapshot_chunks_ = 0;
  int snapshots_ = 0;
  Status snapshot_answer_;
};

// A transport served by its own gRPC server, as a node would run it.
struct TestNode {
  TestNode(uint64_t id, PeerTransportOptions opts = {}, const std::string& listen = "127.0.0.1:0")
      : transport(std::make_unique<PeerTransport>(NodeId(id), std::move(opts))) {
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
    b.SetMaxReceiveMessageSize(64 << 20);
    b.SetMaxSendMessageSize(64 << 20);
    b.RegisterService(transport->service());
    server = b.BuildAndStart();
    EXPECT_TRUE(server != nullptr);
    EXPECT_NE(port, 0);
    address = "127.0.0.1:" + std::to_string(port);
    transport->set_handler(&handler);
  }
  ~TestNode() { shutdown(); }

  // The node's shutdown sequence; returns how long it took.
  Clock::duration shutdown() {
    auto start = Clock::now();
    if (transport) transport->stop();
    if (server) server->Shutdown(std::chrono::system_clock::now() + 5s);
    server.reset();
    transport.reset();
    return Clock::now() - start;
  }

  PeerTransport::PeerStats stats(uint64_t peer) { return transport->stats().at(NodeId(peer)); }

  Recorder handler;
  std::unique_ptr<PeerTransport> transport;
  std::unique_ptr<grpc::Server> server;
  std::string address;
};

// A TCP listener that accepts connections and never speaks HTTP/2: streams
// to it hang, as they do to a peer that is wedged.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~BlackHole() { ::close(fd_); }
  std::string address;

 private:
  int fd_ = -1;
};

// A port nothing listens on (bound briefly, then released).
std::string dead_address() {
  BlackHole h;
  return h.address;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = kWait) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class VectorSource final : public shard::ChunkSource {
 public:
  explicit VectorSource(std::vector<std::string> chunks, Status fail_at_end = Status::ok())
      : chunks_(std::move(chunks)), fail_(std::move(fail_at_end)) {}
  Result<bool> next(std::string& chunk) override {
    if (i_ == chunks_.size()) {
      if (!fail_.is_ok()) return fail_;
      return false;
    }
    chunk = chunks_[i_++];
    return true;
  }

 private:
  std::vector<std::string> chunks_;
  Status fail_;
  size_t i_ = 0;
};

// Sends a snapshot and waits for `done`.
Status send_snapshot(PeerTransport& t, uint64_t to, std::string header, std::unique_ptr<shard::ChunkSource> src) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> result;
  t.send_snapshot(NodeId(to), std::move(header), std::move(src), [&](Status st) {
    std::lock_guard lk(mu);
    result = std::move(st);
    cv.notify_all();
  });
  std::unique_lock lk(mu);
  EXPECT_TRUE(cv.wait_for(lk, kWait, [&] { return result.has_value(); }));
  return result.value_or(Status(Errc::internal, "timed out"));
}

TEST(PeerTransport, OrderedDeliveryOf10kBatches) {
  TestNode a(1), b(2);
  a.transport->set_peer(NodeId(2), b.address);
  constexpr int kN = 10000;
  for (int i = 0; i < kN; ++i) a.transport->send(NodeId(2), "batch-" + std::to_string(i));
  ASSERT_TRUE(b.handler.wait_batches(kN));
  auto got = b.handler.batches();
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) ASSERT_EQ(got[i], "batch-" + std::to_string(i));
  auto s = a.stats(2);
  EXPECT_EQ(s.batches_sent, static_cast<uint64_t>(kN));
  EXPECT_EQ(s.batches_dropped, 0u);
  EXPECT_TRUE(s.connected);
  // Stopping with a live inbound stream must not make the server wait.
  EXPECT_LT(b.shutdown(), 1s);
}

TEST(PeerTransport, ThreeNodesAllToAll) {
  TestNode n1(1), n2(2), n3(3);
  TestNode* nodes[] = {&n1, &n2, &n3};
  for (auto* from : nodes) {
    for (uint64_t id = 1; id <= 3; ++id) {
      if (id != from->transport->self().value) from->transport->set_peer(NodeId(id), nodes[id - 1]->address);
    }
  }
  for (int i = 0; i < 100; ++i) {
    for (auto* from : nodes) {
      for (uint64_t id = 1; id <= 3; ++id) {
        if (id == from->transport->self().value) continue;
        from->transport->send(NodeId(id), std::to_string(from->transport->self().value) + ":" + std::to_string(i));
      }
    }
  }
  for (auto* n : nodes) {
    ASSERT_TRUE(n->handler.wait_batches(200));
    // Per sender, order is preserved.
    std::map<std::string, int> next;
    for (const auto& b : n->handler.batches()) {
      auto colon = b.find(':');
      std::string from = b.substr(0, colon);
      EXPECT_EQ(std::stoi(b.substr(colon + 1)), next[from]++) << b;
    }
    EXPECT_EQ(next.size(), 2u);
  }
}

TEST(PeerTransport, PeerDownThenUp) {
  std::string address;
  {
    TestNode b(2);
    address = b.address;
  }
  TestNode a(1, PeerTransportOptions{.reconnect_backoff_ms_max = 200});
  a.transport->set_peer(NodeId(2), address);
  for (int i = 0; i < 10; ++i) a.transport->send(NodeId(2), "early");
  ASSERT_TRUE(eventually([&] { return a.stats(2).batches_dropped > 0; }));
  EXPECT_FALSE(a.stats(2).connected);

  TestNode b(2, {}, address);  // the peer comes back on the same port
  // Keep sending until one arrives: earlier batches may be dropped.
  bool arrived = eventually([&] {
    a.transport->send(NodeId(2), "late");
    return b.handler.batch_count() > 0;
  });
  ASSERT_TRUE(arrived);
  EXPECT_EQ(b.handler.batches().back(), "late");
  EXPECT_TRUE(eventually([&] { return a.stats(2).connected; }));
}

TEST(PeerTransport, PeerRestartKeepsStreaming) {
  TestNode a(1);
  auto b = std::make_unique<TestNode>(2);
  std::string address = b->address;
  a.transport->set_peer(NodeId(2), address);
  a.transport->send(NodeId(2), "one");
  ASSERT_TRUE(b->handler.wait_batches(1));
  b.reset();
  b = std::make_unique<TestNode>(2, PeerTransportOptions{}, address);
  ASSERT_TRUE(eventually([&] {
    a.transport->send(NodeId(2), "two");
    return b->handler.batch_count() > 0;
  }));
  EXPECT_EQ(b->handler.batches().front(), "two");
}

// A stream that was up for a while and breaks (the peer restarted) retries
// the write that failed on a new stream, so a single send still arrives.
TEST(PeerTransport, LongLivedStreamRetriesFailedWriteOnce) {
  TestNode a(1, PeerTransportOptions{.reconnect_backoff_ms_max = 100});
  auto b = std::make_unique<TestNode>(2);
  std::string address = b->address;
  a.transport->set_peer(NodeId(2), address);
  a.transport->send(NodeId(2), "one");
  ASSERT_TRUE(b->handler.wait_batches(1));
  std::this_thread::sleep_for(200ms);
  b.reset();
  b = std::make_unique<TestNode>(2, PeerTransportOptions{}, address);
  a.transport->send(NodeId(2), "two");
  ASSERT_TRUE(b->handler.wait_batches(1, 3s));
  EXPECT_EQ(b->handler.batches(), std::vector<std::string>{"two"});
}

TEST(PeerTransport, FullQueueDropsWithoutBlocking) {
  BlackHole hole;
  auto a = std::make_unique<TestNode>(1, PeerTransportOptions{.queue_bytes_max = 1000});
  a->transport->set_peer(NodeId(2), hole.address);
  constexpr int kN = 10000;
  auto start = Clock::now();
  for (int i = 0; i < kN; ++i) a->transport->send(NodeId(2), std::string(100, 'x'));
  EXPECT_LT(Clock::now() - start, 500ms);
  auto s = a->stats(2);
  // Beyond what gRPC buffers, at most one queue's worth (10 batches) plus one
  // write in flight escaped dropping.
  EXPECT_GT(s.batches_dropped, 0u);
  EXPECT_GE(s.batches_dropped + s.batches_sent, static_cast<uint64_t>(kN - 11));
  // Destroying a transport whose stream hangs on a wedged peer is prompt.
  EXPECT_LT(a->shutdown(), 1s);
}

TEST(PeerTransport, UnknownPeerAndOversizedBatchAreDropped) {
  TestNode a(1, PeerTransportOptions{.max_message_bytes = 64 << 10}), b(2);
  a.transport->send(NodeId(7), "nobody");  // no address: dropped silently
  a.transport->set_peer(NodeId(2), b.address);
  a.transport->send(NodeId(2), std::string(100 << 10, 'x'));
  a.transport->send(NodeId(2), "small");
  ASSERT_TRUE(b.handler.wait_batches(1));
  EXPECT_EQ(b.handler.batches(), std::vector<std::string>{"small"});
  EXPECT_EQ(a.stats(2).batches_dropped, 1u);
  EXPECT_EQ(a.transport->stats().count(NodeId(7)), 0u);
}

TEST(PeerTransport, SnapshotArrivesWholeAndAnswerReturns) {
  TestNode a(1), b(2);
  a.transport->set_peer(NodeId(2), b.address);
  std::vector<std::string> chunks;
  std::string whole;
  for (int i = 0; i < 80; ++i) {  // 80 x 64 KiB = 5 MiB
    std::string c(64 << 10, static_cast<char>('a' + i % 26));
    c[0] = static_cast<char>(i);
    whole += c;
    chunks.push_back(std::move(c));
  }
  Status st = send_snapshot(*a.transport, 2, "hdr", std::make_unique<VectorSource>(chunks));
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  {
    std::lock_guard lk(b.handler.mu_);
    EXPECT_EQ(b.handler.snapshot_header_, "hdr");
    EXPECT_EQ(b.handler.snapshot_chunks_, chunks.size());
    EXPECT_TRUE(b.handler.snapshot_data_ == whole);
  }

  // The receiver's error comes back to `done`.
  b.handler.set_snapshot_answer(Status(Errc::corruption, "snapshot 7: bad checksum"));
  st = send_snapshot(*a.transport, 2, "hdr2", std::make_unique<VectorSource>(chunks));
  EXPECT_EQ(st.code(), Errc::corruption);
  EXPECT_EQ(st.message(), "snapshot 7: bad checksum");

  // An empty snapshot is still a snapshot.
  b.handler.set_snapshot_answer(Status::ok());
  st = send_snapshot(*a.transport, 2, "empty", std::make_unique<VectorSource>(std::vector<std::string>{}));
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  std::lock_guard lk(b.handler.mu_);
  EXPECT_EQ(b.handler.snapshot_header_, "empty");
  EXPECT_EQ(b.handler.snapshot_chunks_, 0u);
  EXPECT_EQ(b.handler.snapshots_, 3);
}

TEST(PeerTransport, SnapshotFailures) {
  TestNode a(1), b(2);
  // Unknown peer.
  Status st = send_snapshot(*a.transport, 9, "h", std::make_unique<VectorSource>(std::vector<std::string>{"x"}));
  EXPECT_EQ(st.code(), Errc::unavailable) << st.to_string();
  // The source fails: its error is the answer, and the receiver sees a broken stream.
  a.transport->set_peer(NodeId(2), b.address);
  st = send_snapshot(*a.transport, 2, "h",
                     std::make_unique<VectorSource>(std::vector<std::string>{"x", "y"},
                                                    Status(Errc::io_error, "snap.sst: read failed")));
  EXPECT_EQ(st.code(), Errc::io_error);
  EXPECT_EQ(st.message(), "snap.sst: read failed");
  // A dead peer.
  a.transport->set_peer(NodeId(3), dead_address());
  st = send_snapshot(*a.transport, 3, "h", std::make_unique<VectorSource>(std::vector<std::string>{"x"}));
  EXPECT_EQ(st.code(), Errc::unavailable) << st.to_string();
  // Snapshots pending at shutdown are answered.
  BlackHole hole;
  a.transport->set_peer(NodeId(4), hole.address);
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  for (int i = 0; i < 4; ++i) {
    a.transport->send_snapshot(NodeId(4), "h", std::make_unique<VectorSource>(std::vector<std::string>{"x"}),
                               [&](Status s) {
                                 EXPECT_EQ(s.code(), Errc::unavailable);
                                 std::lock_guard lk(mu);
                                 ++answered;
                                 cv.notify_all();
                               });
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_LT(a.shutdown(), 1s);
  std::lock_guard lk(mu);
  EXPECT_EQ(answered, 4);
}

TEST(PeerTransport, CallRoundTripAndErrors) {
  TestNode a(1), b(2);
  NodeId seen_from;
  b.transport->register_method("echo", [&](NodeId from, const std::string& req) -> Result<std::string> {
    seen_from = from;
    return "echo:" + req;
  });
  b.transport->register_method("fail", [](NodeId, const std::string&) -> Result<std::string> {
    return Status(Errc::quota_exceeded, "/apps/x: quota exceeded");
  });
  auto r = a.transport->call(b.address, "echo", std::string("hi\0there", 8), 2000);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, std::string("echo:hi\0there", 13));
  EXPECT_EQ(seen_from, NodeId(1));

  r = a.transport->call(b.address, "nope", "", 2000);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
  EXPECT_NE(r.status().message().find("nope"), std::string::npos) << r.status().message();

  r = a.transport->call(b.address, "fail", "", 2000);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::quota_exceeded);
  EXPECT_EQ(r.status().message(), "/apps/x: quota exceeded");

  r = a.transport->call(dead_address(), "echo", "", 2000);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::unavailable);

  BlackHole hole;
  auto start = Clock::now();
  r = a.transport->call(hole.address, "echo", "", 200);
  EXPECT_EQ(r.status().code(), Errc::unavailable);
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(PeerTransport, ClusterIdMismatchIsRefused) {
  TestNode a(1, PeerTransportOptions{.cluster_id = "alpha"});
  TestNode b(2, PeerTransportOptions{.cluster_id = "beta"});
  b.transport->register_method("echo", [](NodeId, const std::string& req) -> Result<std::string> { return req; });
  auto r = a.transport->call(b.address, "echo", "x", 2000);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::permission_denied);
  EXPECT_NE(r.status().message().find("alpha"), std::string::npos) << r.status().message();

  a.transport->set_peer(NodeId(2), b.address);
  for (int i = 0; i < 20; ++i) {
    a.transport->send(NodeId(2), "x");
    std::this_thread::sleep_for(10ms);
  }
  Status st = send_snapshot(*a.transport, 2, "h", std::make_unique<VectorSource>(std::vector<std::string>{"x"}));
  EXPECT_EQ(st.code(), Errc::permission_denied) << st.to_string();
  EXPECT_EQ(b.handler.batch_count(), 0u);
  EXPECT_EQ(b.handler.snapshots_, 0);

  // A node with the same cluster id is served.
  TestNode c(3, PeerTransportOptions{.cluster_id = "beta"});
  r = c.transport->call(b.address, "echo", "x", 2000);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
}

TEST(PeerTransport, BatchForAnotherNodeIsDropped) {
  TestNode a(1), b(2);
  a.transport->set_peer(NodeId(3), b.address);  // a believes node 3 lives at b
  for (int i = 0; i < 10; ++i) a.transport->send(NodeId(3), "misrouted");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(b.handler.batch_count(), 0u);
  a.transport->set_peer(NodeId(2), b.address);
  a.transport->send(NodeId(2), "right");
  ASSERT_TRUE(b.handler.wait_batches(1));
  EXPECT_EQ(b.handler.batches(), std::vector<std::string>{"right"});
}

TEST(PeerTransport, SetPeerChangesAddress) {
  TestNode a(1), b(2), b2(2);  // b2: node 2 after moving
  a.transport->set_peer(NodeId(2), b.address);
  a.transport->send(NodeId(2), "to-old");
  ASSERT_TRUE(b.handler.wait_batches(1));
  a.transport->set_peer(NodeId(2), b2.address);
  a.transport->send(NodeId(2), "to-new");
  ASSERT_TRUE(b2.handler.wait_batches(1));
  EXPECT_EQ(b2.handler.batches(), std::vector<std::string>{"to-new"});
  EXPECT_EQ(b.handler.batches(), std::vector<std::string>{"to-old"});

  // Moving away from a wedged address is prompt too.
  BlackHole hole;
  a.transport->set_peer(NodeId(2), hole.address);
  a.transport->send(NodeId(2), "maybe");  // still queued or stuck in a write
  std::this_thread::sleep_for(100ms);
  a.transport->set_peer(NodeId(2), b.address);
  a.transport->send(NodeId(2), "back");
  ASSERT_TRUE(eventually([&] { return b.handler.batches().back() == "back"; }, 3s));

  a.transport->remove_peer(NodeId(2));
  EXPECT_EQ(a.transport->stats().count(NodeId(2)), 0u);
  a.transport->send(NodeId(2), "gone");
}

TEST(PeerTransport, NoHandlerDropsAndStoppedRefuses) {
  TestNode a(1), b(2);
  b.transport->set_handler(nullptr);
  a.transport->set_peer(NodeId(2), b.address);
  a.transport->send(NodeId(2), "early");
  std::this_thread::sleep_for(100ms);
  b.transport->set_handler(&b.handler);
  a.transport->send(NodeId(2), "later");
  ASSERT_TRUE(b.handler.wait_batches(1));
  EXPECT_EQ(b.handler.batches(), std::vector<std::string>{"later"});

  b.transport->register_method("echo", [](NodeId, const std::string& req) -> Result<std::string> { return req; });
  b.transport->stop();
  auto r = a.transport->call(b.address, "echo", "x", 2000);
  EXPECT_EQ(r.status().code(), Errc::unavailable);
}

}  // namespace
}  // namespace tessera::transport
