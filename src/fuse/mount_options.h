#pragma once
// MountOptions: what `tessera mount -o ...` accepts, parsed from the `-o`
// values (each a comma-separated list, as mount(8) takes them).
//
// Tessera's own options:
//   attr_timeout=SEC    how long the kernel caches attributes (default 1)
//   entry_timeout=SEC   how long it caches name lookups (default 1)
//   direct_io           no page cache: every read and write reaches the mount
//   timeout=SEC         deadline of each metadata call to the cluster
//                       (stat, list, create, rename, ...; default 30); one
//                       that times out returns EIO. File data streams
//                       (reads, writes) have no deadline yet.
// Passed to libfuse / the kernel as they are: allow_other, allow_root,
// auto_unmount, ro, rw, fsname=, subtype=, max_read=. Anything else is an
// error, so a typo never silently mounts with defaults.

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace tessera::fuse {

inline constexpr double kCacheTimeoutDefaultS = 1.0;
inline constexpr double kCacheTimeoutMaxS = 3600.0;
inline constexpr int64_t kCallTimeoutDefaultMs = 30'000;

struct MountOptions {
  double attr_timeout_s = kCacheTimeoutDefaultS;
  double entry_timeout_s = kCacheTimeoutDefaultS;
  bool direct_io = false;
  int64_t call_timeout_ms = kCallTimeoutDefaultMs;
  bool allow_other = false;
  // Options for libfuse's own `-o` list, in the order given.
  std::vector<std::string> fuse_options;
};

// Parses the values of every `-o` flag. invalid_argument names the option
// that is unknown or malformed.
Result<MountOptions> parse_mount_options(const std::vector<std::string>& values);

}  // namespace tessera::fuse
