// Connection against in-process fake servers: auth metadata, error
// conversion, the two file streams, and following redirects.

#include "client/connection.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>

#include "client/connection_impl.h"
#include "client/file_stream.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::client {
namespace {

std::string metadata(grpc::ServerContext* ctx, const std::string& key) {
  auto it = ctx->client_metadata().find(key);
  if (it == ctx->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Refuses like a node holding no replica: not_leader, naming `to`.
grpc::Status redirect(grpc::ServerContext* ctx, const std::string& to) {
  ctx->AddTrailingMetadata("x-tessera-errc", "not_leader");
  ctx->AddTrailingMetadata("x-tessera-redirect", to);
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shard 2: not hosted on this node; retry at " + to);
}

// Stat succeeds for "/ok", fails with a Tessera error for "/denied" and with
// a bare gRPC status for "/bare", redirects a path in `redirects`, and
// answers "/unknown" with an outcome-unknown failure that still carries a
// redirect trailer; every call checks the credentials.
class FakeNamespace final : public v1::Namespace::Service {
 public:
  std::map<std::string, std::string> redirects;  // path → endpoint; set before calls
  std::atomic<int> stat_calls{0};

 private:
  grpc::Status Stat(grpc::ServerContext* ctx, const v1::StatRequest* req,
                    v1::StatResponse* resp) override {
    ++stat_calls;
    if (metadata(ctx, "x-tessera-key-id") != "TK1" || metadata(ctx, "x-tessera-secret") != "S1") {
      ctx->AddTrailingMetadata("x-tessera-errc", "unauthenticated");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad key");
    }
    if (auto it = redirects.find(req->path()); it != redirects.end()) return redirect(ctx, it->second);
    if (req->path() == "/unknown") {
      ctx->AddTrailingMetadata("x-tessera-errc", "unavailable");
      ctx->AddTrailingMetadata("x-tessera-redirect", "127.0.0.1:1");
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "/unknown: outcome unknown");
    }
    if (req->path() == "/denied") {
      ctx->AddTrailingMetadata("x-tessera-errc", "permission_denied");
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "/denied: permission denied");
    }
    if (req->path() == "/bare") return grpc::Status(grpc::StatusCode::NOT_FOUND, "/bare: gone");
    if (req->path() == "/flaky" && stat_calls <= 2) {
      ctx->AddTrailingMetadata("x-tessera-errc", "unavailable");
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node is starting");
    }
    resp->mutable_stat()->set_path(req->path());
    resp->mutable_stat()->set_kind(v1::KIND_FILE);
    return grpc::Status::OK;
  }
  // "/unknown": an unknown outcome; "/noleader": refused once before any
  // proposal (no leader yet), then done.
  grpc::Status Mkdir(grpc::ServerContext* ctx, const v1::MkdirRequest* req, v1::MkdirResponse*) override {
    ++mkdir_calls;
    if (req->path() == "/unknown") {
      ctx->AddTrailingMetadata("x-tessera-errc", "unavailable");
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "/unknown: outcome unknown");
    }
    if (req->path() == "/noleader" && mkdir_calls == 1) {
      ctx->AddTrailingMetadata("x-tessera-errc", "not_leader");
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shard 2: no leader elected yet");
    }
    return grpc::Status::OK;
  }

 public:
  std::atomic<int> mkdir_calls{0};
};

// Write concatenates what it receives at the given offsets; Read serves
// `content` in pieces of `piece` bytes, or fails for a missing path.
class FakeFiles final : public v1::Files::Service {
 public:
  std::string content;
  std::string first_path;
  size_t piece = 3;
  std::map<std::string, std::string> redirects;  // Read: path → endpoint

  grpc::Status Write(grpc::ServerContext*, grpc::ServerReader<v1::WriteRequest>* reader,
                     v1::WriteResponse* resp) override {
    v1::WriteRequest req;
    bool first = true;
    uint64_t written = 0;
    while (reader->Read(&req)) {
      if (first) {
        first_path = req.path();
        if (req.truncate()) content.clear();
        first = false;
      }
      if (content.size() < req.offset() + req.data().size()) {
        content.resize(req.offset() + req.data().size());
      }
      content.replace(req.offset(), req.data().size(), req.data());
      written += req.data().size();
    }
    resp->set_bytes_written(written);
    resp->set_size(content.size());
    return grpc::Status::OK;
  }

  grpc::Status Read(grpc::ServerContext* ctx, const v1::ReadRequest* req,
                    grpc::ServerWriter<v1::ReadResponse>* writer) override {
    if (auto it = redirects.find(req->path()); it != redirects.end()) return redirect(ctx, it->second);
    if (req->path() != "/f") {
      ctx->AddTrailingMetadata("x-tessera-errc", "not_found");
      return grpc::Status(grpc::StatusCode::NOT_FOUND, req->path() + ": not found");
    }
    for (size_t off = 0; off < content.size(); off += piece) {
      v1::ReadResponse r;
      r.set_offset(off);
      r.set_data(content.substr(off, piece));
      writer->Write(r);
    }
    return grpc::Status::OK;
  }
};

// One fake server: the two services above on a free local port.
struct FakeServer {
  FakeNamespace ns;
  FakeFiles files;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  void start() {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&ns);
    b.RegisterService(&files);
    server = b.BuildAndStart();
    ASSERT_NE(server, nullptr);
    ASSERT_GT(port, 0);
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port); }
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&ns_);
    b.RegisterService(&files_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    other_.start();
  }
  void TearDown() override {
    server_->Shutdown();
    other_.server->Shutdown();
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<Connection> connect(const std::string& key_id = "TK1") {
    ConnectionOptions o;
    o.endpoint = "127.0.0.1:" + std::to_string(port_);
    o.credentials.key_id = key_id;
    o.credentials.secret = "S1";
    o.unary_timeout_ms = 5000;
    return std::make_unique<Connection>(o);
  }

  int port_ = 0;
  FakeNamespace ns_;
  FakeFiles files_;
  std::unique_ptr<grpc::Server> server_;
  FakeServer other_;  // a second node, for redirects
};

TEST_F(ConnectionTest, SendsCredentials) {
  auto conn = connect();
  v1::StatRequest req;
  req.set_path("/ok");
  auto r = conn->stat(req);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->stat().path(), "/ok");

  auto bad = connect("TK2")->stat(req);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Errc::unauthenticated);
}

TEST_F(ConnectionTest, ErrcFromTrailer) {
  v1::StatRequest req;
  req.set_path("/denied");
  auto r = connect()->stat(req);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::permission_denied);
  EXPECT_EQ(r.status().message(), "/denied: permission denied");
}

TEST_F(ConnectionTest, GrpcCodeWithoutTrailer) {
  v1::StatRequest req;
  req.set_path("/bare");
  auto r = connect()->stat(req);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
  EXPECT_EQ(r.status().message(), "/bare: gone");
}

TEST_F(ConnectionTest, UnimplementedService) {
  auto r = connect()->who_am_i(v1::WhoAmIRequest());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::internal);
  EXPECT_NE(r.status().message().find("does not implement"), std::string::npos);
}

TEST_F(ConnectionTest, WriteThenRead) {
  auto conn = connect();
  auto w = conn->open_writer();
  v1::WriteRequest first;
  first.set_path("/f");
  first.set_create(true);
  first.set_truncate(true);
  first.set_data("hello ");
  ASSERT_TRUE(w->send(first).is_ok());
  v1::WriteRequest second;
  second.set_offset(6);
  second.set_data("world");
  ASSERT_TRUE(w->send(second).is_ok());
  auto done = w->finish();
  ASSERT_TRUE(done.is_ok()) << done.status().to_string();
  EXPECT_EQ(done->bytes_written(), 11u);
  EXPECT_EQ(files_.content, "hello world");
  EXPECT_EQ(files_.first_path, "/f");

  v1::ReadRequest rr;
  rr.set_path("/f");
  auto reader = conn->open_reader(rr);
  std::string got;
  v1::ReadResponse piece;
  while (true) {
    auto more = reader->next(&piece);
    ASSERT_TRUE(more.is_ok()) << more.status().to_string();
    if (!*more) break;
    EXPECT_EQ(piece.offset(), got.size());
    got += piece.data();
  }
  EXPECT_EQ(got, "hello world");
}

TEST_F(ConnectionTest, ReadErrorAndEarlyDestroy) {
  auto conn = connect();
  v1::ReadRequest rr;
  rr.set_path("/missing");
  auto reader = conn->open_reader(rr);
  v1::ReadResponse piece;
  auto r = reader->next(&piece);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
  EXPECT_EQ(r.status().message(), "/missing: not found");

  files_.content = std::string(1000, 'x');
  rr.set_path("/f");
  auto partial = conn->open_reader(rr);
  ASSERT_TRUE(*partial->next(&piece));
  partial.reset();  // cancels the rest of the stream

  auto w = conn->open_writer();
  w.reset();  // cancels without sending anything
}

TEST_F(ConnectionTest, FollowsRedirect) {
  ns_.redirects["/moved"] = other_.endpoint();
  v1::StatRequest req;
  req.set_path("/moved");
  auto conn = connect();
  auto r = conn->stat(req);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->stat().path(), "/moved");
  EXPECT_EQ(ns_.stat_calls, 1);
  EXPECT_EQ(other_.ns.stat_calls, 1);
  // The next call starts at the configured endpoint again.
  req.set_path("/ok");
  ASSERT_TRUE(conn->stat(req).is_ok());
  EXPECT_EQ(ns_.stat_calls, 2);
  EXPECT_EQ(conn->endpoint(), endpoint());
}

TEST_F(ConnectionTest, GivesUpAfterTooManyRedirects) {
  ns_.redirects["/loop"] = other_.endpoint();
  other_.ns.redirects["/loop"] = endpoint();
  v1::StatRequest req;
  req.set_path("/loop");
  auto r = connect()->stat(req);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::not_leader);
  EXPECT_NE(r.status().message().find("retry at"), std::string::npos);
  EXPECT_EQ(ns_.stat_calls + other_.ns.stat_calls, kRedirectHopsMax + 1);
}

TEST_F(ConnectionTest, NeverRetriesAnUnknownOutcome) {
  auto conn = connect();
  v1::MkdirRequest mk;
  mk.set_path("/unknown");
  auto r = conn->mkdir(mk);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::unavailable);
  EXPECT_EQ(r.status().message(), "/unknown: outcome unknown");
  EXPECT_EQ(ns_.mkdir_calls, 1);
}

TEST_F(ConnectionTest, RetriesReadsWhileUnavailable) {
  v1::StatRequest req;
  req.set_path("/flaky");
  auto r = connect()->stat(req);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(ns_.stat_calls, 3);
}

TEST_F(ConnectionTest, RetriesARefusedWrite) {
  v1::MkdirRequest mk;
  mk.set_path("/noleader");
  auto r = connect()->mkdir(mk);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(ns_.mkdir_calls, 2);
}

TEST_F(ConnectionTest, ReaderFollowsRedirect) {
  files_.redirects["/f"] = other_.endpoint();
  other_.files.content = "elsewhere";
  v1::ReadRequest rr;
  rr.set_path("/f");
  auto conn = connect();
  auto reader = conn->open_reader(rr);
  std::string got;
  v1::ReadResponse piece;
  while (true) {
    auto more = reader->next(&piece);
    ASSERT_TRUE(more.is_ok()) << more.status().to_string();
    if (!*more) break;
    got += piece.data();
  }
  EXPECT_EQ(got, "elsewhere");
}

TEST(Connection, UnreachableServer) {
  ConnectionOptions o;
  o.endpoint = "127.0.0.1:1";
  o.credentials.key_id = "k";
  o.credentials.secret = "s";
  o.unary_timeout_ms = 5000;
  Connection conn(o);
  auto r = conn.list(v1::ListRequest());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::unavailable);
  EXPECT_EQ(r.status().message(), "cannot reach tessera at 127.0.0.1:1");
}

}  // namespace
}  // namespace tessera::client
