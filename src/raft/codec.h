#pragma once
// Binary encodings of the raft value types: message batches for the wire,
// and one entry / hard state / snapshot meta for the driver's storage.
//
// Format: unsigned LEB128 varints for every integer, a varint length before
// every byte string and list, one leading format byte per top-level value
// (kCodecVersion). Decoders check every length against the bytes left and
// every enum against its range: truncated or garbage input yields
// Errc::corruption, never a crash or an allocation larger than the input.
// Integrity against bit flips is the storage's and transport's job
// (RocksDB block checksums, TCP/TLS).

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "raft/types.h"

namespace tessera::raft {

inline constexpr uint8_t kCodecVersion = 1;

std::string encode_messages(const std::vector<Message>& messages);
Result<std::vector<Message>> decode_messages(std::string_view bytes);

// One entry's (term, type, data); the index is the storage key, so the
// decoder takes it back from the caller.
std::string encode_entry(const Entry& entry);
Result<Entry> decode_entry(std::string_view bytes, LogIndex index);

std::string encode_hard_state(const HardState& hs);
Result<HardState> decode_hard_state(std::string_view bytes);

std::string encode_snapshot_meta(const SnapshotMeta& meta);
Result<SnapshotMeta> decode_snapshot_meta(std::string_view bytes);

}  // namespace tessera::raft
