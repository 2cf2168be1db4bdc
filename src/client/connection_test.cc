// Connection against an in-process fake server: auth metadata, error
// conversion, and the two file streams.

#include "client/connection.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "client/file_stream.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::client {
namespace {

std::string metadata(grpc::ServerContext* ctx, const std::string& key) {
  auto it = ctx->client_metadata().find(key);
  if (it == ctx->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Stat succeeds for "/ok", fails with a Tessera error for "/denied" and with
// a bare gRPC status for "/bare"; every call checks the credentials.
class FakeNamespace final : public v1::Namespace::Service {
  grpc::Status Stat(grpc::ServerContext* ctx, const v1::StatRequest* req,
                    v1::StatResponse* resp) override {
    if (metadata(ctx, "x-tessera-key-id") != "TK1" || metadata(ctx, "x-tessera-secret") != "S1") {
      ctx->AddTrailingMetadata("x-tessera-errc", "unauthenticated");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad key");
    }
    if (req->path() == "/denied") {
      ctx->AddTrailingMetadata("x-tessera-errc", "permission_denied");
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "/denied: permission denied");
    }
    if (req->path() == "/bare") return grpc::Status(grpc::StatusCode::NOT_FOUND, "/bare: gone");
    resp->mutable_stat()->set_path(req->path());
    resp->mutable_stat()->set_kind(v1::KIND_FILE);
    return grpc::Status::OK;
  }
};

// Write concatenates what it receives at the given offsets; Read serves
// `content` in pieces of `piece` bytes, or fails for a missing path.
class FakeFiles final : public v1::Files::Service {
 public:
  std::string content;
  std::string first_path;
  size_t piece = 3;

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
  }
  void TearDown() override { server_->Shutdown(); }

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
