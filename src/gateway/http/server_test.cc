#include "gateway/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "gateway/http/admin_routes.h"
#include "gateway/http/test_client.h"

namespace tessera::http {
namespace {

using testing::get;
using testing::RawResponse;
using testing::send_raw;
using testing::TestConnection;

// Routes behind the admin ones: misbehaving handlers and an echo.
Response extra_routes(const std::string& method, const std::string& target,
                      const std::string& body) {
  if (target == "/boom") throw std::runtime_error("kaboom");
  if (target == "/echo") return Response{200, "text/plain", method + ":" + body};
  if (target == "/bad-status") return Response{42, "text/plain", "?"};
  if (target == "/bad-header") {
    return Response{200, "text/plain", "x", {{"X-Injected", "a\r\nSet-Cookie: b"}}};
  }
  if (target == "/bad-framing") {
    return Response{200, "text/plain", "x", {{"content-length", "9"}}};
  }
  return Response{404, "application/json", R"({"error":"not found"})"};
}

// An AdminServer on 127.0.0.1:0 serving the admin routes plus extra_routes.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(ServerOptions options) {
    server_.reset();
    metrics_.counter("tessera_test_requests_total", "Test requests.").inc(5);
    AdminRoutes routes{.ready = [this] { return ready_.load(); },
                       .status_json = [] { return std::string(R"({"role":"test"})"); },
                       .metrics = &metrics_,
                       .extra = extra_routes};
    auto started =
        AdminServer::start("127.0.0.1:0", make_admin_handler(std::move(routes)), options);
    ASSERT_TRUE(started.is_ok()) << started.status().to_string();
    server_ = std::move(started).value();
    addr_ = server_->address();
  }

  Metrics metrics_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<AdminServer> server_;
  std::string addr_;
};

TEST_F(ServerTest, BindsEphemeralPort) {
  EXPECT_EQ(addr_.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(addr_, "127.0.0.1:0");
}

TEST_F(ServerTest, Healthz) {
  RawResponse r = get(addr_, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.body, "ok");
}

TEST_F(ServerTest, ReadyzFollowsCallback) {
  RawResponse not_ready = get(addr_, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready");
  ready_ = true;
  RawResponse ready = get(addr_, "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready");
}

TEST_F(ServerTest, MetricsAndStatus) {
  RawResponse m = get(addr_, "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(m.body.find("# TYPE tessera_test_requests_total counter\n"
                        "tessera_test_requests_total 5\n"),
            std::string::npos);
  RawResponse s = get(addr_, "/v1/status");
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.header("content-type"), "application/json");
  EXPECT_EQ(s.body, R"({"role":"test"})");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  RawResponse nf = get(addr_, "/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.body, R"({"error":"not found"})");  // from `extra`

  RawResponse na = send_raw(addr_, "DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.header("allow"), "GET, HEAD");
}

TEST_F(ServerTest, HeadSendsLengthWithoutBody) {
  TestConnection c(addr_);
  ASSERT_TRUE(
      c.send_all("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  RawResponse head = c.read_response(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "2");
  RawResponse next = c.read_response();  // would contain "ok" twice if HEAD had a body
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "ok");
}

TEST_F(ServerTest, KeepAliveAndPipelining) {
  TestConnection c(addr_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    RawResponse r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok");
  }
  ASSERT_TRUE(
      c.send_all("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                 "GET /v1/status HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(c.read_response().body, "POST:abc");
  EXPECT_EQ(c.read_response().body, R"({"role":"test"})");
}

TEST_F(ServerTest, MalformedRequestLineIs400) {
  for (const char* raw :
       {"GARBAGE\r\n\r\n", "GET /healthz HTTP/9.9\r\n\r\n", "GET  HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: nope\r\n\r\n"}) {
    TestConnection c(addr_);
    ASSERT_TRUE(c.send_all(raw));
    RawResponse r = c.read_response();
    EXPECT_EQ(r.status, 400) << raw;
    EXPECT_EQ(r.header("connection"), "close") << raw;
    EXPECT_TRUE(c.wait_closed()) << raw;
  }
  EXPECT_EQ(get(addr_, "/healthz").status, 200);  // still serving
}

TEST_F(ServerTest, RandomBytesNeverCrash) {
  std::mt19937 rng(20240611);  // fixed seed: failures replay
  const std::string prefixes[] = {"", "GET / HTTP/1.1\r\n", "POST /echo HTTP/1.1\r\n",
                                  "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"};
  for (int i = 0; i < 200; ++i) {
    std::string junk = prefixes[i % 4];
    size_t n = rng() % 512;
    for (size_t j = 0; j < n; ++j) junk += static_cast<char>(rng() % 256);
    if (i % 2 == 0) junk += "\r\n\r\n";
    TestConnection c(addr_);
    ASSERT_TRUE(c.connected());
    c.send_all(junk);
    c.shutdown_send();
    RawResponse r = c.read_response();
    EXPECT_TRUE(r.status == 0 || r.status == 400 || r.status == 404 || r.status == 200) << i;
  }
  EXPECT_EQ(get(addr_, "/healthz").status, 200);
}

TEST_F(ServerTest, OversizedBodyIs413) {
  std::string big(kRequestBodyBytesMax + 1, 'x');
  // Declared length over the limit: rejected before the body is read.
  RawResponse declared = send_raw(addr_, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                             std::to_string(big.size()) + "\r\n\r\n");
  EXPECT_EQ(declared.status, 413);

  // The body actually sent: the client still gets to read the 413.
  RawResponse sent = send_raw(addr_, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                         std::to_string(big.size()) + "\r\n\r\n" + big);
  EXPECT_EQ(sent.status, 413);

  // Chunked bodies are limited by what arrives.
  std::string chunk(64 << 10, 'y');
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t n = 0; n <= kRequestBodyBytesMax; n += chunk.size()) {
    chunked += "10000\r\n" + chunk + "\r\n";
  }
  chunked += "0\r\n\r\n";
  EXPECT_EQ(send_raw(addr_, chunked).status, 413);

  // Exactly at the limit is fine.
  std::string max(kRequestBodyBytesMax, 'z');
  RawResponse ok = send_raw(addr_, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                       std::to_string(max.size()) + "\r\n\r\n" + max);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.size(), max.size() + 5);
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  std::string raw =
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(kRequestHeaderBytesMax, 'h') +
      "\r\n\r\n";
  EXPECT_EQ(send_raw(addr_, raw).status, 431);
}

TEST_F(ServerTest, HandlerExceptionIs500AndServerSurvives) {
  TestConnection c(addr_);
  ASSERT_TRUE(c.send_all("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n"));
  RawResponse r = c.read_response();
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"error":"internal error"})");
  ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(c.read_response().status, 200);  // same connection still usable
}

TEST_F(ServerTest, InvalidHandlerResponseIs500) {
  for (const char* target : {"/bad-status", "/bad-header", "/bad-framing"}) {
    RawResponse r = get(addr_, target);
    EXPECT_EQ(r.status, 500) << target;
    EXPECT_EQ(r.header("set-cookie"), "") << target;
  }
}

TEST_F(ServerTest, Http10ClosesAfterResponse) {
  TestConnection c(addr_);
  ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.0\r\n\r\n"));
  RawResponse r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(ServerTest, ConnectionsBeyondLimitAreClosed) {
  start({.connections_max = 2});
  auto a = std::make_unique<TestConnection>(addr_);
  TestConnection b(addr_);
  // Make sure both are accepted before the third arrives.
  ASSERT_TRUE(a->send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(b.send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(a->read_response().status, 200);
  EXPECT_EQ(b.read_response().status, 200);
  TestConnection c(addr_);
  EXPECT_TRUE(c.wait_closed());
  a->send_all("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(a->read_response().status, 200);
  EXPECT_TRUE(a->wait_closed());
  a.reset();
  // A slot is free again once the server has seen `a` go.
  RawResponse r;
  for (int i = 0; i < 50 && r.status != 200; ++i) {
    r = get(addr_, "/healthz");
    if (r.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(r.status, 200);
}

TEST_F(ServerTest, DefaultLimitIs256Connections) {
  std::vector<std::unique_ptr<TestConnection>> open;
  for (int i = 0; i < kConnectionsMax; ++i) {
    open.push_back(std::make_unique<TestConnection>(addr_));
    ASSERT_TRUE(open.back()->send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_EQ(open.back()->read_response().status, 200) << i;
  }
  TestConnection refused(addr_);
  EXPECT_TRUE(refused.wait_closed());
}

TEST_F(ServerTest, IdleConnectionTimesOut) {
  start({.read_timeout = std::chrono::milliseconds(200)});
  TestConnection c(addr_);
  ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n"));  // header never finished
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.wait_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(ServerTest, StopReturnsPromptlyWithOpenConnections) {
  std::vector<std::unique_ptr<TestConnection>> open;
  for (int i = 0; i < 8; ++i) {
    open.push_back(std::make_unique<TestConnection>(addr_));
    ASSERT_TRUE(open.back()->send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_EQ(open.back()->read_response().status, 200);
  }
  open.back()->send_all("GET /healthz HTTP/1.1\r\n");  // a half-read request
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  for (auto& c : open) EXPECT_TRUE(c->wait_closed());
  EXPECT_EQ(get(addr_, "/healthz").status, 0);  // nothing listens any more
  server_->stop();                              // idempotent
}

TEST(AdminServer, StartFailures) {
  Handler h = make_admin_handler({});
  auto bad = AdminServer::start("no-port", h);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Errc::invalid_argument);

  auto first = AdminServer::start("127.0.0.1:0", h);
  ASSERT_TRUE(first.is_ok());
  auto second = AdminServer::start((*first)->address(), h);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), Errc::unavailable);
  EXPECT_NE(second.status().message().find("bind"), std::string::npos);
}

TEST(AdminServer, ConcurrentClients) {
  auto server = AdminServer::start("127.0.0.1:0", make_admin_handler({}));
  ASSERT_TRUE(server.is_ok());
  std::string addr = (*server)->address();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      TestConnection c(addr);
      for (int i = 0; i < 50; ++i) {
        c.send_all("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        if (c.read_response().body == "ok") ok.fetch_add(1);
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 8 * 50);
}

}  // namespace
}  // namespace tessera::http
