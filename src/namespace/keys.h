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
//   Z ino(8)                            a removed file of a volume with data shards whose
//                                       bytes the data shards still hold: its data
//                                       epoch + 1 (8); ClearDoomedOp deletes it (file_ops.h)
//
// A partition shard (one partition of one topic; partition_ops.h):
//   P                                   PartitionInfo
//   O offset(8)                         RecordGroup: records of one produce, keyed by
//                                       the offset of the last; before groups, one
//                                       tessera.v1.Record at its own offset (partition_ops.h)
//   g group                             committed offset(8)
//   q producer id(8)                    ProducerState (Kafka idempotent producers)
//
// A tablet shard (one key range of one table; tablet_ops.h):
//   B                                   TabletInfo
//   W key                               RowValue
//
// A file data shard (file bytes of one volume; chunk_ops.h):
//   A                                   DataShardInfo
//   X ino(8) chunk(8)                   file bytes [chunk*kChunkBytes, +len) (len <= kChunkBytes)
//   E ino(8)                            the file's purge epoch here (8)
//
// The four sets of tags are disjoint, so a command or read sent to the wrong
// kind of shard finds nothing rather than misparsing. Tags S and G are
// reserved: volume shards of earlier versions kept stream records there.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/coding.h"

namespace tessera::ns {

inline constexpr uint64_t kRootInode = 1;
inline constexpr uint64_t kChunkBytes = 1ull << 20;

// `prefix` followed by `id` (8 bytes, big endian).
inline std::string with_be64(std::string prefix, uint64_t id) {
  put_be64(prefix, id);
  return prefix;
}

inline std::string volume_key() { return "V"; }

inline std::string inode_key(uint64_t ino) { return with_be64("I", ino); }

inline std::string dirent_prefix(uint64_t parent) { return with_be64("D", parent); }
inline std::string dirent_key(uint64_t parent, std::string_view name) {
  return dirent_prefix(parent) + std::string(name);
}

inline std::string chunk_prefix(uint64_t ino) { return with_be64("C", ino); }
inline std::string chunk_key(uint64_t ino, uint64_t chunk) {
  return with_be64(chunk_prefix(ino), chunk);
}

inline std::string row_prefix(uint64_t ino) { return with_be64("R", ino); }
inline std::string row_key(uint64_t ino, std::string_view key) {
  return row_prefix(ino) + std::string(key);
}

inline std::string topic_prefix(uint64_t ino) { return with_be64("T", ino); }
inline std::string topic_key(uint64_t ino, std::string_view topic) {
  return topic_prefix(ino) + std::string(topic);
}

inline std::string tablet_map_prefix(uint64_t ino) { return with_be64("K", ino); }
inline std::string tablet_map_key(uint64_t ino, std::string_view start_key) {
  return tablet_map_prefix(ino) + std::string(start_key);
}

// The removed file `ino` whose bytes the volume's data shards may still hold.
inline std::string doomed_prefix() { return "Z"; }
inline std::string doomed_key(uint64_t ino) { return with_be64(doomed_prefix(), ino); }

inline std::string partition_info_key() { return "P"; }

inline std::string partition_records_prefix() { return "O"; }
// The key of the record group whose last record is at `offset`; a scan from
// it finds first the group holding `offset`.
inline std::string partition_record_key(uint64_t offset) {
  return with_be64(partition_records_prefix(), offset);
}

inline std::string partition_group_key(std::string_view group) {
  return "g" + std::string(group);
}

inline std::string partition_producer_key(uint64_t producer_id) { return with_be64("q", producer_id); }

inline std::string tablet_info_key() { return "B"; }

inline std::string tablet_rows_prefix() { return "W"; }
inline std::string tablet_row_key(std::string_view key) {
  return tablet_rows_prefix() + std::string(key);
}

inline std::string data_shard_info_key() { return "A"; }

inline std::string data_chunk_prefix(uint64_t ino) { return with_be64("X", ino); }
inline std::string data_chunk_key(uint64_t ino, uint64_t chunk) {
  return with_be64(data_chunk_prefix(ino), chunk);
}

inline std::string purge_epoch_key(uint64_t ino) { return with_be64("E", ino); }

}  // namespace tessera::ns
