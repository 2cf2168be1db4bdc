#include "cli/fake_tessera.h"

#include <algorithm>

#include "base/status.h"

namespace tessera::cli::testing {
namespace {

using grpc::ServerContext;

constexpr size_t kReadPieceBytes = 1000;

grpc::Status fail(ServerContext* ctx, Errc code, const std::string& subject) {
  ctx->AddTrailingMetadata("x-tessera-errc", std::string(errc_name(code)));
  Status s = error(code, subject);
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, s.message());
}

grpc::Status fail_with(ServerContext* ctx, Errc code, const std::string& message) {
  ctx->AddTrailingMetadata("x-tessera-errc", std::string(errc_name(code)));
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
}

void note_key(FakeState& st, ServerContext* ctx) {
  auto it = ctx->client_metadata().find("x-tessera-key-id");
  st.last_key_id =
      it == ctx->client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

class Namespace final : public v1::Namespace::Service {
 public:
  explicit Namespace(std::shared_ptr<FakeState> st) : st_(std::move(st)) {}

  grpc::Status Stat(ServerContext* ctx, const v1::StatRequest* req,
                    v1::StatResponse* resp) override {
    std::lock_guard lock(st_->mu);
    note_key(*st_, ctx);
    auto it = st_->objects.find(req->path());
    if (it == st_->objects.end()) return fail(ctx, Errc::not_found, req->path());
    *resp->mutable_stat() = it->second;
    return grpc::Status::OK;
  }

  grpc::Status List(ServerContext* ctx, const v1::ListRequest* req,
                    v1::ListResponse* resp) override {
    std::lock_guard lock(st_->mu);
    std::vector<const v1::Stat*> children;
    for (const auto& [path, stat] : st_->objects) {
      if (path != "/" && parent_of(path) == req->path()) children.push_back(&stat);
    }
    if (!st_->objects.contains(req->path())) return fail(ctx, Errc::not_found, req->path());
    size_t from = req->page_token().empty() ? 0 : std::stoul(req->page_token());
    size_t to = std::min(children.size(), from + kPageEntries);
    for (size_t i = from; i < to; ++i) *resp->add_entries() = *children[i];
    if (to < children.size()) resp->set_next_page_token(std::to_string(to));
    return grpc::Status::OK;
  }

  grpc::Status Mkdir(ServerContext* ctx, const v1::MkdirRequest* req,
                     v1::MkdirResponse* resp) override {
    std::lock_guard lock(st_->mu);
    if (st_->objects.contains(req->path())) return fail(ctx, Errc::already_exists, req->path());
    v1::Stat s;
    s.set_path(req->path());
    s.set_kind(v1::KIND_DIRECTORY);
    s.set_mode(req->mode());
    s.set_owner("admin");
    s.set_group("admin");
    st_->objects[req->path()] = s;
    *resp->mutable_stat() = s;
    return grpc::Status::OK;
  }

  grpc::Status SetAcl(ServerContext*, const v1::SetAclRequest* req, v1::SetAclResponse*) override {
    std::lock_guard lock(st_->mu);
    st_->acls[req->path()].assign(req->entries().begin(), req->entries().end());
    return grpc::Status::OK;
  }

  grpc::Status GetAcl(ServerContext*, const v1::GetAclRequest* req,
                      v1::GetAclResponse* resp) override {
    std::lock_guard lock(st_->mu);
    for (const auto& e : st_->acls[req->path()]) *resp->add_entries() = e;
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<FakeState> st_;
};

class Files final : public v1::Files::Service {
 public:
  explicit Files(std::shared_ptr<FakeState> st) : st_(std::move(st)) {}

  grpc::Status Write(ServerContext*, grpc::ServerReader<v1::WriteRequest>* reader,
                     v1::WriteResponse* resp) override {
    v1::WriteRequest req;
    std::string path;
    std::string data;
    uint64_t written = 0;
    while (reader->Read(&req)) {
      if (path.empty()) path = req.path();
      if (data.size() < req.offset() + req.data().size())
        data.resize(req.offset() + req.data().size());
      data.replace(req.offset(), req.data().size(), req.data());
      written += req.data().size();
    }
    std::lock_guard lock(st_->mu);
    v1::Stat s;
    s.set_path(path);
    s.set_kind(v1::KIND_FILE);
    s.set_mode(0644);
    s.set_size(data.size());
    st_->objects[path] = s;
    st_->files[path] = data;
    resp->set_bytes_written(written);
    resp->set_size(data.size());
    return grpc::Status::OK;
  }

  grpc::Status Read(ServerContext* ctx, const v1::ReadRequest* req,
                    grpc::ServerWriter<v1::ReadResponse>* writer) override {
    std::string data;
    {
      std::lock_guard lock(st_->mu);
      auto it = st_->files.find(req->path());
      if (it == st_->files.end()) return fail(ctx, Errc::not_found, req->path());
      data = it->second;
    }
    for (size_t off = 0; off < data.size(); off += kReadPieceBytes) {
      v1::ReadResponse r;
      r.set_offset(off);
      r.set_data(data.substr(off, kReadPieceBytes));
      writer->Write(r);
    }
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<FakeState> st_;
};

class Tables final : public v1::Tables::Service {
 public:
  explicit Tables(std::shared_ptr<FakeState> st) : st_(std::move(st)) {}

  grpc::Status Put(ServerContext* ctx, const v1::PutRowRequest* req,
                   v1::PutRowResponse* resp) override {
    std::lock_guard lock(st_->mu);
    auto it = st_->rows.find(req->key());
    bool exists = it != st_->rows.end();
    if (req->if_absent() && exists)
      return fail(ctx, Errc::already_exists, req->path() + ":" + req->key());
    uint64_t version = exists ? it->second.version() : 0;
    if (req->if_version() != 0 && req->if_version() != version) {
      return fail(ctx, Errc::version_mismatch, req->path() + ":" + req->key());
    }
    v1::Row& row = st_->rows[req->key()];
    row.set_key(req->key());
    row.set_document(req->document());
    row.set_version(version + 1);
    resp->set_version(row.version());
    return grpc::Status::OK;
  }

  grpc::Status Get(ServerContext* ctx, const v1::GetRowRequest* req,
                   v1::GetRowResponse* resp) override {
    std::lock_guard lock(st_->mu);
    auto it = st_->rows.find(req->key());
    if (it == st_->rows.end()) return fail(ctx, Errc::not_found, req->path() + ":" + req->key());
    *resp->mutable_row() = it->second;
    return grpc::Status::OK;
  }

  grpc::Status Scan(ServerContext*, const v1::ScanRequest* req, v1::ScanResponse* resp) override {
    std::lock_guard lock(st_->mu);
    size_t page = std::min<size_t>(kPageEntries, req->limit() == 0 ? kPageEntries : req->limit());
    auto it = req->page_token().empty() ? st_->rows.lower_bound(req->start())
                                        : st_->rows.upper_bound(req->page_token());
    for (; it != st_->rows.end(); ++it) {
      if (!req->end().empty() && it->first >= req->end()) break;
      if (!it->first.starts_with(req->prefix())) continue;
      if (static_cast<size_t>(resp->rows_size()) == page) {
        resp->set_next_page_token(resp->rows(resp->rows_size() - 1).key());
        break;
      }
      *resp->add_rows() = it->second;
    }
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<FakeState> st_;
};

class Streams final : public v1::Streams::Service {
 public:
  explicit Streams(std::shared_ptr<FakeState> st) : st_(std::move(st)) {}

  grpc::Status CreateTopic(ServerContext*, const v1::CreateTopicRequest* req,
                           v1::CreateTopicResponse*) override {
    std::lock_guard lock(st_->mu);
    std::string id = req->stream() + ":" + req->topic();
    st_->topics[id] = req->partitions();
    st_->records[id].resize(req->partitions());
    return grpc::Status::OK;
  }

  grpc::Status ListTopics(ServerContext*, const v1::ListTopicsRequest* req,
                          v1::ListTopicsResponse* resp) override {
    std::lock_guard lock(st_->mu);
    for (const auto& [id, n] : st_->topics) {
      if (!id.starts_with(req->stream() + ":")) continue;
      auto* t = resp->add_topics();
      t->set_name(id.substr(req->stream().size() + 1));
      t->set_partitions(n);
      for (const auto& part : st_->records[id]) {
        t->add_start_offsets(0);
        t->add_end_offsets(part.size());
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status Produce(ServerContext* ctx, const v1::ProduceRequest* req,
                       v1::ProduceResponse* resp) override {
    std::lock_guard lock(st_->mu);
    std::string id = req->stream() + ":" + req->topic();
    if (!st_->topics.contains(id)) return fail(ctx, Errc::not_found, id);
    ++st_->produce_calls;
    uint32_t p = req->partition() < 0 ? 0 : static_cast<uint32_t>(req->partition());
    auto& part = st_->records[id].at(p);
    for (const auto& r : req->records()) {
      v1::Record rec = r;
      rec.set_offset(part.size());
      rec.set_partition(p);
      part.push_back(rec);
      resp->add_partitions(p);
      resp->add_offsets(rec.offset());
    }
    return grpc::Status::OK;
  }

  grpc::Status Fetch(ServerContext*, const v1::FetchRequest* req,
                     v1::FetchResponse* resp) override {
    std::lock_guard lock(st_->mu);
    const auto& part = st_->records[req->stream() + ":" + req->topic()].at(req->partition());
    for (uint64_t o = req->offset(); o < part.size(); ++o) *resp->add_records() = part[o];
    resp->set_end_offset(part.size());
    return grpc::Status::OK;
  }

  grpc::Status CommitOffset(ServerContext*, const v1::CommitOffsetRequest* req,
                            v1::CommitOffsetResponse*) override {
    std::lock_guard lock(st_->mu);
    st_->commits[req->group() + "/" + std::to_string(req->partition())] = req->offset();
    return grpc::Status::OK;
  }

  grpc::Status GetOffset(ServerContext*, const v1::GetOffsetRequest* req,
                         v1::GetOffsetResponse* resp) override {
    std::lock_guard lock(st_->mu);
    auto it = st_->commits.find(req->group() + "/" + std::to_string(req->partition()));
    if (it != st_->commits.end()) {
      resp->set_found(true);
      resp->set_offset(it->second);
    }
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<FakeState> st_;
};

class Admin final : public v1::Admin::Service {
 public:
  explicit Admin(std::shared_ptr<FakeState> st) : st_(std::move(st)) {}

  grpc::Status CreateKey(ServerContext*, const v1::CreateKeyRequest* req,
                         v1::CreateKeyResponse* resp) override {
    resp->set_user(req->user());
    resp->set_key_id("TK-NEW");
    resp->set_secret("sekrit");
    return grpc::Status::OK;
  }

  grpc::Status WhoAmI(ServerContext*, const v1::WhoAmIRequest*, v1::WhoAmIResponse* resp) override {
    resp->mutable_user()->set_name("admin");
    resp->mutable_user()->set_admin(true);
    return grpc::Status::OK;
  }

  grpc::Status ClusterHealth(ServerContext* ctx, const v1::ClusterHealthRequest*,
                             v1::ClusterHealthResponse* resp) override {
    std::lock_guard lock(st_->mu);
    if (st_->health_json.empty()) {
      return fail_with(ctx, Errc::unavailable, "cluster health is not available on this node");
    }
    resp->set_json(st_->health_json);
    return grpc::Status::OK;
  }

  grpc::Status ListNodes(ServerContext*, const v1::ListNodesRequest*,
                         v1::ListNodesResponse* resp) override {
    std::lock_guard lock(st_->mu);
    for (const auto& n : st_->nodes) *resp->add_nodes() = n;
    return grpc::Status::OK;
  }

  grpc::Status DrainNode(ServerContext* ctx, const v1::NodeRequest* req,
                         v1::NodeResponse* resp) override {
    return set_state(ctx, req->id(), "draining", resp);
  }

  grpc::Status RemoveNode(ServerContext* ctx, const v1::NodeRequest* req,
                          v1::NodeResponse* resp) override {
    return set_state(ctx, req->id(), "removed", resp);
  }

 private:
  grpc::Status set_state(ServerContext* ctx, uint64_t id, const std::string& state,
                         v1::NodeResponse* resp) {
    std::lock_guard lock(st_->mu);
    std::string subject = "node " + std::to_string(id);
    if (!st_->caller_admin) return fail(ctx, Errc::permission_denied, subject);
    auto it = std::find_if(st_->nodes.begin(), st_->nodes.end(),
                           [&](const v1::Node& n) { return n.id() == id; });
    if (it == st_->nodes.end()) return fail(ctx, Errc::not_found, subject);
    uint64_t held = st_->replicas[id];
    if (state == "removed" && held > 0) {
      return fail_with(ctx, Errc::not_empty,
                       subject + " still holds " + std::to_string(held) +
                           " replicas; run `tessera node drain " + std::to_string(id) +
                           "` and wait until it holds none");
    }
    it->set_state(state);
    *resp->mutable_node() = *it;
    return grpc::Status::OK;
  }

  std::shared_ptr<FakeState> st_;
};

}  // namespace

FakeTessera::FakeTessera() : state_(std::make_shared<FakeState>()) {
  v1::Stat root;
  root.set_path("/");
  root.set_kind(v1::KIND_DIRECTORY);
  root.set_mode(0755);
  state_->objects["/"] = root;
  services_.push_back(std::make_unique<Namespace>(state_));
  services_.push_back(std::make_unique<Files>(state_));
  services_.push_back(std::make_unique<Tables>(state_));
  services_.push_back(std::make_unique<Streams>(state_));
  services_.push_back(std::make_unique<Admin>(state_));
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  for (auto& s : services_) b.RegisterService(s.get());
  server_ = b.BuildAndStart();
  TESSERA_ASSERT(server_ != nullptr && port_ > 0);
}

FakeTessera::~FakeTessera() { server_->Shutdown(); }

std::string FakeTessera::endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

std::unique_ptr<client::Connection> FakeTessera::connect() const {
  client::ConnectionOptions o;
  o.endpoint = endpoint();
  o.credentials.user = "admin";
  o.credentials.key_id = "TK-TEST";
  o.credentials.secret = "secret";
  o.unary_timeout_ms = 10'000;
  return std::make_unique<client::Connection>(std::move(o));
}

}  // namespace tessera::cli::testing
