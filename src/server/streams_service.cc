// tessera.v1.Streams: topics, produce, fetch with long poll, consumer group
// offsets — over partition shards (server/stream_router.h).

#include "server/rpc.h"
#include "server/services.h"
#include "server/stream_router.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using tessera::v1::ObjectKind;

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
      return b_.streams().create_topic(who, path, req->topic(), req->partitions());
    });
  }

  grpc::Status ListTopics(grpc::ServerContext* ctx, const v1::ListTopicsRequest* req,
                          v1::ListTopicsResponse* resp) override {
    return serve(b_, ctx, "streams.list_topics", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->stream()));
      TESSERA_ASSIGN_OR_RETURN(*resp, b_.streams().list_topics(who, path));
      return Status::ok();
    });
  }

  grpc::Status Produce(grpc::ServerContext* ctx, const v1::ProduceRequest* req,
                       v1::ProduceResponse* resp) override {
    return serve(b_, ctx, "streams.produce", [&](const internal::Principal& who) -> Status {
      v1::ProduceRequest r = *req;
      TESSERA_ASSIGN_OR_RETURN(*r.mutable_stream(), Backend::normalise(req->stream()));
      TESSERA_ASSIGN_OR_RETURN(*resp, b_.streams().produce(who, r));
      return Status::ok();
    });
  }

  grpc::Status Fetch(grpc::ServerContext* ctx, const v1::FetchRequest* req, v1::FetchResponse* resp) override {
    return serve(b_, ctx, "streams.fetch", [&](const internal::Principal& who) -> Status {
      v1::FetchRequest r = *req;
      TESSERA_ASSIGN_OR_RETURN(*r.mutable_stream(), Backend::normalise(req->stream()));
      TESSERA_ASSIGN_OR_RETURN(*resp, b_.streams().fetch(who, r, [ctx] { return ctx->IsCancelled(); }));
      return Status::ok();
    });
  }

  grpc::Status CommitOffset(grpc::ServerContext* ctx, const v1::CommitOffsetRequest* req,
                            v1::CommitOffsetResponse*) override {
    return serve(b_, ctx, "streams.commit_offset", [&](const internal::Principal& who) -> Status {
      v1::CommitOffsetRequest r = *req;
      TESSERA_ASSIGN_OR_RETURN(*r.mutable_stream(), Backend::normalise(req->stream()));
      return b_.streams().commit_offset(who, r);
    });
  }

  grpc::Status GetOffset(grpc::ServerContext* ctx, const v1::GetOffsetRequest* req,
                         v1::GetOffsetResponse* resp) override {
    return serve(b_, ctx, "streams.get_offset", [&](const internal::Principal& who) -> Status {
      v1::GetOffsetRequest r = *req;
      TESSERA_ASSIGN_OR_RETURN(*r.mutable_stream(), Backend::normalise(req->stream()));
      TESSERA_ASSIGN_OR_RETURN(*resp, b_.streams().get_offset(who, r));
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
