// tessera.v1.Files: create, streaming write (pipelined proposals, one per
// chunk-aligned piece), streaming read from a snapshot, truncate. Volumes
// with file data shards go through FileRouter (server/file_router.h); the
// rest keep their chunks in the volume shard, served here.

#include <condition_variable>
#include <mutex>

#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "server/file_router.h"
#include "server/read_view.h"
#include "server/rpc.h"
#include "server/services.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using tessera::v1::ObjectKind;

constexpr size_t kWriteMessageBytesMax = 4u << 20;
constexpr size_t kWritesInFlightMax = 8;

// Tracks a write stream's in-flight proposals and its first error.
class WriteWindow {
 public:
  void acquire() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return in_flight_ < kWritesInFlightMax; });
    ++in_flight_;
  }
  void complete(internal::CommandResult&& r) {
    std::lock_guard lk(mu_);
    --in_flight_;
    if (r.errc() != 0 && first_error_.is_ok()) first_error_ = status_of(r);
    if (r.errc() == 0) {
      written_ += r.write().bytes_written();
      size_ = std::max(size_, r.write().size());
    }
    cv_.notify_all();
  }
  Status drain() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return in_flight_ == 0; });
    return first_error_;
  }
  Status first_error() {
    std::lock_guard lk(mu_);
    return first_error_;
  }
  uint64_t written() const { return written_; }
  uint64_t size() const { return size_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  Status first_error_;
  uint64_t written_ = 0;
  uint64_t size_ = 0;
};

class FilesService final : public v1::Files::Service {
 public:
  explicit FilesService(Backend& b) : b_(b) {}

  grpc::Status Create(grpc::ServerContext* ctx, const v1::CreateFileRequest* req,
                      v1::CreateFileResponse* resp) override {
    return serve(b_, ctx, "files.create", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      internal::Command cmd;
      auto* c = cmd.mutable_create();
      c->set_path(path);
      c->set_kind(ObjectKind::KIND_FILE);
      c->set_mode(req->mode());
      c->set_exclusive(req->exclusive());
      c->set_truncate(req->truncate());
      if (FileRouter::sharded(b_.route(path))) {
        TESSERA_ASSIGN_OR_RETURN(*resp->mutable_stat(), b_.files().create(who, path, *c));
        return Status::ok();
      }
      TESSERA_ASSIGN_OR_RETURN(*resp->mutable_stat(), b_.propose_stat(path, std::move(cmd), who));
      return Status::ok();
    });
  }

  grpc::Status Write(grpc::ServerContext* ctx, grpc::ServerReader<v1::WriteRequest>* reader,
                     v1::WriteResponse* resp) override {
    return serve(b_, ctx, "files.write", [&](const internal::Principal& who) -> Status {
      v1::WriteRequest msg;
      std::string path;
      Route route;
      bool first = true;
      bool local_leader = false;  // pipelined local proposals, else forwarded
      WriteWindow window;
      std::unique_ptr<FileRouter::Writer> sharded;
      while (reader->Read(&msg)) {
        if (first) {
          TESSERA_ASSIGN_OR_RETURN(path, Backend::normalise(msg.path()));
          route = b_.route(path);
          if (FileRouter::sharded(route)) sharded = std::make_unique<FileRouter::Writer>(b_.files(), who, path);
        }
        if (msg.data().size() > kWriteMessageBytesMax) {
          (void)window.drain();
          return Status(Errc::too_large, path + ": write message of " + std::to_string(msg.data().size()) +
                                             " bytes exceeds " + std::to_string(kWriteMessageBytesMax));
        }
        if (sharded) {
          first = false;
          TESSERA_TRY(sharded->write(msg));
          continue;
        }
        if (Status st = window.first_error(); !st.is_ok()) {
          (void)window.drain();  // callbacks reference `window`
          return st;
        }
        // Split at chunk boundaries so whole chunks need no read-modify-write.
        uint64_t offset = msg.offset();
        size_t pos = 0;
        do {
          size_t n = msg.data().size() - pos;
          if (!msg.append()) {
            n = std::min<size_t>(n, ns::kChunkBytes - (offset + pos) % ns::kChunkBytes);
          }
          internal::Command cmd;
          auto* w = cmd.mutable_write();
          w->set_path(path);
          w->set_offset(offset + pos);
          w->set_data(msg.data().substr(pos, n));
          w->set_append(msg.append());
          w->set_create(first && msg.create());
          w->set_truncate(first && msg.truncate());
          *cmd.mutable_principal() = who;
          cmd.set_now_ms(now_ms());
          if (first || !local_leader) {
            // The first piece creates/truncates: finish it before the rest.
            // Pieces for a leader elsewhere are forwarded one at a time.
            auto r = b_.propose_stamped(route.shard, cmd);
            TESSERA_TRY(status_of(r));
            window.acquire();
            window.complete(std::move(r));
            first = false;
            local_leader = b_.host().leader(route.shard) == b_.host().self();
          } else {
            window.acquire();
            b_.host().propose(route.shard, cmd, [&window](internal::CommandResult&& r) {
              window.complete(std::move(r));
            });
          }
          pos += n;
        } while (pos < msg.data().size());
      }
      if (sharded) {
        TESSERA_ASSIGN_OR_RETURN(*resp, sharded->finish());
        return Status::ok();
      }
      TESSERA_TRY(window.drain());
      if (first) return Status(Errc::invalid_argument, "write stream carried no message");
      resp->set_bytes_written(window.written());
      resp->set_size(window.size());
      return Status::ok();
    });
  }

  grpc::Status Read(grpc::ServerContext* ctx, const v1::ReadRequest* req,
                    grpc::ServerWriter<v1::ReadResponse>* writer) override {
    return serve(b_, ctx, "files.read", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      v1::ReadResponse out;
      auto sink = [&](uint64_t offset, std::string_view data) {
        out.set_offset(offset);
        out.mutable_data()->assign(data.data(), data.size());
        return writer->Write(out);
      };
      if (FileRouter::sharded(b_.route(path))) {
        return b_.files().read(who, path, req->offset(), req->length(), sink);
      }
      ReadView rv(b_, path);
      TESSERA_TRY(rv.ready());
      return ns::read_file(rv.view(), who, path, req->offset(), req->length(), sink);
    });
  }

  grpc::Status Truncate(grpc::ServerContext* ctx, const v1::TruncateRequest* req,
                        v1::TruncateResponse* resp) override {
    return serve(b_, ctx, "files.truncate", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      if (FileRouter::sharded(b_.route(path))) {
        TESSERA_ASSIGN_OR_RETURN(*resp->mutable_stat(), b_.files().truncate(who, path, req->size()));
        return Status::ok();
      }
      internal::Command cmd;
      cmd.mutable_set_attr()->set_path(path);
      cmd.mutable_set_attr()->set_set_size(true);
      cmd.mutable_set_attr()->set_size(req->size());
      TESSERA_ASSIGN_OR_RETURN(*resp->mutable_stat(), b_.propose_stat(path, std::move(cmd), who));
      return Status::ok();
    });
  }

 private:
  Backend& b_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_files_service(Backend& backend) {
  return std::make_unique<FilesService>(backend);
}

}  // namespace tessera::server
