#include "server/file_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <future>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "namespace/chunk_ops.h"
#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "namespace/permissions.h"
#include "server/backend.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using internal::Command;
using internal::CommandResult;
using internal::Principal;

constexpr uint64_t kStripeBytes = ns::kStripeChunks * ns::kChunkBytes;
constexpr size_t kSinkBytesMax = 1u << 20;
// Stripes a read fetches ahead of the one it sends (one per data shard by
// default).
constexpr size_t kStripesAhead = 4;
constexpr size_t kDoomedPerRound = 64;
// An append waits this long for the appends reserved before it to commit,
// with no progress, before dropping their reservations.
constexpr auto kReservationStall = std::chrono::seconds(5);
// Purge epoch of a removed file: every later write to it is dropped.
constexpr uint64_t kRemovedEpoch = ns::kRemovedFileEpoch;

uint64_t shard_of(const Route& route, uint64_t ino, uint64_t offset) {
  const auto n = static_cast<uint32_t>(route.volume.data_shards_size());
  return route.volume.data_shards(static_cast<int>(ns::data_shard_index(ino, offset / ns::kChunkBytes, n)));
}

uint64_t random_incarnation() {
  std::random_device rd;
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return v == 0 ? 1 : v;
}

}  // namespace

FileRouter::FileRouter(Backend& backend) : b_(backend), incarnation_(random_incarnation()) {}
FileRouter::~FileRouter() = default;

bool FileRouter::sharded(const Route& route) { return route.volume.data_shards_size() > 0; }

// ------------------------------------------------------------------ write --

Status FileRouter::purge(const Route& route, uint64_t ino, uint64_t from, uint64_t epoch, bool clear) {
  for (uint64_t shard : route.volume.data_shards()) {
    for (bool more = true; more;) {
      Command cmd;
      auto* p = cmd.mutable_chunk_purge();
      p->set_ino(ino);
      p->set_epoch(epoch);
      p->set_from(from);
      TESSERA_ASSIGN_OR_RETURN(auto r, b_.propose_ok(ShardId(shard), cmd, b_.node_principal()));
      more = r.more();
    }
  }
  if (!clear) return Status::ok();
  Command done;
  auto* d = done.mutable_file_purged();
  d->set_ino(ino);
  d->set_from(from);
  d->set_epoch(epoch);
  return b_.propose_ok(route.shard, done, b_.node_principal()).status();
}

Status FileRouter::purge_pending(const Route& route, const internal::Inode& inode) {
  if (!inode.purge_pending()) return Status::ok();
  return purge(route, inode.id(), inode.purge_from(), inode.data_epoch(), true);
}

Result<CommandResult> FileRouter::name_write(const Principal& who, const Route& route, Command cmd) {
  for (int attempt = 0;; ++attempt) {
    auto r = b_.propose(route.shard, cmd, who);
    const auto e = static_cast<Errc>(r.errc());
    if (e == Errc::ok) {
      // A shrink: its bytes leave the data shards now, so the file may grow
      // again. Should this fail, the next growth purges first.
      if (Status st = purge_pending(route, r.inode()); !st.is_ok()) {
        spdlog::warn("{}: purge after a shrink: {}", route.volume.path(), st.to_string());
      }
      return r;
    }
    // The file may not grow while a shrink's purge is pending (a crash or
    // a failure left it): finish that purge, then try again.
    if (e == Errc::failed_precondition && r.inode().purge_pending() && attempt < 3) {
      TESSERA_TRY(purge_pending(route, r.inode()));
      continue;
    }
    return status_of(r);
  }
}

Result<CommandResult> FileRouter::prepare(const Principal& who, const Route& route, Command cmd) {
  for (int attempt = 0;; ++attempt) {
    TESSERA_ASSIGN_OR_RETURN(auto r, name_write(who, route, cmd));
    // A write past the size found bytes of unfinished writes there: the
    // prepare started a purge (name_write ran it); prepare again.
    if (!r.inode().purge_pending() || cmd.write().truncate() || attempt >= 3) return r;
  }
}

void FileRouter::hold(uint64_t ino, uint64_t offset) {
  std::lock_guard lk(held_mu_);
  held_.emplace(ino, offset);
  --preparing_;
}

void FileRouter::release(uint64_t ino, uint64_t offset) {
  std::lock_guard lk(held_mu_);
  held_.erase({ino, offset});
}

bool FileRouter::reservation_dead(uint64_t ino, const internal::AppendReservation& r) const {
  if (r.node() != b_.host().self().value) return false;  // another node's: wait
  if (r.incarnation() != incarnation_) return true;
  // Not held: committed since the state that showed it was read, or its
  // stream ended without committing (or it is between its prepare and
  // hold(): none may be).
  std::lock_guard lk(held_mu_);
  return preparing_ == 0 && !held_.contains({ino, r.offset()});
}

void FileRouter::preparing(int delta) {
  std::lock_guard lk(held_mu_);
  preparing_ += delta;
}

Result<CommandResult> FileRouter::commit(const Principal& who, const Route& route, const std::string& path,
                                         uint64_t ino, uint64_t epoch, uint64_t offset, uint64_t length,
                                         bool append) {
  Command cmd;
  auto* w = cmd.mutable_write();
  w->set_path(path);
  w->set_data_elsewhere(true);
  w->set_phase(internal::WRITE_COMMIT);
  w->set_ino(ino);
  w->set_epoch(epoch);
  w->set_offset(offset);
  w->set_length(length);
  w->set_append(append);
  uint64_t seen_size = std::numeric_limits<uint64_t>::max();
  auto stalled_since = std::chrono::steady_clock::now();
  auto backoff = std::chrono::milliseconds(1);
  // A reservation of this process found unheld: dead if a fresh answer
  // from the leader, read after that check, still shows it blocking.
  std::optional<internal::AppendReservation> suspect;
  for (int unknown = 0;;) {
    if (commit_hook_) commit_hook_();
    auto r = b_.propose(route.shard, cmd, who);
    const auto e = static_cast<Errc>(r.errc());
    if (e == Errc::ok) return r;
    // A commit is idempotent: one whose outcome is unknown is sent again.
    if (e == Errc::unavailable && ++unknown < 3) continue;
    if (e != Errc::failed_precondition) return status_of(r);
    // Appends before this one are not committed yet: wait for them (on
    // this node's replica when it has one, else asking the leader again),
    // but not for a reservation that will never commit.
    internal::Inode now = r.inode();
    for (bool fresh = true;; fresh = false) {
      if (now.data_epoch() != epoch || now.purge_pending()) return status_of(r);  // write again
      if (now.size() >= offset) break;
      const auto t = std::chrono::steady_clock::now();
      if (now.size() != seen_size) {
        seen_size = now.size();
        stalled_since = t;
      }
      const auto& held = now.reservations();
      auto blocker = std::find_if(held.begin(), held.end(),
                                  [&](const auto& res) { return res.end() > now.size(); });
      bool dead = blocker == held.end() || t - stalled_since > kReservationStall;
      if (!dead && reservation_dead(ino, *blocker)) {
        const bool confirmed = fresh && suspect && suspect->offset() == blocker->offset() &&
                               suspect->incarnation() == blocker->incarnation();
        if (blocker->incarnation() != incarnation_ || confirmed) {
          dead = true;
        } else {
          suspect = *blocker;
          break;  // ask the leader again
        }
      }
      if (dead) {
        Command reset = cmd;
        reset.mutable_write()->set_phase(internal::WRITE_RESET);
        reset.mutable_write()->set_offset(now.size());
        reset.mutable_write()->set_length(0);
        TESSERA_TRY(b_.propose_ok(route.shard, std::move(reset), who).status());
        spdlog::info("{}: appends reserved past {} will not commit; their reservations dropped", path,
                     now.size());
        return status_of(r);  // write again
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
      if (!b_.host().has_shard(route.shard)) break;
      auto snap = b_.snapshot();
      storage::SnapshotReader sr(*snap, route.shard);
      auto got = ns::VolumeView(sr).inode(ino);
      if (!got.is_ok() || !got->has_value()) break;  // the commit says what happened
      now = std::move(**got);
    }
  }
}

Status FileRouter::data_write(const Route& route, uint64_t ino, uint64_t epoch, uint64_t offset,
                              std::string_view data) {
  size_t pos = 0;
  while (pos < data.size()) {
    const uint64_t at = offset + pos;
    const size_t n = std::min<size_t>(data.size() - pos, ns::kChunkBytes - at % ns::kChunkBytes);
    Command cmd;
    auto* w = cmd.mutable_chunk_write();
    w->set_ino(ino);
    w->set_epoch(epoch);
    w->set_offset(at);
    w->set_data(std::string(data.substr(pos, n)));
    TESSERA_TRY(b_.propose_ok(ShardId(shard_of(route, ino, at)), std::move(cmd), b_.node_principal()).status());
    pos += n;
  }
  return Status::ok();
}

// ---------------------------------------------------------- create, truncate --

Result<v1::Stat> FileRouter::create(const Principal& who, const std::string& path,
                                    const internal::CreateObjectOp& op) {
  const Route route = b_.route(path);
  Command cmd;
  *cmd.mutable_create() = op;
  TESSERA_ASSIGN_OR_RETURN(auto r, name_write(who, route, std::move(cmd)));
  auto snap = b_.snapshot();
  storage::SnapshotReader meta(*snap, ShardId(cluster::kMetaShard));
  return b_.to_stat(r.inode(), path, cluster::MetaReader(meta), route);
}

Result<v1::Stat> FileRouter::truncate(const Principal& who, const std::string& path, uint64_t size) {
  const Route route = b_.route(path);
  Command cmd;
  cmd.mutable_set_attr()->set_path(path);
  cmd.mutable_set_attr()->set_set_size(true);
  cmd.mutable_set_attr()->set_size(size);
  for (int attempt = 0;; ++attempt) {
    auto r = b_.propose(route.shard, cmd, who);
    if (static_cast<Errc>(r.errc()) == Errc::failed_precondition && attempt < 3) {
      // Growing while a shrink's purge is pending, or over bytes unfinished
      // writes may have left past the end: a prepare at the new size purges
      // them first.
      Command probe;
      auto* w = probe.mutable_write();
      w->set_path(path);
      w->set_data_elsewhere(true);
      w->set_offset(size);
      TESSERA_TRY(prepare(who, route, std::move(probe)).status());
      continue;
    }
    TESSERA_TRY(status_of(r));
    TESSERA_TRY(purge_pending(route, r.inode()));
    auto snap = b_.snapshot();
    storage::SnapshotReader meta(*snap, ShardId(cluster::kMetaShard));
    return b_.to_stat(r.inode(), path, cluster::MetaReader(meta), route);
  }
}

// ------------------------------------------------------------------- read --

Result<internal::ChunkReadReply> FileRouter::read_local(const internal::ChunkRead& req) {
  TESSERA_TRY(b_.read_barrier(ShardId(req.shard())));
  auto snap = b_.snapshot();
  storage::SnapshotReader sr(*snap, ShardId(req.shard()));
  internal::ChunkReadReply reply;
  TESSERA_ASSIGN_OR_RETURN(*reply.mutable_data(), ns::read_chunks(sr, req.ino(), req.offset(), req.length()));
  return reply;
}

Result<std::string> FileRouter::read_piece(uint64_t shard, uint64_t ino, uint64_t offset, uint64_t length,
                                           std::vector<uint64_t>& barriers) {
  if (b_.host().has_shard(ShardId(shard))) {
    // One barrier per shard per request: it covers every write
    // acknowledged before the request.
    if (std::find(barriers.begin(), barriers.end(), shard) == barriers.end()) {
      TESSERA_TRY(b_.read_barrier(ShardId(shard)));
      barriers.push_back(shard);
    }
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(shard));
    return ns::read_chunks(sr, ino, offset, length);
  }
  Forwarder* f = b_.forwarder();
  auto loc = f != nullptr ? f->locate(ShardId(shard)) : std::nullopt;
  if (!loc) {
    return Status(Errc::unavailable, "data shard " + std::to_string(shard) + ": no node holding it is known yet; retry");
  }
  internal::ChunkRead req;
  req.set_shard(shard);
  req.set_ino(ino);
  req.set_offset(offset);
  req.set_length(length);
  auto reply = f->chunk_read(loc->node, req);
  if (!reply.is_ok()) {
    if (reply.status().code() == Errc::not_leader) {
      return Status(Errc::unavailable, "data shard " + std::to_string(shard) + ": " + reply.status().message());
    }
    return reply.status();
  }
  return std::move(*reply->mutable_data());
}

Status FileRouter::read(const Principal& who, const std::string& path, uint64_t offset, uint64_t length,
                        const std::function<bool(uint64_t, std::string_view)>& sink) {
  const Route route = b_.route(path);
  TESSERA_TRY(b_.read_barrier(route.shard));
  internal::Inode inode;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, route.shard);
    TESSERA_ASSIGN_OR_RETURN(auto r, ns::VolumeView(sr).resolve_kind(path, who, v1::KIND_FILE,
                                                                     static_cast<int>(ns::Access::read)));
    inode = r.inode;
  }
  const uint64_t size = inode.size();
  if (offset >= size) return Status::ok();
  const uint64_t end = length == 0 ? size : std::min(size, offset + std::min(length, size));
  // Stripes come from different shards (and blob files on disk): several
  // in flight keep every shard's reads going. The barrier list is shared.
  std::mutex barriers_mu;
  std::set<uint64_t> barriers;  // shards already read-barriered for this request
  auto fetch = [&](uint64_t at) {
    const uint64_t n = std::min(end, (at / kStripeBytes + 1) * kStripeBytes) - at;
    return std::async(std::launch::async, [&, at, n]() -> Result<std::string> {
      const uint64_t shard = shard_of(route, inode.id(), at);
      std::vector<uint64_t> done;  // read_piece adds the shard once it barriered
      {
        std::lock_guard lk(barriers_mu);
        if (barriers.contains(shard)) done.push_back(shard);
      }
      auto bytes = read_piece(shard, inode.id(), at, n, done);
      if (!done.empty()) {
        std::lock_guard lk(barriers_mu);
        barriers.insert(shard);
      }
      return bytes;
    });
  };
  std::deque<std::pair<uint64_t, std::future<Result<std::string>>>> ahead;  // (offset, bytes)
  uint64_t next = offset;
  auto fill = [&] {
    while (next < end && ahead.size() < kStripesAhead) {
      ahead.emplace_back(next, fetch(next));
      next = std::min(end, (next / kStripeBytes + 1) * kStripeBytes);
    }
  };
  auto drain = [&] {
    for (auto& [at, f] : ahead) (void)f.get();  // they reference this frame
  };
  fill();
  while (!ahead.empty()) {
    auto [at, f] = std::move(ahead.front());
    ahead.pop_front();
    auto bytes = f.get();
    if (!bytes.is_ok()) {
      drain();
      return bytes.status();
    }
    fill();
    for (size_t pos = 0; pos < bytes->size(); pos += kSinkBytesMax) {
      const size_t n = std::min(kSinkBytesMax, bytes->size() - pos);
      if (!sink(at + pos, std::string_view(*bytes).substr(pos, n))) {
        drain();
        return Status::ok();
      }
    }
  }
  return Status::ok();
}

// --------------------------------------------------------------- periodic --

void FileRouter::purge_doomed(const Route& route) {
  std::vector<uint64_t> doomed;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, route.shard);
    auto got = ns::doomed_files(ns::VolumeView(sr), kDoomedPerRound);
    if (!got.is_ok() || got->empty()) return;
    doomed = std::move(got).value();
  }
  Command clear;
  for (uint64_t ino : doomed) {
    if (Status st = purge(route, ino, 0, kRemovedEpoch, false); !st.is_ok()) {
      spdlog::warn("{}: purging removed file inode {}: {}", route.volume.path(), ino, st.to_string());
      break;
    }
    clear.mutable_clear_doomed()->add_inos(ino);
  }
  if (!clear.has_clear_doomed()) return;
  auto r = b_.propose(route.shard, clear, b_.node_principal());
  if (r.errc() != 0) spdlog::warn("{}: {}", route.volume.path(), r.message());
}

void FileRouter::run_periodic() {
  std::vector<internal::VolumeRecord> vols;
  {
    auto snap = b_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(cluster::kMetaShard));
    auto got = cluster::MetaReader(sr).volumes();
    if (!got.is_ok()) return;
    vols = std::move(got).value();
  }
  for (const auto& v : vols) {
    if (v.data_shards_size() == 0 || b_.host().leader(ShardId(v.shard())) != b_.host().self()) continue;
    purge_doomed(Route{v, ShardId(v.shard())});
  }
}

}  // namespace tessera::server
