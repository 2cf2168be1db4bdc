#include "gateway/kafka/server/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "gateway/http/address.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string peer_name(const sockaddr_storage& sa) {
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (sa.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return http::format_host_port(host, port);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

struct Listener::Impl {
  ListenerOptions opts;
  int listen_fd = -1;
  std::string address;
  HandlerFactory factory;
  std::thread acceptor;
  std::atomic<bool> stopping{false};

  struct Conn {
    int fd = -1;
    std::thread thread;
    bool done = false;
  };
  mutable std::mutex mu;
  std::map<uint64_t, Conn> conns;
  uint64_t next_id = 1;

  void accept_loop() {
    while (!stopping.load()) {
      pollfd p{listen_fd, POLLIN, 0};
      int r = ::poll(&p, 1, 200);
      if (r <= 0) continue;
      sockaddr_storage sa{};
      socklen_t len = sizeof(sa);
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EINTR && errno != EAGAIN && !stopping.load()) {
          spdlog::warn("kafka: accept on {}: {}", address, errno_text());
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      reap();
      std::lock_guard lk(mu);
      if (stopping.load() || static_cast<int>(conns.size()) >= opts.connections_max) {
        spdlog::warn("kafka: {} connections open, closing one from {}", conns.size(), peer_name(sa));
        ::close(fd);
        continue;
      }
      uint64_t id = next_id++;
      Conn& c = conns[id];
      c.fd = fd;
      c.thread = std::thread([this, id, fd, peer = peer_name(sa)] { serve_connection(id, fd, peer); });
    }
  }

  // Joins the threads of connections that ended.
  void reap() {
    std::vector<std::thread> done;
    {
      std::lock_guard lk(mu);
      for (auto it = conns.begin(); it != conns.end();) {
        if (it->second.done) {
          done.push_back(std::move(it->second.thread));
          it = conns.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& t : done) t.join();
  }

  void serve_connection(uint64_t id, int fd, const std::string& peer) {
    run_connection(fd, peer);
    std::lock_guard lk(mu);
    ::close(fd);
    auto it = conns.find(id);
    if (it != conns.end()) {
      it->second.done = true;
      it->second.fd = -1;
    }
  }

  void run_connection(int fd, const std::string& peer) {
    std::unique_ptr<ConnectionHandler> handler = factory(peer);
    std::string in;
    std::string out;
    size_t start = 0;  // consumed bytes at the front of `in`
    char buf[64 << 10];
    while (!stopping.load()) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // closed by the peer, or shut down by stop()
      in.append(buf, static_cast<size_t>(n));
      for (;;) {
        size_t consumed = 0;
        auto frame = take_frame(std::string_view(in).substr(start), opts.max_frame_bytes, &consumed);
        if (!frame.is_ok()) {
          spdlog::warn("kafka: closing connection from {}: {}", peer, frame.status().message());
          return;
        }
        if (!*frame) break;
        out.clear();
        Status st = handler->handle(**frame, &out);
        if (!st.is_ok()) {
          spdlog::warn("kafka: closing connection from {}: {}", peer, st.message());
          return;
        }
        if (!out.empty() && !write_all(fd, out)) return;
        start += consumed;
      }
      if (start == in.size()) {
        in.clear();
        start = 0;
        if (in.capacity() > (1u << 20)) in.shrink_to_fit();
      } else if (start > (1u << 20)) {
        in.erase(0, start);
        start = 0;
      }
    }
  }
};

Listener::Listener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Listener::~Listener() { stop(); }

Result<std::unique_ptr<Listener>> Listener::bind(const std::string& addr, ListenerOptions opts) {
  TESSERA_ASSIGN_OR_RETURN(auto hp, http::parse_host_port(addr));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp.port);
  if (int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Status(Errc::invalid_argument, "kafka address " + addr + ": " + ::gai_strerror(rc));
  }
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 512) != 0) {
      why = errno_text();
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return Status(Errc::unavailable, "kafka: cannot listen on " + addr + ": " + why);
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->listen_fd = fd;
  impl->address = peer_name(sa);
  return std::unique_ptr<Listener>(new Listener(std::move(impl)));
}

std::string Listener::address() const { return impl_->address; }

void Listener::serve(HandlerFactory factory) {
  impl_->factory = std::move(factory);
  impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

void Listener::stop() {
  if (impl_->stopping.exchange(true)) return;
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
  impl_->listen_fd = -1;
  std::map<uint64_t, Impl::Conn> conns;
  {
    std::lock_guard lk(impl_->mu);
    for (auto& [id, c] : impl_->conns) {
      if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);
    }
    conns.swap(impl_->conns);
  }
  for (auto& [id, c] : conns) {
    if (c.thread.joinable()) c.thread.join();
  }
}

bool Listener::stopping() const { return impl_->stopping.load(); }

int Listener::connections() const {
  std::lock_guard lk(impl_->mu);
  return static_cast<int>(impl_->conns.size());
}

}  // namespace tessera::kafka
