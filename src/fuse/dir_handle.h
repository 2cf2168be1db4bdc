#pragma once
// DirHandle: one open directory (opendir .. releasedir) — its listing,
// fetched from the server page by page (List with page tokens) as the
// kernel reads further, and kept for the handle's lifetime so offsets
// stay stable while the kernel pages through it.
//
// Thread-safe (one mutex, held across the page fetch).

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::client {
class Connection;
}  // namespace tessera::client

namespace tessera::fuse {

// Entries asked for per List call (the server allows up to 10 000).
inline constexpr uint32_t kListPageEntries = 2000;

class DirHandle {
 public:
  explicit DirHandle(std::string path) : path_(std::move(path)) {}

  // Entry `index` (from 0, server order); nullopt past the end.
  Result<std::optional<v1::Stat>> entry(client::Connection& conn, size_t index);

 private:
  const std::string path_;
  std::mutex mu_;
  std::vector<v1::Stat> entries_;
  std::string next_token_;
  bool complete_ = false;
};

}  // namespace tessera::fuse
