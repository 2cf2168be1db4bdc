#pragma once
// VolumeView / VolumeTxn: typed access to one volume shard's state.
//
// VolumeView reads (inodes, directory entries, path resolution with the
// traverse check) over any StateReader — a snapshot for read requests, the
// apply transaction inside apply. VolumeTxn adds writes and the volume's usage
// accounting with its quota check; it lives for one command's apply.
//
// Paths handed to these functions are absolute namespace paths; the view
// strips the volume's mount path (a path outside the volume is a caller bug).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns {

enum class UsageKind { files, tables, streams };

struct Resolved {
  internal::Inode inode;
  uint64_t parent = 0;  // 0 for the volume root
  std::string name;     // last component ("" for the root)
  std::string path;     // absolute path, for messages
};

struct ParentResolved {
  internal::Inode parent;                // the directory that holds `name`
  std::string name;
  std::optional<internal::Inode> child;  // the existing entry, if any
  std::string path;
};

class VolumeView {
 public:
  explicit VolumeView(const storage::StateReader& state) : state_(state) {}
  virtual ~VolumeView() = default;

  Result<internal::VolumeState> volume() const;
  Result<std::optional<internal::Inode>> inode(uint64_t ino) const;
  Result<internal::Inode> inode_or_corrupt(uint64_t ino) const;
  Result<std::optional<uint64_t>> lookup(uint64_t parent, std::string_view name) const;

  // Resolves `path`, checking traverse permission on every directory passed.
  Result<Resolved> resolve(std::string_view path, const internal::Principal& who) const;
  // Resolves the directory that holds the last component of `path`.
  Result<ParentResolved> resolve_parent(std::string_view path, const internal::Principal& who) const;
  // Resolves and checks that the object is of `kind` and `who` has `want`.
  Result<Resolved> resolve_kind(std::string_view path, const internal::Principal& who,
                                tessera::v1::ObjectKind kind, int want) const;

  // Directory entries of `dir` after name `after`, at most `limit`.
  Result<std::vector<std::pair<std::string, internal::Inode>>> list(uint64_t dir,
                                                                   std::string_view after,
                                                                   size_t limit) const;

  const storage::StateReader& state() const { return state_; }

 protected:
  // Components of `path` below the volume's mount path.
  Result<std::vector<std::string>> relative(std::string_view path) const;

 private:
  const storage::StateReader& state_;
};

class VolumeTxn : public VolumeView {
 public:
  // Loads the volume record; commands on an uninitialised volume fail.
  static Result<VolumeTxn> open(storage::StateWriter& state);

  internal::VolumeState& vol() { return vol_; }

  void put_inode(const internal::Inode& inode);
  void del_inode(uint64_t ino);
  void put_dirent(uint64_t parent, std::string_view name, uint64_t child);
  void del_dirent(uint64_t parent, std::string_view name);
  // A fresh inode owned by `who` (group: its first group), mode & 07777.
  internal::Inode new_inode(tessera::v1::ObjectKind kind, uint32_t mode,
                            const internal::Principal& who, int64_t now_ms);
  // Adds `delta` bytes of usage of `kind`; growing past the quota fails and
  // changes nothing.
  Status charge(UsageKind kind, int64_t delta, std::string_view subject);
  // Adds `delta` bytes of usage of `kind` without the quota check: accounting
  // of bytes already stored elsewhere. Usage never goes below zero.
  void account(UsageKind kind, int64_t delta);
  // Writes the volume record back.
  void save();

  storage::StateWriter& writer() { return writer_; }

 private:
  VolumeTxn(storage::StateWriter& state, internal::VolumeState vol)
      : VolumeView(state), writer_(state), vol_(std::move(vol)) {}
  storage::StateWriter& writer_;
  internal::VolumeState vol_;
};

// The refusal VolumeTxn::charge gives when `bytes` more would exceed the
// volume's quota (quota_exceeded naming `subject`); ok otherwise.
Status check_quota(const internal::VolumeState& vol, uint64_t bytes, std::string_view subject);

// Parses a stored protobuf payload; corruption if it does not parse.
template <typename Msg>
Result<Msg> parse_record(std::string_view payload, std::string_view what) {
  Msg m;
  if (!m.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status(Errc::corruption, std::string(what) + ": unparsable stored record");
  }
  return m;
}

// The record stored at `key`, parsed; nullopt when there is none.
template <typename Msg>
Result<std::optional<Msg>> load_record(const storage::StateReader& state, std::string_view key,
                                       std::string_view what) {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(key));
  if (!raw) return std::optional<Msg>();
  TESSERA_ASSIGN_OR_RETURN(auto m, parse_record<Msg>(*raw, what));
  return std::optional<Msg>(std::move(m));
}

}  // namespace tessera::ns
