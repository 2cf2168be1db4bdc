// tessera.v1.Tables: each write is one RowBatchOp on one row (atomic), sent
// to the tablet holding the key; reads go to the tablets too
// (server/table_router.h).

#include "server/rpc.h"
#include "server/services.h"
#include "server/table_router.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;

class TablesService final : public v1::Tables::Service {
 public:
  explicit TablesService(Backend& b) : b_(b) {}

  grpc::Status Create(grpc::ServerContext* ctx, const v1::CreateTableRequest* req,
                      v1::CreateTableResponse* resp) override {
    return serve(b_, ctx, "tables.create", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      TESSERA_ASSIGN_OR_RETURN(*resp->mutable_stat(), b_.tables().create_table(who, path, req->mode()));
      return Status::ok();
    });
  }

  grpc::Status Put(grpc::ServerContext* ctx, const v1::PutRowRequest* req, v1::PutRowResponse* resp) override {
    return serve(b_, ctx, "tables.put", [&](const internal::Principal& who) -> Status {
      v1::RowOp op;
      *op.mutable_put() = *req;
      TESSERA_ASSIGN_OR_RETURN(auto res, batch(who, req->path(), req->key(), {op}));
      resp->set_version(res.row().version());
      return Status::ok();
    });
  }

  grpc::Status Update(grpc::ServerContext* ctx, const v1::UpdateRowRequest* req,
                      v1::UpdateRowResponse* resp) override {
    return serve(b_, ctx, "tables.update", [&](const internal::Principal& who) -> Status {
      v1::RowOp op;
      *op.mutable_update() = *req;
      TESSERA_ASSIGN_OR_RETURN(auto res, batch(who, req->path(), req->key(), {op}));
      *resp->mutable_row() = res.row();
      return Status::ok();
    });
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteRowRequest* req, v1::DeleteRowResponse*) override {
    return serve(b_, ctx, "tables.delete", [&](const internal::Principal& who) -> Status {
      v1::RowOp op;
      *op.mutable_delete_() = *req;
      return batch(who, req->path(), req->key(), {op}).status();
    });
  }

  grpc::Status Batch(grpc::ServerContext* ctx, const v1::BatchRowRequest* req, v1::BatchRowResponse* resp) override {
    return serve(b_, ctx, "tables.batch", [&](const internal::Principal& who) -> Status {
      std::vector<v1::RowOp> ops(req->ops().begin(), req->ops().end());
      if (ops.empty()) return Status(Errc::invalid_argument, req->path() + ": batch has no operations");
      TESSERA_ASSIGN_OR_RETURN(auto res, batch(who, req->path(), req->key(), ops));
      *resp->mutable_row() = res.row();
      resp->set_deleted(res.deleted());
      return Status::ok();
    });
  }

  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRowRequest* req, v1::GetRowResponse* resp) override {
    return serve(b_, ctx, "tables.get", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      v1::GetRowRequest r = *req;
      r.set_path(path);
      TESSERA_ASSIGN_OR_RETURN(*resp, b_.tables().get(who, r));
      return Status::ok();
    });
  }

  grpc::Status Scan(grpc::ServerContext* ctx, const v1::ScanRequest* req, v1::ScanResponse* resp) override {
    return serve(b_, ctx, "tables.scan", [&](const internal::Principal& who) -> Status {
      TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(req->path()));
      v1::ScanRequest r = *req;
      r.set_path(path);
      TESSERA_ASSIGN_OR_RETURN(*resp, b_.tables().scan(who, r));
      return Status::ok();
    });
  }

 private:
  Result<internal::CommandResult> batch(const internal::Principal& who, const std::string& raw_path,
                                        const std::string& key, const std::vector<v1::RowOp>& ops) {
    TESSERA_ASSIGN_OR_RETURN(auto path, Backend::normalise(raw_path));
    return b_.tables().write(who, path, key, ops);
  }

  Backend& b_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_tables_service(Backend& backend) {
  return std::make_unique<TablesService>(backend);
}

}  // namespace tessera::server
