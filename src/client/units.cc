#include "client/units.h"

#include <array>
#include <cctype>
#include <limits>

namespace tessera::client {
namespace {

Status invalid(std::string_view what, std::string_view text) {
  std::string m;
  m += what;
  m += " '";
  m += text;
  m += "'";
  return Status(Errc::invalid_argument, m);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Parses a run of decimal digits at the front of `s` into `out`, consuming
// it. False when there is no digit or the value overflows.
bool take_uint(std::string_view& s, uint64_t& out) {
  size_t i = 0;
  uint64_t v = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  while (i < s.size() && is_digit(s[i])) {
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (kMax - d) / 10) return false;
    v = v * 10 + d;
    ++i;
  }
  if (i == 0) return false;
  s.remove_prefix(i);
  out = v;
  return true;
}

// Binary shift for a size unit letter; -1 when not a unit.
int unit_shift(char c) {
  switch (lower(c)) {
    case 'k': return 10;
    case 'm': return 20;
    case 'g': return 30;
    case 't': return 40;
    case 'p': return 50;
    default: return -1;
  }
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  std::string_view s = trim(text);
  uint64_t whole = 0;
  if (!take_uint(s, whole)) return invalid("invalid size", text);
  // Fraction digits, kept as numerator / denominator.
  uint64_t frac = 0;
  uint64_t frac_den = 1;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    size_t digits = 0;
    while (!s.empty() && is_digit(s.front())) {
      if (digits < 9) {
        frac = frac * 10 + static_cast<uint64_t>(s.front() - '0');
        frac_den *= 10;
      }
      ++digits;
      s.remove_prefix(1);
    }
    if (digits == 0) return invalid("invalid size", text);
  }
  int shift = 0;
  if (!s.empty()) {
    shift = unit_shift(s.front());
    if (shift < 0) return invalid("invalid size unit in", text);
    s.remove_prefix(1);
    if (s.size() == 2 && lower(s[0]) == 'i' && lower(s[1]) == 'b') s.remove_prefix(2);
    if (s.size() == 1 && lower(s[0]) == 'b') s.remove_prefix(1);
    if (!s.empty()) return invalid("invalid size unit in", text);
  } else if (frac_den != 1) {
    return invalid("fractional size needs a unit:", text);
  }
  if (shift > 0 && whole > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return invalid("size too large:", text);
  }
  uint64_t unit = uint64_t{1} << shift;
  uint64_t value = whole << shift;
  // frac < 10^9 and unit <= 2^50, so the product fits in 128 bits.
  unsigned __int128 extra = static_cast<unsigned __int128>(frac) * unit / frac_den;
  if (value > std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(extra)) {
    return invalid("size too large:", text);
  }
  return value + static_cast<uint64_t>(extra);
}

std::string format_size(uint64_t bytes) {
  static constexpr std::array<char, 6> kUnits{'K', 'M', 'G', 'T', 'P', 'E'};
  if (bytes < 1024) return std::to_string(bytes);
  int i = 0;
  uint64_t unit = 1024;
  while (i + 1 < static_cast<int>(kUnits.size()) && bytes / unit >= 1024) {
    unit <<= 10;
    ++i;
  }
  uint64_t whole = bytes / unit;
  std::string out = std::to_string(whole);
  if (whole < 10) {
    uint64_t tenth = (bytes % unit) * 10 / unit;
    out += '.';
    out += static_cast<char>('0' + tenth);
  }
  out += kUnits[static_cast<size_t>(i)];
  return out;
}

Result<int64_t> parse_duration(std::string_view text) {
  std::string_view s = trim(text);
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = 0;
  if (!take_uint(s, n)) return invalid("invalid duration", text);
  if (s.empty()) {
    if (n > kMax) return invalid("duration too large:", text);
    return static_cast<int64_t>(n);
  }
  uint64_t total = 0;
  while (true) {
    uint64_t scale = 0;
    if (s.size() >= 2 && lower(s[0]) == 'm' && lower(s[1]) == 's') {
      scale = 1;
      s.remove_prefix(2);
    } else if (!s.empty()) {
      switch (lower(s.front())) {
        case 'd': scale = 86'400'000; break;
        case 'h': scale = 3'600'000; break;
        case 'm': scale = 60'000; break;
        case 's': scale = 1'000; break;
        default: return invalid("invalid duration unit in", text);
      }
      s.remove_prefix(1);
    } else {
      return invalid("duration needs a unit after each number:", text);
    }
    if (n > (kMax - total) / scale) return invalid("duration too large:", text);
    total += n * scale;
    if (s.empty()) break;
    if (!take_uint(s, n)) return invalid("invalid duration", text);
  }
  return static_cast<int64_t>(total);
}

std::string format_duration(int64_t ms) {
  if (ms <= 0) return std::to_string(ms) + "ms";
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static constexpr std::array<Unit, 5> kUnits{
      {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}}};
  std::string out;
  for (const auto& u : kUnits) {
    int64_t n = ms / u.ms;
    ms %= u.ms;
    if (n > 0) {
      out += std::to_string(n);
      out += u.name;
    }
  }
  return out;
}

Result<uint32_t> parse_mode(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty() || s.size() > 5) return invalid("invalid mode", text);
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return invalid("invalid octal mode", text);
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  if (v > 07777) return invalid("mode out of range:", text);
  return v;
}

std::string format_mode_octal(uint32_t mode) {
  std::string out(4, '0');
  for (int i = 3; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>('0' + (mode & 7));
    mode >>= 3;
  }
  return out;
}

namespace {

Result<v1::AclEntry> parse_acl_entry(std::string_view text) {
  std::string_view s = text;
  v1::AclEntry e;
  if (s.starts_with("deny:")) {
    e.set_deny(true);
    s.remove_prefix(5);
  } else if (s.starts_with("allow:")) {
    s.remove_prefix(6);
  }
  if (s.starts_with("user:")) {
    e.set_principal_type("user");
    s.remove_prefix(5);
  } else if (s.starts_with("group:")) {
    e.set_principal_type("group");
    s.remove_prefix(6);
  } else {
    return invalid("acl entry must name user: or group:", text);
  }
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return invalid("acl entry has no permissions:", text);
  std::string_view name = s.substr(0, colon);
  std::string_view perms = s.substr(colon + 1);
  if (name.empty()) return invalid("acl entry has an empty name:", text);
  e.set_name(std::string(name));
  for (char c : perms) {
    switch (c) {
      case 'r': e.set_read(true); break;
      case 'w': e.set_write(true); break;
      case 'a': e.set_admin(true); break;
      case '-': break;
      default: return invalid("acl permissions must be letters r, w, a in", text);
    }
  }
  if (!e.read() && !e.write() && !e.admin()) {
    return invalid("acl entry has no permissions:", text);
  }
  return e;
}

}  // namespace

Result<std::vector<v1::AclEntry>> parse_acl_spec(std::string_view spec) {
  std::vector<v1::AclEntry> out;
  if (trim(spec).empty()) return out;
  while (true) {
    size_t comma = spec.find(',');
    std::string_view part = trim(spec.substr(0, comma));
    if (part.empty()) return invalid("empty entry in acl spec", spec);
    TESSERA_ASSIGN_OR_RETURN(v1::AclEntry e, parse_acl_entry(part));
    out.push_back(std::move(e));
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_acl_entry(const v1::AclEntry& entry) {
  std::string out;
  if (entry.deny()) out += "deny:";
  out += entry.principal_type();
  out += ':';
  out += entry.name();
  out += ':';
  if (entry.read()) out += 'r';
  if (entry.write()) out += 'w';
  if (entry.admin()) out += 'a';
  return out;
}

std::string format_acl_spec(const std::vector<v1::AclEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += ',';
    out += format_acl_entry(e);
  }
  return out;
}

Result<TopicRef> parse_topic_ref(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return invalid("expected PATH:TOPIC, got", text);
  }
  return TopicRef{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

}  // namespace tessera::client
