// tessera.v1.Streams: topics, produce (one ProduceOp per request), fetch
// with long poll (waits on the shard's applied index), consumer group offsets.

#include <chrono>

#include "namespace/stream_ops.h"
#include "server/read_view.h"
#include "server/rpc.h"
#include "server/services.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using tessera::v1::ObjectKind;

constexpr uint32_t kFetchWaitMsMax = 30000;

class StreamsService final : public v1::Streams::Service {
 public:
  explicit StreamsService(Backend& b) : b_(b) {}

  grpc::Status Create(grpc::ServerContext* ctx, const v1::CreateStreamRequest* req,
                      v1::CreateStreamResponse* resp) override {
    return serve(b_, ctx, "streams.create", [&](const internal::Principal& who) -> Status {
      internal::CreateObjectOp retention;
      retention.set_retention_age_ms(req->retention_age_ms());
      retention.set_retention_bytes(req->retention_bytes());
      TESSERA_ASSIGN_OR_RETURN(*resp->mutable_stat(),
                               b_.create_object(who, req->path(), ObjectKind::KIND_STREAM, req->mode(),
                                                std::move(retention)));
      return Status::ok();
    });
  }

  grpc::Status CreateTopic(grpc::ServerContext* ctx, const v1::CreateTopicRequest* req,
                           v1::CreateTopicResponse*) override {
    return serve(b_, ctx, "streams.create_topic", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->stream()));
      internal::Command cmd;
      auto* c = cmd.mutable_create_topic();
      c->set_path(path);
      c->set_topic(req->topic());
      c->set_partitions(req->partitions());
      return b_.propose_ok(b_.route(path).shard, cmd, who).status();
    });
  }

  grpc::Status ListTopics(grpc::ServerContext* ctx, const v1::ListTopicsRequest* req,
                          v1::ListTopicsResponse* resp) override {
    return serve(b_, ctx, "streams.list_topics", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->stream()));
      v1::ListTopicsRequest r = *req;
      r.set_stream(path);
      ReadView rv(b_, path);
      TESSERA_TRY(rv.ready());
      TESSERA_ASSIGN_OR_RETURN(*resp, ns::list_topics(rv.view(), who, r));
      return Status::ok();
    });
  }

  grpc::Status Produce(grpc::ServerContext* ctx, const v1::ProduceRequest* req,
                       v1::ProduceResponse* resp) override {
    return serve(b_, ctx, "streams.produce", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->stream()));
      internal::Command cmd;
      auto* p = cmd.mutable_produce();
      p->set_path(path);
      p->set_topic(req->topic());
      p->set_partition(req->partition());
      *p->mutable_records() = req->records();
      TESSERA_ASSIGN_OR_RETURN(auto res, b_.propose_ok(b_.route(path).shard, cmd, who));
      *resp = res.produce();
      return Status::ok();
    });
  }

  grpc::Status Fetch(grpc::ServerContext* ctx, const v1::FetchRequest* req, v1::FetchResponse* resp) override {
    return serve(b_, ctx, "streams.fetch", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->stream()));
      v1::FetchRequest r = *req;
      r.set_stream(path);
      Route route = b_.route(path);
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(std::min(req->max_wait_ms(), kFetchWaitMsMax));
      for (;;) {
        LogIndex seen = b_.host().applied_index(route.shard);
        {
          ReadView rv(b_, path);
          TESSERA_TRY(rv.ready());
          TESSERA_ASSIGN_OR_RETURN(*resp, ns::fetch(rv.view(), who, r));
        }
        if (resp->records_size() > 0 || ctx->IsCancelled()) return Status::ok();
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return Status::ok();
        b_.host().wait_applied(route.shard, seen, std::min<int64_t>(left, 200));
      }
    });
  }

  grpc::Status CommitOffset(grpc::ServerContext* ctx, const v1::CommitOffsetRequest* req,
                            v1::CommitOffsetResponse*) override {
    return serve(b_, ctx, "streams.commit_offset", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->stream()));
      internal::Command cmd;
      auto* c = cmd.mutable_commit_offset();
      c->set_path(path);
      c->set_topic(req->topic());
      c->set_group(req->group());
      c->set_partition(req->partition());
      c->set_offset(req->offset());
      return b_.propose_ok(b_.route(path).shard, cmd, who).status();
    });
  }

  grpc::Status GetOffset(grpc::ServerContext* ctx, const v1::GetOffsetRequest* req,
                         v1::GetOffsetResponse* resp) override {
    return serve(b_, ctx, "streams.get_offset", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->stream()));
      v1::GetOffsetRequest r = *req;
      r.set_stream(path);
      ReadView rv(b_, path);
      TESSERA_TRY(rv.ready());
      TESSERA_ASSIGN_OR_RETURN(*resp, ns::get_offset(rv.view(), who, r));
      return Status::ok();
    });
  }

 private:
  Backend& b_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_streams_service(Backend& backend) {
  return std::make_unique<StreamsService>(backend);
}

}  // namespace tessera::server
