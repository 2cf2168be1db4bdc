// FileRouter::Writer: one write stream to a volume with data shards.
//
// Each message becomes a segment: its bytes go to the data shards in chunk
// pieces, several at once, and segments commit in order on the name shard
// (consecutive landed ones in one COMMIT) — so the size never shows bytes
// that have not landed, and a crash leaves an append whole or absent.
//   - Appends: each message reserves its offset (PREPARE), in order.
//   - Writes at an offset: one PREPARE per run of contiguous messages (it
//     opens the file, checks the hole before it, gives the data epoch); a
//     jump to another offset first commits what came before.
//   - A COMMIT refused because the epoch moved (a truncate or purge raced
//     the bytes) stops the pipeline: the stream then writes each remaining
//     segment again, one at a time, from a fresh PREPARE.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "namespace/chunk_ops.h"
#include "namespace/keys.h"
#include "server/backend.h"
#include "server/file_router.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using internal::Command;
using internal::CommandResult;

// Bytes a stream keeps uncommitted (landing or waiting to commit) at most,
// besides the message being added.
constexpr uint64_t kUncommittedBytesMax = 8u << 20;
// Times one segment is written again after its epoch moved.
constexpr int kRedoAttemptsMax = 5;

struct Segment {
  uint64_t offset = 0;
  std::string data;
  bool append = false;
  uint64_t ino = 0;
  uint64_t epoch = 0;
  size_t pieces_left = 0;
};

}  // namespace

struct FileRouter::Writer::State {
  FileRouter& router;
  internal::Principal who;
  std::string path;
  Route route;
  bool started = false;
  // The open run of contiguous writes at offsets: no PREPARE needed.
  bool run_open = false;
  bool last_append = false;
  uint64_t run_next = 0;
  uint64_t run_ino = 0;
  uint64_t run_epoch = 0;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Segment>> segs;  // uncommitted, in commit order
  uint64_t uncommitted = 0;
  size_t workers = 0;
  bool committing = false;
  bool redo = false;  // a commit found the epoch moved
  Status first_error;
  uint64_t written = 0;
  uint64_t size = 0;

  Command base(bool append) const {
    Command cmd;
    auto* w = cmd.mutable_write();
    w->set_path(path);
    w->set_data_elsewhere(true);
    w->set_append(append);
    return cmd;
  }

  Result<CommandResult> prepare(bool create, bool append, uint64_t offset, uint64_t length) {
    Command cmd = base(append);
    cmd.mutable_write()->set_create(create);
    cmd.mutable_write()->set_offset(offset);
    cmd.mutable_write()->set_length(length);
    if (append) {
      cmd.mutable_write()->set_node(router.b_.host().self().value);
      cmd.mutable_write()->set_incarnation(router.incarnation_);
    }
    return router.prepare(who, route, std::move(cmd));
  }

  // An append's PREPARE: its offset, held by this stream until it commits.
  Status reserve(Segment& seg, bool create) {
    router.preparing(+1);
    auto r = prepare(create, true, 0, seg.data.size());
    if (!r.is_ok()) {
      router.preparing(-1);
      return r.status();
    }
    seg.offset = r->write_offset();
    seg.ino = r->inode().id();
    seg.epoch = r->inode().data_epoch();
    router.hold(seg.ino, seg.offset);
    return Status::ok();
  }
  void release(const Segment& seg) {
    if (seg.append) router.release(seg.ino, seg.offset);
  }

  // Commits the landed segments at the front, in order; called with `lk`
  // held by the one thread that set `committing`.
  void commit_landed(std::unique_lock<std::mutex>& lk) {
    while (first_error.is_ok() && !redo && !segs.empty() && segs.front()->pieces_left == 0) {
      const Segment& head = *segs.front();
      size_t k = 1;
      uint64_t length = head.data.size();
      while (k < segs.size()) {
        const Segment& s = *segs[k];
        if (s.pieces_left != 0 || s.append != head.append || s.epoch != head.epoch ||
            s.ino != head.ino || s.offset != head.offset + length) {
          break;
        }
        length += s.data.size();
        ++k;
      }
      const uint64_t ino = head.ino, epoch = head.epoch, offset = head.offset;
      const bool append = head.append;
      lk.unlock();
      auto r = router.commit(who, route, path, ino, epoch, offset, length, append);
      lk.lock();
      if (r.is_ok()) {
        for (size_t i = 0; i < k; ++i) {
          release(*segs.front());
          segs.pop_front();
        }
        uncommitted -= length;
        written += length;
        size = r->write().size();
      } else if (r.status().code() == Errc::failed_precondition) {
        redo = true;
      } else {
        first_error = r.status();
      }
      cv.notify_all();
    }
  }

  void landed(const std::shared_ptr<Segment>& seg, const Status& st) {
    std::unique_lock lk(mu);
    --workers;
    --seg->pieces_left;
    if (!st.is_ok() && first_error.is_ok()) first_error = st;
    if (!committing) {
      committing = true;
      commit_landed(lk);
      committing = false;
    }
    cv.notify_all();
  }

  void idle(std::unique_lock<std::mutex>& lk) {
    cv.wait(lk, [&] { return workers == 0 && !committing; });
  }

  // Writes `seg` again from a fresh PREPARE, alone, until it commits.
  Status rewrite(Segment& seg) {
    for (int attempt = 0; attempt < kRedoAttemptsMax; ++attempt) {
      release(seg);  // its reservation went with the epoch
      if (seg.append) {
        TESSERA_TRY(reserve(seg, false));
      } else {
        TESSERA_ASSIGN_OR_RETURN(auto p, prepare(false, false, seg.offset, seg.data.size()));
        seg.ino = p.inode().id();
        seg.epoch = p.inode().data_epoch();
      }
      TESSERA_TRY(router.data_write(route, seg.ino, seg.epoch, seg.offset, seg.data));
      auto r = router.commit(who, route, path, seg.ino, seg.epoch, seg.offset, seg.data.size(), seg.append);
      if (r.is_ok()) {
        release(seg);
        std::lock_guard lk(mu);
        written += seg.data.size();
        size = r->write().size();
        return Status::ok();
      }
      if (r.status().code() != Errc::failed_precondition) return r.status();
    }
    return Status(Errc::unavailable, path + ": the file kept being truncated or purged while written; retry");
  }

  // Waits until every segment committed (writing again those whose epoch
  // moved); the stream's first error.
  Status settle() {
    std::unique_lock lk(mu);
    idle(lk);
    if (!first_error.is_ok()) return first_error;
    if (!redo) return Status::ok();
    run_open = false;
    while (!segs.empty()) {
      auto seg = segs.front();
      lk.unlock();
      Status st = rewrite(*seg);
      lk.lock();
      if (!st.is_ok()) {
        first_error = st;
        return st;
      }
      segs.pop_front();
      uncommitted -= seg->data.size();
    }
    redo = false;
    return Status::ok();
  }

  // Queues `seg` and starts its pieces (chunk-aligned).
  void launch(std::shared_ptr<Segment> seg) {
    std::vector<std::pair<uint64_t, size_t>> pieces;
    for (size_t pos = 0; pos < seg->data.size();) {
      const size_t n = std::min<size_t>(seg->data.size() - pos,
                                        ns::kChunkBytes - (seg->offset + pos) % ns::kChunkBytes);
      pieces.emplace_back(pos, n);
      pos += n;
    }
    {
      std::lock_guard lk(mu);
      seg->pieces_left = pieces.size();
      workers += pieces.size();
      uncommitted += seg->data.size();
      segs.push_back(seg);
    }
    for (auto [pos, n] : pieces) {
      std::thread([this, seg, pos, n] {
        Status st = router.data_write(route, seg->ino, seg->epoch, seg->offset + pos,
                                      std::string_view(seg->data).substr(pos, n));
        landed(seg, st);
      }).detach();
    }
  }
};

FileRouter::Writer::Writer(FileRouter& router, const internal::Principal& who, std::string path)
    : s_(new State{router, who, std::move(path)}) {
  s_->route = router.b_.route(s_->path);
}

FileRouter::Writer::~Writer() {
  std::unique_lock lk(s_->mu);
  s_->idle(lk);
  // Appends that never committed: a waiting appender on this node may drop
  // their reservations now.
  for (const auto& seg : s_->segs) s_->release(*seg);
}

Status FileRouter::Writer::write(const v1::WriteRequest& msg) {
  State& s = *s_;
  bool create = false;
  if (!s.started) {
    s.started = true;
    create = msg.create();
    if (msg.truncate()) {
      // Create and truncate alone, before any byte: a shrink's purge must
      // be over before the file grows.
      TESSERA_ASSIGN_OR_RETURN(auto r, s.router.name_write(s.who, s.route, [&] {
        Command cmd = s.base(false);
        cmd.mutable_write()->set_create(create);
        cmd.mutable_write()->set_truncate(true);
        return cmd;
      }()));
      s.size = r.write().size();
      create = false;
    } else if (msg.data().empty()) {
      TESSERA_ASSIGN_OR_RETURN(auto r, s.prepare(create, false, 0, 0));
      s.size = r.write().size();
    }
  }
  if (msg.data().empty()) return Status::ok();
  {
    std::unique_lock lk(s.mu);
    s.cv.wait(lk, [&] {
      return !s.first_error.is_ok() || s.redo || s.segs.empty() ||
             s.uncommitted + msg.data().size() <= kUncommittedBytesMax;
    });
    if (!s.first_error.is_ok()) return s.first_error;
  }
  // Commit what came before a jump to another offset (its prepare checks
  // the hole against the committed size) or a switch between appends and
  // writes at offsets (an append's offset comes after the committed size).
  const bool continues = msg.append() ? s.last_append : s.run_open && msg.offset() == s.run_next;
  bool settle = !continues;
  {
    std::lock_guard lk(s.mu);
    settle = settle || s.redo;
  }
  if (settle) TESSERA_TRY(s.settle());
  s.last_append = msg.append();
  auto seg = std::make_shared<Segment>();
  seg->data = msg.data();
  seg->append = msg.append();
  if (msg.append()) {
    TESSERA_TRY(s.reserve(*seg, create));
    s.run_open = false;
  } else {
    if (!s.run_open || msg.offset() != s.run_next) {
      TESSERA_ASSIGN_OR_RETURN(auto r, s.prepare(create, false, msg.offset(), seg->data.size()));
      s.run_ino = r.inode().id();
      s.run_epoch = r.inode().data_epoch();
      s.run_open = true;
    }
    seg->offset = msg.offset();
    seg->ino = s.run_ino;
    seg->epoch = s.run_epoch;
    s.run_next = msg.offset() + seg->data.size();
  }
  s.launch(std::move(seg));
  return Status::ok();
}

Result<v1::WriteResponse> FileRouter::Writer::finish() {
  TESSERA_TRY(s_->settle());
  if (!s_->started) return Status(Errc::invalid_argument, "write stream carried no message");
  std::lock_guard lk(s_->mu);
  v1::WriteResponse resp;
  resp.set_bytes_written(s_->written);
  resp.set_size(s_->size);
  return resp;
}

}  // namespace tessera::server
