#include "gateway/http/address.h"

#include <charconv>

namespace tessera::http {

Result<HostPort> parse_host_port(std::string_view addr) {
  auto bad = [&](std::string_view why) {
    return Status(Errc::invalid_argument,
                  "listen address \"" + std::string(addr) + "\": " + std::string(why));
  };
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port");
  std::string_view host = addr.substr(0, colon);
  std::string_view port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.empty()) return bad("empty IPv6 host");
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return bad("IPv6 hosts need brackets");
  }
  if (host.empty()) host = "0.0.0.0";

  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad("port must be a number in 0..65535");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

std::string format_host_port(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace tessera::http
