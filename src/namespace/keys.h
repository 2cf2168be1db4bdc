#pragma once
// Key layout of the shards a VolumeMachine serves (after the shard prefix).
// Every key starts with an ASCII tag byte; '\0' is reserved for the shard host.
//
// A volume (name) shard:
//   V                                   VolumeState
//   I ino(8)                            Inode
//   D parent(8) name                    child inode(8)
//   C ino(8) chunk(8)                   file bytes [chunk*kChunkBytes, +kChunkBytes)
//   R ino(8) key                        RowValue
//   T ino(8) topic                      TopicState (partition shard ids, bytes reported)
//   K ino(8) start_key                  TabletRef: the tablet of table `ino` holding keys
//                                       [start_key, next start_key) (table_map.h)
//
// A partition shard (one partition of one topic; partition_ops.h):
//   P                                   PartitionInfo
//   O offset(8)                         tessera.v1.Record
//   g group                             committed offset(8)
//
// A tablet shard (one key range of one table; tablet_ops.h):
//   B                                   TabletInfo
//   W key                               RowValue
//
// The three sets of tags are disjoint, so a command or read sent to the wrong
// kind of shard finds nothing rather than misparsing. Tags S and G are
// reserved: volume shards of earlier versions kept stream records there.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/coding.h"

namespace tessera::ns {

inline constexpr uint64_t kRootInode = 1;
inline constexpr uint64_t kChunkBytes = 1ull << 20;

inline std::string volume_key() { return "V"; }

inline std::string inode_key(uint64_t ino) {
  std::string k = "I";
  put_be64(k, ino);
  return k;
}

inline std::string dirent_prefix(uint64_t parent) {
  std::string k = "D";
  put_be64(k, parent);
  return k;
}
inline std::string dirent_key(uint64_t parent, std::string_view name) {
  return dirent_prefix(parent) + std::string(name);
}

inline std::string chunk_prefix(uint64_t ino) {
  std::string k = "C";
  put_be64(k, ino);
  return k;
}
inline std::string chunk_key(uint64_t ino, uint64_t chunk) {
  std::string k = chunk_prefix(ino);
  put_be64(k, chunk);
  return k;
}

inline std::string row_prefix(uint64_t ino) {
  std::string k = "R";
  put_be64(k, ino);
  return k;
}
inline std::string row_key(uint64_t ino, std::string_view key) {
  return row_prefix(ino) + std::string(key);
}

inline std::string topic_prefix(uint64_t ino) {
  std::string k = "T";
  put_be64(k, ino);
  return k;
}
inline std::string topic_key(uint64_t ino, std::string_view topic) {
  return topic_prefix(ino) + std::string(topic);
}

inline std::string tablet_map_prefix(uint64_t ino) {
  std::string k = "K";
  put_be64(k, ino);
  return k;
}
inline std::string tablet_map_key(uint64_t ino, std::string_view start_key) {
  return tablet_map_prefix(ino) + std::string(start_key);
}

inline std::string partition_info_key() { return "P"; }

inline std::string partition_records_prefix() { return "O"; }
inline std::string partition_record_key(uint64_t offset) {
  std::string k = partition_records_prefix();
  put_be64(k, offset);
  return k;
}

inline std::string partition_group_key(std::string_view group) {
  return "g" + std::string(group);
}

inline std::string tablet_info_key() { return "B"; }

inline std::string tablet_rows_prefix() { return "W"; }
inline std::string tablet_row_key(std::string_view key) {
  return tablet_rows_prefix() + std::string(key);
}

}  // namespace tessera::ns
