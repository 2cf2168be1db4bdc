#pragma once
// What the machines of data shards — partition shards (partition_ops.h) and
// tablet shards (tablet_ops.h) — share: their own record (PartitionInfo,
// TabletInfo, read with load_record), set once by an idempotent init, and
// the quota grant it carries (the bytes the shard may hold, granted by the
// volume's name shard).

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::ns {

// The refusal of an init that found the shard holding `have` (identities,
// as messages show them): already_exists when `same` (the caller treats it
// as done), invalid_argument otherwise. `kind`: "tablet", "partition".
inline Status init_conflict(std::string_view kind, bool same, const std::string& have,
                            const std::string& want) {
  if (same) return error(Errc::already_exists, have);
  return Status(Errc::invalid_argument, std::string(kind) + " shard holds " + have +
                                            ", cannot initialise it as " + want);
}

// The grant after a grant op asking for `want`: grown to it (never lowered),
// or with shrink lowered to it, never below the bytes `held`.
inline uint64_t next_grant(uint64_t grant, uint64_t held, uint64_t want, bool shrink) {
  if (!shrink) return std::max(grant, want);
  return std::min(grant, std::max(want, held));
}

// ok when `more` bytes on top of `held` stay within `grant`; otherwise
// quota_exceeded naming `subject`, and the caller asks the name shard for a
// larger grant (the volume quota decides) and retries.
inline Status check_grant(std::string_view subject, uint64_t held, uint64_t grant, uint64_t more) {
  if (more <= grant && held <= grant - more) return Status::ok();
  return Status(Errc::quota_exceeded, std::string(subject) + ": holds " + std::to_string(held) +
                                          " bytes of its " + std::to_string(grant) +
                                          "-byte quota grant, needs " + std::to_string(more) +
                                          " more");
}

}  // namespace tessera::ns
