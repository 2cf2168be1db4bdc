#include "client/file_stream.h"

#include "client/connection_impl.h"

namespace tessera::client {

struct FileWriter::State {
  std::string endpoint;
  std::unique_ptr<grpc::ClientContext> ctx;
  v1::WriteResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::WriteRequest>> writer;
  bool finished = false;
  Status failure;  // set once finished with an error

  Status finish_call() {
    TESSERA_ASSERT(!finished);
    finished = true;
    grpc::Status s = writer->Finish();
    if (!s.ok()) failure = status_from_grpc(s, *ctx, endpoint);
    return failure;
  }
};

FileWriter::FileWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

FileWriter::~FileWriter() {
  if (state_ != nullptr && !state_->finished) {
    state_->ctx->TryCancel();
    (void)state_->finish_call();
  }
}

Status FileWriter::send(const v1::WriteRequest& req) {
  TESSERA_ASSERT(req.data().size() <= kWriteMessageBytesMax);
  if (state_->finished) return state_->failure;
  if (state_->writer->Write(req)) return Status::ok();
  // The server ended the call; its status says why.
  Status s = state_->finish_call();
  if (s.is_ok()) {
    s = Status(Errc::internal, "tessera at " + state_->endpoint + " ended a write early");
    state_->failure = s;
  }
  return s;
}

Result<v1::WriteResponse> FileWriter::finish() {
  if (!state_->finished) {
    state_->writer->WritesDone();
    TESSERA_TRY(state_->finish_call());
  }
  if (!state_->failure.is_ok()) return state_->failure;
  return state_->response;
}

struct FileReader::State {
  std::string endpoint;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<v1::ReadResponse>> reader;
  bool finished = false;
};

FileReader::FileReader(std::unique_ptr<State> state) : state_(std::move(state)) {}

FileReader::~FileReader() {
  if (state_ != nullptr && !state_->finished) {
    state_->ctx->TryCancel();
    v1::ReadResponse drain;
    while (state_->reader->Read(&drain)) {
    }
    (void)state_->reader->Finish();
  }
}

Result<bool> FileReader::next(v1::ReadResponse* out) {
  TESSERA_ASSERT(!state_->finished);
  if (state_->reader->Read(out)) return true;
  state_->finished = true;
  grpc::Status s = state_->reader->Finish();
  if (!s.ok()) return status_from_grpc(s, *state_->ctx, state_->endpoint);
  return false;
}

std::unique_ptr<FileWriter> Connection::open_writer() {
  auto st = std::make_unique<FileWriter::State>();
  st->endpoint = impl_->options.endpoint;
  st->ctx = make_context(impl_->options.credentials, 0);
  st->writer = impl_->files->Write(st->ctx.get(), &st->response);
  return std::make_unique<FileWriter>(std::move(st));
}

std::unique_ptr<FileReader> Connection::open_reader(const v1::ReadRequest& req) {
  auto st = std::make_unique<FileReader::State>();
  st->endpoint = impl_->options.endpoint;
  st->ctx = make_context(impl_->options.credentials, 0);
  st->reader = impl_->files->Read(st->ctx.get(), req);
  return std::make_unique<FileReader>(std::move(st));
}

}  // namespace tessera::client
