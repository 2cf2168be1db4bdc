#pragma once
// Parsers and formatters for the human-facing values of the Tessera API:
// sizes, durations, permission modes, ACL specs and topic names. Pure
// functions, no I/O; every parser returns Errc::invalid_argument with a
// message naming the offending text.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::client {

// "10G", "512M", "64K", "1T", "2P" or plain bytes "4096". Units are binary
// (K = 1024) and case-insensitive, optionally followed by "B" or "iB"
// ("10GiB"). A fraction is allowed with a unit ("1.5G") and rounds down.
Result<uint64_t> parse_size(std::string_view text);

// Shortest human form: bytes below 1 KiB ("512"), else one decimal below
// ten units ("1.5K"), else whole units rounded down ("10G").
std::string format_size(uint64_t bytes);

// "7d", "12h", "30m", "45s", "500ms", concatenations ("1h30m"), or a plain
// number of milliseconds. Returns milliseconds.
Result<int64_t> parse_duration(std::string_view text);

// Inverse of parse_duration: largest units first, zero parts omitted
// ("1h30m", "500ms"); 0 gives "0ms".
std::string format_duration(int64_t ms);

// Octal permission bits, 1 to 5 digits ("755", "0644", "1777"); at most 07777.
Result<uint32_t> parse_mode(std::string_view text);

// Four-digit octal form of a mode ("0755").
std::string format_mode_octal(uint32_t mode);

// ACL spec: comma-separated entries `[allow:|deny:](user|group):NAME:PERMS`,
// PERMS a non-empty set of the letters r (read), w (write), a (admin); '-'
// is accepted as a placeholder ("r-a"). Whitespace around entries is
// ignored. NAME may contain ':' (PERMS follows the last one). The empty
// spec yields no entries, which clears an ACL.
Result<std::vector<v1::AclEntry>> parse_acl_spec(std::string_view spec);

// One entry in spec syntax; allow entries carry no prefix ("user:bob:rw",
// "deny:group:guests:w").
std::string format_acl_entry(const v1::AclEntry& entry);

// Entries joined by ',' — parse_acl_spec(format_acl_spec(e)) == e.
std::string format_acl_spec(const std::vector<v1::AclEntry>& entries);

// A stream topic reference "PATH:TOPIC", split at the last ':'.
struct TopicRef {
  std::string stream;
  std::string topic;
};
Result<TopicRef> parse_topic_ref(std::string_view text);

}  // namespace tessera::client
