#pragma once
// AdminServer: a small HTTP/1.1 server (RFC 9112) for Tessera's admin surface
// (health probes, Prometheus scrapes, status), built on Boost.Beast.
//
// The server owns one Asio io_context and `ServerOptions::io_threads` threads
// that run it. Every request is handed to one synchronous Handler on one of
// those threads; the handler may therefore run concurrently with itself and
// must be thread-safe. A slow handler holds one I/O thread; keep handlers
// short. Connections are persistent (keep-alive) unless the client or an
// error closes them; requests on one connection are handled in order.
//
// The server turns protocol problems into responses itself: a malformed
// request gets 400, headers over the limit 431, a body over the limit 413,
// and a handler that throws 500 (logged). Each of those closes the
// connection. Connections beyond `connections_max` are closed on accept.
//
// Asio and Beast stay inside server.cc; this header is cheap to include.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace tessera::http {

// A handler's answer. An invalid one becomes a 500 (logged): a status
// outside 200..599, or a header (content_type included) whose name is not a
// token or whose value holds CR, LF or NUL. The server owns the framing
// headers: Content-Length, Transfer-Encoding and Connection are invalid in
// `headers`. The body of a 204 or 304 is dropped.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra response headers, e.g. {"Allow", "GET, HEAD"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Handles one request. `target` is the request-target as sent (path plus
// query, e.g. "/metrics?x=1"); `method` is the method token as sent ("GET").
// For HEAD requests the server sends the returned headers and
// Content-Length but no body. Exceptions become 500.
using Handler = std::function<Response(const std::string& method, const std::string& target,
                                       const std::string& body)>;

inline constexpr size_t kRequestBodyBytesMax = size_t{1} << 20;     // 413 beyond
inline constexpr size_t kRequestHeaderBytesMax = size_t{16} << 10;  // 431 beyond
inline constexpr std::chrono::milliseconds kReadTimeout{30'000};    // per request, idle included
inline constexpr std::chrono::milliseconds kWriteTimeout{30'000};   // per response
inline constexpr int kConnectionsMax = 256;                         // closed on accept beyond
inline constexpr int kIoThreads = 2;

// Per-server limits and threads; the defaults are the constants above.
// Tests shrink them.
struct ServerOptions {
  size_t request_body_bytes_max = kRequestBodyBytesMax;
  size_t request_header_bytes_max = kRequestHeaderBytesMax;
  std::chrono::milliseconds read_timeout = kReadTimeout;
  std::chrono::milliseconds write_timeout = kWriteTimeout;
  int connections_max = kConnectionsMax;
  int io_threads = kIoThreads;
};

class AdminServer {
 public:
  // Binds `addr` ("127.0.0.1:7071", "[::1]:7071", "localhost:0", ":7071" for
  // all interfaces; port 0 picks an ephemeral port) and serves `handler`
  // until stop() or destruction. Fails with invalid_argument for a malformed
  // address and unavailable when the address cannot be bound.
  static Result<std::unique_ptr<AdminServer>> start(const std::string& addr, Handler handler,
                                                    ServerOptions options = {});

  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // The bound address as host:port (IPv6 in brackets), with the actual port.
  std::string address() const;

  // Stops accepting, closes every connection and joins the I/O threads.
  // Returns once no handler is running. Idempotent; thread-safe; must not be
  // called from a handler (asserted).
  void stop();

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::http
