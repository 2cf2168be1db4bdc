#pragma once
// Listener: the Kafka gateway's TCP side. Accepts connections and reads
// size-prefixed request frames; each frame goes to the connection's own
// ConnectionHandler, whose answer is written back before the next frame is
// read. That is Kafka's own rule — a broker handles one request per
// connection at a time and answers in order — and clients pipeline by
// queueing requests on the socket.
//
// One thread per connection: handlers block (a produce waits for a raft
// quorum, a fetch long-polls), and Kafka clients keep a handful of
// connections per broker, so a thread each is simpler than an event loop
// handing blocking work to a pool that long polls could exhaust.
//
// A frame over `max_frame_bytes`, a malformed frame (the handler says so)
// or a write that fails closes that connection with a log line; nothing
// else is affected. Plain POSIX sockets: this header is cheap to include.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka {

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Handles one request frame (without its size prefix) and appends the
  // response frame, size prefix included, to *out — or nothing (Produce
  // with acks=0). An error closes the connection; its message is logged.
  virtual Status handle(std::string_view frame, std::string* out) = 0;
};

// Makes the handler of a new connection; `peer` is "host:port".
using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>(const std::string& peer)>;

struct ListenerOptions {
  int32_t max_frame_bytes = 100 << 20;  // Kafka's socket.request.max.bytes
  int connections_max = 4096;           // closed on accept beyond
};

class Listener {
 public:
  // Binds `addr` ("127.0.0.1:9092", ":9092" for all interfaces, port 0 for
  // an ephemeral port). invalid_argument for a malformed address,
  // unavailable when it cannot be bound.
  static Result<std::unique_ptr<Listener>> bind(const std::string& addr, ListenerOptions opts = {});
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The bound address as host:port, with the actual port.
  std::string address() const;
  // Starts accepting; connections accepted before are queued by the kernel.
  void serve(HandlerFactory factory);
  // Stops accepting, shuts every connection down and joins their threads
  // (a handler in progress finishes first). Idempotent.
  void stop();
  bool stopping() const;
  int connections() const;

 private:
  struct Impl;
  explicit Listener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::kafka
