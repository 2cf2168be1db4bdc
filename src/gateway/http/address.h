#pragma once
// Parsing and printing of "host:port" listen addresses.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::http {

struct HostPort {
  std::string host;  // IP literal or name, IPv6 without brackets; never empty
  uint16_t port = 0;
};

// Accepts "host:port", "[v6]:port" and ":port" (host "0.0.0.0"). The port is
// decimal, 0..65535. Fails with invalid_argument naming `addr`.
Result<HostPort> parse_host_port(std::string_view addr);

// "host:port", with brackets around a host that contains ':' (IPv6).
std::string format_host_port(std::string_view host, uint16_t port);

}  // namespace tessera::http
