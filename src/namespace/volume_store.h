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

// The refusal the contracts of table_map.h and tablet_ops.h call
// failed_precondition: the command's precondition does not hold (yet, or
// any more), nothing changed.
inline constexpr Errc kFailedPrecondition = Errc::failed_precondition;

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

// The bytes of the quota in use: every byte stored, with streams and tables
// over tablets counted by their grants where those are larger (their shards
// may fill their grants without asking).
uint64_t quota_used(const internal::VolumeState& vol);
// The refusal VolumeTxn::charge gives when `bytes` more would exceed the
// volume's quota (quota_exceeded naming `subject`); ok otherwise.
Status check_quota(const internal::VolumeState& vol, uint64_t bytes, std::string_view subject);
// quota_exceeded naming `subject`: `used` bytes of the quota are taken and
// `bytes` more were asked for.
Status quota_refusal(const internal::VolumeState& vol, uint64_t used, uint64_t bytes,
                     std::string_view subject);

// The most slack a grant gets beyond what was asked for.
inline constexpr uint64_t kGrantSlackMax = 1ull << 20;
// The name shard's answer to a data shard (a stream partition, a tablet)
// granted `grant` bytes, holding `held` and needing `want` more, while
// `others` bytes of the quota are counted for everything else: `grant` when
// it covers held + want already; else held + want plus a quarter of what
// stays free, at most kGrantSlackMax, so small writes do not each ask;
// quota_exceeded naming `subject` when the quota cannot hold held + want;
// invalid_argument when held + want overflows. The volume has a quota.
Result<uint64_t> next_volume_grant(const internal::VolumeState& vol, uint64_t others,
                                   uint64_t grant, uint64_t held, uint64_t want,
                                   std::string_view subject);
// A data shard reported `new_bytes` where it last reported `old_bytes`:
// `node`'s size moves by the change and its version on; more bytes are a
// modification (mtime and ctime become now_ms).
void resize_reported(internal::Inode& node, uint64_t old_bytes, uint64_t new_bytes,
                     int64_t now_ms);

// The corruption of a stored record `what` that does not parse.
inline Status unparsable(std::string_view what) {
  return Status(Errc::corruption, std::string(what) + ": unparsable stored record");
}

// Parses a stored protobuf payload; corruption if it does not parse.
template <typename Msg>
Result<Msg> parse_record(std::string_view payload, std::string_view what) {
  Msg m;
  if (!m.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return unparsable(what);
  return m;
}

// Calls fn(key, Msg&&) for the records stored at keys in [start, end), in
// key order, while it returns true; corruption naming what(key) for one
// that does not parse (what is only called then).
template <typename Msg, typename What, typename Fn>
Status scan_parsed(const storage::StateReader& state, std::string_view start, std::string_view end,
                   const What& what, const Fn& fn) {
  Status inner;
  TESSERA_TRY(state.scan(start, end, [&](std::string_view k, std::string_view v) {
    Msg m;
    if (!m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      inner = unparsable(what(k));
      return false;
    }
    return fn(k, std::move(m));
  }));
  return inner;
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
