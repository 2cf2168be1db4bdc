#pragma once
// Key layout of the meta shard's state (after the shard prefix):
//   C                 MetaCounters
//   U name            UserRecord        u uid(4)  → user name
//   G name            GroupRecord       g gid(4)  → group name
//   K key_id          KeyRecord
//   M path            VolumeRecord (the mount table)
//   N id(8)           NodeRecord
//   S id(8)           ShardRecord (shards other than volume name shards)

#include <cstdint>
#include <string>
#include <string_view>

#include "base/coding.h"

namespace tessera::cluster {

inline constexpr uint64_t kMetaShard = 1;
inline constexpr uint64_t kRootVolume = 1;
inline constexpr uint64_t kRootVolumeShard = 2;
inline constexpr uint32_t kAdminUid = 0;
inline constexpr uint32_t kAdminGid = 0;
inline constexpr uint32_t kFirstUid = 1000;
inline constexpr uint32_t kDefaultReplication = 3;
// File data shards a volume may have (CreateVolumeOp.data_shards).
inline constexpr uint32_t kDataShardsMax = 64;

inline std::string counters_key() { return "C"; }
inline std::string user_key(std::string_view name) { return "U" + std::string(name); }
inline std::string uid_key(uint32_t uid) {
  std::string k = "u";
  put_be32(k, uid);
  return k;
}
inline std::string group_key(std::string_view name) { return "G" + std::string(name); }
inline std::string gid_key(uint32_t gid) {
  std::string k = "g";
  put_be32(k, gid);
  return k;
}
inline std::string access_key(std::string_view key_id) { return "K" + std::string(key_id); }
inline std::string mount_key(std::string_view path) { return "M" + std::string(path); }
inline std::string node_key(uint64_t id) {
  std::string k = "N";
  put_be64(k, id);
  return k;
}

inline std::string shard_key(uint64_t id) {
  std::string k = "S";
  put_be64(k, id);
  return k;
}

}  // namespace tessera::cluster
