#include "fuse/mount_options.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace tessera::fuse {
namespace {

Status bad(std::string_view option, std::string_view why) {
  return Status(Errc::invalid_argument,
                "mount option '" + std::string(option) + "': " + std::string(why));
}

// "1", "0.5", "30": a non-negative number of seconds.
Result<double> seconds(std::string_view option, std::string_view value, double max) {
  double v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v) || v < 0) {
    return bad(option, "expected a number of seconds");
  }
  if (v > max) return bad(option, "at most " + std::to_string(static_cast<int64_t>(max)) + " s");
  return v;
}

bool is_passthrough(std::string_view name, bool has_value) {
  if (!has_value) {
    return name == "allow_other" || name == "allow_root" || name == "auto_unmount" ||
           name == "ro" || name == "rw";
  }
  return name == "fsname" || name == "subtype" || name == "max_read";
}

Status apply(MountOptions& o, std::string_view item) {
  size_t eq = item.find('=');
  std::string_view name = item.substr(0, eq);
  bool has_value = eq != std::string_view::npos;
  std::string_view value = has_value ? item.substr(eq + 1) : std::string_view();
  if (name == "attr_timeout" || name == "entry_timeout") {
    if (!has_value) return bad(item, "expected " + std::string(name) + "=SECONDS");
    TESSERA_ASSIGN_OR_RETURN(double s, seconds(item, value, kCacheTimeoutMaxS));
    (name == "attr_timeout" ? o.attr_timeout_s : o.entry_timeout_s) = s;
    return Status::ok();
  }
  if (name == "timeout") {
    if (!has_value) return bad(item, "expected timeout=SECONDS");
    TESSERA_ASSIGN_OR_RETURN(double s, seconds(item, value, kCacheTimeoutMaxS));
    if (s <= 0) return bad(item, "must be positive");
    o.call_timeout_ms = static_cast<int64_t>(s * 1000);
    return Status::ok();
  }
  if (name == "direct_io") {
    if (has_value) return bad(item, "takes no value");
    o.direct_io = true;
    return Status::ok();
  }
  if (is_passthrough(name, has_value)) {
    if (has_value && value.empty()) return bad(item, "empty value");
    if (name == "allow_other") o.allow_other = true;
    o.fuse_options.emplace_back(item);
    return Status::ok();
  }
  return bad(item, "unknown option");
}

}  // namespace

Result<MountOptions> parse_mount_options(const std::vector<std::string>& values) {
  MountOptions o;
  for (const auto& v : values) {
    std::string_view rest(v);
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      if (!item.empty()) TESSERA_TRY(apply(o, item));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return o;
}

}  // namespace tessera::fuse
