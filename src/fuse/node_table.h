#pragma once
// NodeTable: the FUSE node ids the kernel knows, what Tessera object each
// one is, and where that object is in the namespace.
//
// Tessera inode numbers are per volume (every volume's root is inode 1), so
// a node is keyed by (volume mount path, inode). Node ids are handed out
// from a counter and never reused within a mount (FUSE generation 0 is then
// always right); id 1 is the mount's root. Each node keeps the paths it is
// known under — several for a file with hard links, the first being the one
// calls use — and its lookup count: every reply that hands the kernel a
// node (lookup, create, mkdir, symlink, link, each readdirplus entry) adds
// one, and the kernel's forget takes them back; a node whose count reaches
// zero is dropped. The root is never dropped.
//
// The native API names objects by path, so the paths must follow what the
// mount itself does: rename rewrites every path at or below the source,
// unlink removes one. Changes made through other clients are found when a
// call on a stale path fails or resolves to another object (the caller then
// forgets that path).
//
// st_ino: the Tessera inode number for objects in the mount root's volume;
// objects of other volumes get (volume index << 48 | inode), the index
// counting volumes in the order this mount met them. Stable for the
// mount's lifetime.
//
// Thread-safe: every method takes the table's mutex; renames scan all nodes
// (the table holds what the kernel caches, not the whole namespace).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tessera::fuse {

inline constexpr uint64_t kRootNodeId = 1;
// Inode numbers of secondary volumes live below this bit.
inline constexpr int kVolumeIndexShift = 48;

// "/a" + "b" → "/a/b"; "/" + "b" → "/b".
std::string join_path(const std::string& dir, const std::string& name);

// True when `path` is `dir` or lies below it.
bool path_within(const std::string& path, const std::string& dir);

class NodeTable {
 public:
  // `root_path` is the Tessera path mounted; (volume, inode) its object.
  NodeTable(const std::string& root_volume, uint64_t root_inode, const std::string& root_path);

  // The node of the object (volume, inode) seen at `path`: found or made,
  // `path` made its first path, and its lookup count raised by `lookups`.
  uint64_t remember(const std::string& volume, uint64_t inode, const std::string& path,
                    uint64_t lookups);

  // Lowers the lookup count; drops the node at zero (never the root).
  void forget(uint64_t nodeid, uint64_t lookups);

  // The path calls use for `nodeid`; nullopt for an unknown node or one
  // with no known path left (every link of it removed).
  std::optional<std::string> path_of(uint64_t nodeid) const;

  // The node of (volume, inode), if the kernel knows one.
  std::optional<uint64_t> find(const std::string& volume, uint64_t inode) const;

  // Whether `nodeid` is (volume, inode).
  bool is(uint64_t nodeid, const std::string& volume, uint64_t inode) const;

  // st_ino for an object (see above).
  uint64_t st_ino(const std::string& volume, uint64_t inode);
  // st_ino of a known node; 0 for an unknown one.
  uint64_t st_ino_of(uint64_t nodeid) const;

  // A rename done through this mount: paths at or below `from` move below
  // `to`; paths at or below `to` (the replaced object) are forgotten first.
  void renamed(const std::string& from, const std::string& to);

  // `path` (and what was below it) no longer names anything.
  void unlinked(const std::string& path);

  // `path` no longer names `nodeid` (it names another object now).
  void drop_path(uint64_t nodeid, const std::string& path);

  size_t size() const;

 private:
  struct Key {
    uint32_t volume;
    uint64_t inode;
    bool operator<(const Key& o) const {
      return volume != o.volume ? volume < o.volume : inode < o.inode;
    }
  };
  struct Node {
    Key key;
    std::vector<std::string> paths;  // paths[0] is used for calls
    uint64_t lookups = 0;
  };

  uint32_t volume_index(const std::string& volume);  // mu_ held
  static uint64_t st_ino(const Key& key);
  static void drop_paths_within(Node& n, const std::string& path);  // mu_ held

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Node> nodes_;
  std::map<Key, uint64_t> by_key_;
  std::unordered_map<std::string, uint32_t> volumes_;
  uint64_t next_id_ = kRootNodeId + 1;
};

}  // namespace tessera::fuse
