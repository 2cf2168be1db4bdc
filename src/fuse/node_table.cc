#include "fuse/node_table.h"

#include <algorithm>

#include "base/assert.h"

namespace tessera::fuse {

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir == "/") return "/" + name;
  return dir + "/" + name;
}

bool path_within(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  if (path.size() < dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

NodeTable::NodeTable(const std::string& root_volume, uint64_t root_inode,
                     const std::string& root_path) {
  std::lock_guard lk(mu_);
  Key key{volume_index(root_volume), root_inode};
  TESSERA_ASSERT(key.volume == 0);
  nodes_.emplace(kRootNodeId, Node{key, {root_path}, 1});
  by_key_.emplace(key, kRootNodeId);
}

uint32_t NodeTable::volume_index(const std::string& volume) {
  auto it = volumes_.find(volume);
  if (it != volumes_.end()) return it->second;
  auto index = static_cast<uint32_t>(volumes_.size());
  volumes_.emplace(volume, index);
  return index;
}

uint64_t NodeTable::remember(const std::string& volume, uint64_t inode, const std::string& path,
                             uint64_t lookups) {
  std::lock_guard lk(mu_);
  Key key{volume_index(volume), inode};
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    uint64_t id = next_id_++;
    nodes_.emplace(id, Node{key, {path}, lookups});
    by_key_.emplace(key, id);
    return id;
  }
  Node& n = nodes_.at(it->second);
  auto p = std::find(n.paths.begin(), n.paths.end(), path);
  if (p != n.paths.end()) n.paths.erase(p);
  n.paths.insert(n.paths.begin(), path);
  n.lookups += lookups;
  return it->second;
}

void NodeTable::forget(uint64_t nodeid, uint64_t lookups) {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(nodeid);
  if (it == nodes_.end()) return;
  Node& n = it->second;
  n.lookups -= std::min(n.lookups, lookups);
  if (n.lookups > 0 || nodeid == kRootNodeId) return;
  by_key_.erase(n.key);
  nodes_.erase(it);
}

std::optional<std::string> NodeTable::path_of(uint64_t nodeid) const {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(nodeid);
  if (it == nodes_.end() || it->second.paths.empty()) return std::nullopt;
  return it->second.paths.front();
}

std::optional<uint64_t> NodeTable::find(const std::string& volume, uint64_t inode) const {
  std::lock_guard lk(mu_);
  auto v = volumes_.find(volume);
  if (v == volumes_.end()) return std::nullopt;
  auto it = by_key_.find(Key{v->second, inode});
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

bool NodeTable::is(uint64_t nodeid, const std::string& volume, uint64_t inode) const {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(nodeid);
  auto v = volumes_.find(volume);
  if (it == nodes_.end() || v == volumes_.end()) return false;
  return it->second.key.volume == v->second && it->second.key.inode == inode;
}

uint64_t NodeTable::st_ino(const Key& key) {
  uint64_t index = key.volume;
  return index == 0 ? key.inode : (index << kVolumeIndexShift) | key.inode;
}

uint64_t NodeTable::st_ino(const std::string& volume, uint64_t inode) {
  std::lock_guard lk(mu_);
  return st_ino(Key{volume_index(volume), inode});
}

uint64_t NodeTable::st_ino_of(uint64_t nodeid) const {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(nodeid);
  return it == nodes_.end() ? 0 : st_ino(it->second.key);
}

void NodeTable::drop_paths_within(Node& n, const std::string& path) {
  n.paths.erase(std::remove_if(n.paths.begin(), n.paths.end(),
                               [&](const std::string& p) { return path_within(p, path); }),
                n.paths.end());
}

void NodeTable::renamed(const std::string& from, const std::string& to) {
  std::lock_guard lk(mu_);
  if (from == to) return;
  // The server refuses to move a directory into itself, and to replace a
  // directory that is not empty, so `to` and `from` do not nest.
  for (auto& [id, n] : nodes_) {
    if (id != kRootNodeId) drop_paths_within(n, to);  // the replaced object
    for (auto& p : n.paths) {
      if (path_within(p, from)) p = to + p.substr(from.size());
    }
  }
}

void NodeTable::unlinked(const std::string& path) {
  std::lock_guard lk(mu_);
  for (auto& [id, n] : nodes_) {
    if (id != kRootNodeId) drop_paths_within(n, path);
  }
}

void NodeTable::drop_path(uint64_t nodeid, const std::string& path) {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(nodeid);
  if (it == nodes_.end() || nodeid == kRootNodeId) return;
  auto& paths = it->second.paths;
  paths.erase(std::remove(paths.begin(), paths.end(), path), paths.end());
}

size_t NodeTable::size() const {
  std::lock_guard lk(mu_);
  return nodes_.size();
}

}  // namespace tessera::fuse
