#pragma once
// Key layout of a volume shard's state (after the shard prefix). Every key
// starts with an ASCII tag byte; '\0' is reserved for the shard host.
//
//   V                                   VolumeState
//   I ino(8)                            Inode
//   D parent(8) name                    child inode(8)
//   C ino(8) chunk(8)                   file bytes [chunk*kChunkBytes, +kChunkBytes)
//   R ino(8) key                        RowValue
//   T ino(8) topic                      TopicState
//   S ino(8) topic-len(4) topic part(4) offset(8)   tessera.v1.Record
//   G ino(8) topic-len(4) topic part(4) group       committed offset(8)

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

// Records of one stream (all topics): "S" ino.
inline std::string records_prefix(uint64_t ino) {
  std::string k = "S";
  put_be64(k, ino);
  return k;
}
inline std::string partition_prefix(uint64_t ino, std::string_view topic, uint32_t part) {
  std::string k = records_prefix(ino);
  put_be32(k, static_cast<uint32_t>(topic.size()));
  k.append(topic);
  put_be32(k, part);
  return k;
}
inline std::string record_key(uint64_t ino, std::string_view topic, uint32_t part, uint64_t offset) {
  std::string k = partition_prefix(ino, topic, part);
  put_be64(k, offset);
  return k;
}

inline std::string group_prefix(uint64_t ino) {
  std::string k = "G";
  put_be64(k, ino);
  return k;
}
inline std::string group_key(uint64_t ino, std::string_view topic, uint32_t part,
                             std::string_view group) {
  std::string k = group_prefix(ino);
  put_be32(k, static_cast<uint32_t>(topic.size()));
  k.append(topic);
  put_be32(k, part);
  k.append(group);
  return k;
}

}  // namespace tessera::ns
