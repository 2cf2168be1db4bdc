#pragma once
// MetaReader: read-side queries over the meta shard's state — authentication
// of access keys, user and group names, the volume table. Works over any
// StateReader (a snapshot); callers on request paths take a fresh snapshot.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::cluster {

// SHA-256 of `data` (32 raw bytes).
std::string sha256(std::string_view data);
// `n` random bytes from the system's CSPRNG, hex-encoded (2n characters).
std::string random_hex(size_t n);

// What health answers call a shard with a ShardRecord: "data" for a file
// data shard, "tablet" for a tablet shard (table_ino set), "partition" for
// a stream partition's.
const char* shard_kind(const internal::ShardRecord& record);
// The siblings a shard's leadership spreads among (placement.h
// ShardView.group): one volume's data shards, one table's tablets, one
// stream's partitions.
std::string shard_group(const internal::ShardRecord& record);

class MetaReader {
 public:
  explicit MetaReader(const storage::StateReader& state) : state_(state) {}

  // The principal an access key stands for; unauthenticated when the key is
  // unknown or the secret does not match.
  Result<internal::Principal> authenticate(std::string_view key_id, std::string_view secret) const;

  Result<std::optional<internal::UserRecord>> user(std::string_view name) const;
  Result<std::optional<internal::UserRecord>> user_by_uid(uint32_t uid) const;
  // An access key's record; nullopt when there is no such key.
  Result<std::optional<internal::KeyRecord>> key(std::string_view key_id) const;
  Result<std::optional<internal::GroupRecord>> group(std::string_view name) const;
  // Names for display; "#<id>" when unknown.
  std::string user_name(uint32_t uid) const;
  std::string group_name(uint32_t gid) const;

  Result<std::vector<internal::UserRecord>> users() const;
  Result<std::vector<internal::VolumeRecord>> volumes() const;
  Result<std::vector<internal::NodeRecord>> nodes() const;
  // Shards other than volume name shards (partition and tablet shards).
  Result<std::vector<internal::ShardRecord>> shards() const;
  // The next shard id the meta shard will allocate: every id below it was
  // allocated (to a volume or a ShardRecord) once.
  uint64_t next_shard() const;
  std::string cluster_id() const;
  bool initialised() const;

  static internal::Principal principal_of(const internal::UserRecord& u);

 private:
  const storage::StateReader& state_;
};

}  // namespace tessera::cluster
