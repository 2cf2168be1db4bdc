#pragma once
// A tiny blocking HTTP/1.1 client over POSIX sockets, for tests only. It
// sends raw bytes, so tests can write malformed requests, and parses one
// response at a time (Content-Length bodies, or read-to-close).

#include <map>
#include <string>
#include <string_view>

namespace tessera::http::testing {

struct RawResponse {
  int status = 0;  // 0: the connection closed or failed before a status line
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// One TCP connection; every receive gives up after 5 s so tests never hang.
class TestConnection {
 public:
  explicit TestConnection(const std::string& host_port);
  ~TestConnection();
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False if the peer closed or reset the connection.
  bool send_all(std::string_view data);
  // Half-closes: the peer reads EOF after what was sent.
  void shutdown_send();
  // Reads one response. For a response to HEAD pass `head`: no body follows.
  RawResponse read_response(bool head = false);
  // True if the peer closes (EOF or reset) within 5 s, discarding any data.
  bool wait_closed();

 private:
  bool fill();  // reads more into buf_; false on EOF, error or timeout

  int fd_ = -1;
  std::string buf_;
};

// Connects, sends `raw` and reads one response.
RawResponse send_raw(const std::string& host_port, std::string_view raw);
// A GET with "Connection: close".
RawResponse get(const std::string& host_port, const std::string& target);

}  // namespace tessera::http::testing
