#include "gateway/http/server.h"

#include <pthread.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/http/address.h"

namespace tessera::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After an error response the server stops sending and discards what the
// client still sends, so closing does not reset the connection before the
// client has read the response (RFC 9112 §9.6).
constexpr std::chrono::milliseconds kLingerTimeout{2'000};
constexpr size_t kLingerBytesMax = size_t{4} << 20;
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::chrono::seconds kRefusalLogInterval{10};

// State every session of one server shares. Immutable after start except
// `connections`.
struct Shared {
  Handler handler;
  ServerOptions options;
  std::atomic<int> connections{0};  // live sessions, incremented on accept
};

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A handler-supplied header: a token name, a value without CR, LF or NUL,
// and not one of the framing headers the server owns.
bool valid_header(std::string_view name, std::string_view value) {
  auto is = [name](const char* framing) {
    return beast::iequals(beast::string_view(name.data(), name.size()), framing);
  };
  if (name.empty() || is("Content-Length") || is("Transfer-Encoding") || is("Connection")) {
    return false;
  }
  for (char c : name) {
    if (!is_tchar(c)) return false;
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

Response error_response(int status, std::string_view message) {
  return Response{status, "application/json", "{\"error\":\"" + std::string(message) + "\"}"};
}

// Calls the handler; an exception is a 500 and a log line, never a crash.
Response call_handler(const Handler& handler, const std::string& method, const std::string& target,
                      const std::string& body) {
  try {
    return handler(method, target, body);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {}: handler threw: {}", method, target, e.what());
  } catch (...) {
    spdlog::error("http: {} {}: handler threw a non-std exception", method, target);
  }
  return error_response(500, "internal error");
}

// `r` itself if valid (see Response), else a 500 and a log line.
Response validated(Response r, const std::string& method, const std::string& target) {
  bool valid = r.status >= 200 && r.status <= 599 && valid_header("Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) valid = valid && valid_header(name, value);
  if (valid) return r;
  spdlog::error("http: {} {}: handler returned an invalid response (status {})", method, target,
                r.status);
  return error_response(500, "internal error");
}

// One connection. Lives on its own strand; every member is touched only
// from handlers running on that strand. Owned by the pending operation's
// handler (shared_from_this).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}
  ~Session() { shared_->connections.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read_request, shared_from_this()));
  }

 private:
  const ServerOptions& options() const { return shared_->options; }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options().request_header_bytes_max));
    parser_->body_limit(options().request_body_bytes_max);
    stream_.expires_after(options().read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t /*bytes*/) {
    if (!ec) return handle(parser_->release());
    if (ec == bhttp::error::body_limit) {
      // The header was parsed, so its version is known.
      return send(error_response(413, "request body too large"), /*head=*/false,
                  parser_->get().version(), /*keep_alive=*/false);
    }
    if (ec == bhttp::error::header_limit) {
      return send(error_response(431, "request header too large"), false, 11, false);
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return send(error_response(400, "malformed request"), false, 11, false);
    }
    // end_of_stream (clean close between requests), timeout, reset, abort:
    // nothing more to say; dropping the last reference closes the socket.
  }

  void handle(bhttp::request<bhttp::string_body> req) {
    std::string method(req.method_string());
    std::string target(req.target());
    Response r =
        validated(call_handler(shared_->handler, method, target, req.body()), method, target);
    send(std::move(r), req.method() == bhttp::verb::head, req.version(), req.keep_alive());
  }

  // Writes `r` as the answer to a request of HTTP `version` (11 = 1.1) and
  // keeps the connection open afterwards iff `keep_alive`. `r` is valid.
  void send(Response r, bool head, unsigned version, bool keep_alive) {
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(bhttp::field::server, "tessera");
    response_.set(bhttp::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) response_.set(name, value);
    bool no_body = r.status == 204 || r.status == 304;
    if (!no_body) response_.body() = std::move(r.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    if (head) response_.body().clear();  // Content-Length stays that of the GET
    stream_.expires_after(options().write_timeout);
    bhttp::async_write(stream_, response_,
                       beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return;
    if (response_.keep_alive()) return read_request();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (ignored) return;
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  // Discards input until the client closes, kLingerTimeout passes or
  // kLingerBytesMax arrive; then the session ends and closes the socket.
  void drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16 << 10),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return;
                              self->drained_bytes_ += n;
                              if (self->drained_bytes_ < kLingerBytesMax) self->drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  size_t drained_bytes_ = 0;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

// The I/O objects are optionals so stop() can destroy them, acceptor first
// and io_context last, which drops every session and closes its socket.
struct AdminServer::Impl {
  std::shared_ptr<Shared> shared;
  std::optional<net::io_context> ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> retry_timer;
  std::string address;
  uint64_t refused_unlogged = 0;                                           // accept loop only
  std::optional<std::chrono::steady_clock::time_point> refused_logged_at;  // accept loop only
  std::mutex stop_mu;
  std::vector<std::thread> threads;  // guarded by stop_mu

  // The accept loop. Only one accept is outstanding, so its handler never
  // runs concurrently with itself.
  void accept() {
    acceptor->async_accept(
        net::make_strand(*ioc),
        [this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning.
      spdlog::warn("http {}: accept failed: {}", address, ec.message());
      retry_timer->expires_after(kAcceptRetryDelay);
      retry_timer->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    beast::error_code ignored;
    if (shared->connections.load(std::memory_order_relaxed) >= shared->options.connections_max) {
      socket.close(ignored);
      log_refusal();
    } else {
      // Responses are written whole; do not hold small ones back (Nagle).
      socket.set_option(tcp::no_delay(true), ignored);
      shared->connections.fetch_add(1, std::memory_order_relaxed);
      std::make_shared<Session>(std::move(socket), shared)->start();
    }
    accept();
  }

  // At most one line per kRefusalLogInterval, however many are refused.
  void log_refusal() {
    ++refused_unlogged;
    auto now = std::chrono::steady_clock::now();
    if (refused_logged_at && now - *refused_logged_at < kRefusalLogInterval) return;
    spdlog::warn("http {}: refused {} connection(s): {} connections open", address,
                 refused_unlogged, shared->options.connections_max);
    refused_unlogged = 0;
    refused_logged_at = now;
  }
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() { stop(); }

Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& addr, Handler handler,
                                                        ServerOptions options) {
  TESSERA_ASSERT(handler != nullptr);
  TESSERA_ASSERT(options.io_threads >= 1 && options.connections_max >= 1);
  TESSERA_ASSERT(options.request_header_bytes_max <= UINT32_MAX);
  TESSERA_ASSIGN_OR_RETURN(HostPort hp, parse_host_port(addr));

  auto impl = std::make_unique<Impl>();
  impl->ioc.emplace(options.io_threads);
  impl->shared = std::make_shared<Shared>();
  impl->shared->handler = std::move(handler);
  impl->shared->options = options;

  beast::error_code ec;
  tcp::resolver resolver(*impl->ioc);
  auto endpoints = resolver.resolve(hp.host, std::to_string(hp.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return Status(Errc::invalid_argument,
                  "listen address \"" + addr + "\": cannot resolve host: " + ec.message());
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();

  auto fail = [&](std::string_view step) {
    return Status(Errc::unavailable,
                  "listen address \"" + addr + "\": " + std::string(step) + ": " + ec.message());
  };
  auto& acceptor = impl->acceptor.emplace(*impl->ioc);
  if (acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec)) return fail("setsockopt");
  if (acceptor.bind(endpoint, ec)) return fail("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec)) return fail("listen");
  tcp::endpoint local = acceptor.local_endpoint(ec);
  if (ec) return fail("getsockname");
  impl->address = format_host_port(local.address().to_string(), local.port());
  impl->retry_timer.emplace(*impl->ioc);

  impl->accept();
  for (int i = 0; i < options.io_threads; ++i) {
    impl->threads.emplace_back([ioc = &*impl->ioc] {
      pthread_setname_np(pthread_self(), "tessera-http");
      ioc->run();
    });
  }
  spdlog::info("http: admin server listening on {}", impl->address);
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

std::string AdminServer::address() const { return impl_->address; }

void AdminServer::stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (!impl_->ioc) return;
  for (const std::thread& t : impl_->threads) {
    TESSERA_ASSERT_MSG(t.get_id() != std::this_thread::get_id(),
                       "AdminServer::stop() called from a handler");
  }
  impl_->ioc->stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->retry_timer.reset();
  impl_->acceptor.reset();
  impl_->ioc.reset();  // destroys pending handlers, hence sessions and sockets
}

}  // namespace tessera::http
