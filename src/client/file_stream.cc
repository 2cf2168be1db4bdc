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
  Connection::Impl* conn = nullptr;  // outlives the reader
  v1::ReadRequest request;
  std::string endpoint;
  std::shared_ptr<Stubs> stubs;  // keeps a redirect target's channel alive
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<v1::ReadResponse>> reader;
  bool finished = false;
  bool received = false;  // a piece was returned: no redirect after that
  int hops = 0;

  void open(const std::string& to) {
    reader.reset();  // before the context it uses
    endpoint = to;
    stubs = conn->stubs_for(endpoint);
    ctx = make_context(conn->options.credentials, 0);
    reader = stubs->files->Read(ctx.get(), request);
  }
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
  for (;;) {
    if (state_->reader->Read(out)) {
      state_->received = true;
      return true;
    }
    grpc::Status s = state_->reader->Finish();
    if (s.ok()) {
      state_->finished = true;
      return false;
    }
    // A refusal before any data came: read from the node it names instead.
    auto next = redirect_target(*state_->ctx, state_->endpoint);
    if (!next || state_->received || state_->hops == kRedirectHopsMax) {
      state_->finished = true;
      return status_from_grpc(s, *state_->ctx, state_->endpoint);
    }
    ++state_->hops;
    state_->open(*next);
  }
}

std::unique_ptr<FileWriter> Connection::open_writer() {
  auto st = std::make_unique<FileWriter::State>();
  st->endpoint = impl_->options.endpoint;
  st->ctx = make_context(impl_->options.credentials, 0);
  st->writer = impl_->primary->files->Write(st->ctx.get(), &st->response);
  return std::make_unique<FileWriter>(std::move(st));
}

std::unique_ptr<FileReader> Connection::open_reader(const v1::ReadRequest& req) {
  auto st = std::make_unique<FileReader::State>();
  st->conn = impl_.get();
  st->request = req;
  st->open(impl_->options.endpoint);
  return std::make_unique<FileReader>(std::move(st));
}

}  // namespace tessera::client
