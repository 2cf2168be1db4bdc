#include "node/node.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/metrics.h"
#include "client/credentials.h"
#include "gateway/http/admin_routes.h"
#include "gateway/http/server.h"
#include "server/backend.h"
#include "server/node_info.h"
#include "server/services.h"
#include "shard/shard_host.h"
#include "storage/engine.h"

namespace tessera::node {
namespace {

constexpr int kGrpcMessageBytesMax = 16 << 20;

Status write_private_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status(Errc::io_error, tmp + ": cannot write");
    out << text;
    out.flush();
    if (!out) return Status(Errc::io_error, tmp + ": write failed");
  }
  ::chmod(tmp.c_str(), 0600);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status(Errc::io_error, path + ": " + ec.message());
  return Status::ok();
}

}  // namespace

struct Node::Impl {
  NodeOptions opts;
  server::NodeInfo info;
  Metrics metrics;
  std::unique_ptr<storage::Engine> engine;
  std::unique_ptr<shard::ShardHost> host;
  std::unique_ptr<server::Backend> backend;
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::unique_ptr<grpc::Server> grpc;
  std::unique_ptr<http::AdminServer> http;
  std::thread housekeeping;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool stopped = false;

  void run_housekeeping() {
    std::unique_lock lk(mu);
    while (!stopping) {
      cv.wait_for(lk, std::chrono::milliseconds(opts.retention_interval_ms));
      if (stopping) break;
      lk.unlock();
      backend->run_retention();
      lk.lock();
    }
  }

  std::string status_json() {
    nlohmann::json j;
    j["node_id"] = info.node_id;
    j["version"] = info.version;
    j["data_dir"] = info.data_dir;
    j["grpc_addr"] = info.grpc_addr;
    j["http_addr"] = info.http_addr;
    j["uptime_ms"] = server::now_ms() - info.started_ms;
    auto stats = host->stats();
    j["log"] = {{"batches", stats.batches}, {"entries", stats.entries}, {"bytes", stats.bytes}};
    auto vols = backend->list_volumes();
    j["volumes"] = nlohmann::json::array();
    if (vols.is_ok()) {
      for (const auto& v : *vols) {
        j["volumes"].push_back({{"path", v.path()},
                                {"id", v.id()},
                                {"shard", v.shard()},
                                {"quota_bytes", v.quota_bytes()},
                                {"used_bytes", v.used_bytes()}});
      }
    }
    return j.dump();
  }

  void register_gauges() {
    metrics.gauge_fn("tessera_storage_disk_bytes", "On-disk bytes of the node's storage engine", {},
                     [this] { return static_cast<double>(engine->disk_bytes()); });
    for (const char* kind : {"files", "tables", "streams"}) {
      std::string k = kind;
      metrics.gauge_fn("tessera_object_bytes", "Bytes held by objects of each kind", {{"kind", k}},
                       [this, k] {
                         double total = 0;
                         auto vols = backend->list_volumes();
                         if (!vols.is_ok()) return total;
                         for (const auto& v : *vols) {
                           auto st = backend->volume_state(ShardId(v.shard()));
                           if (!st.is_ok()) continue;
                           total += static_cast<double>(k == "files"    ? st->files_bytes()
                                                        : k == "tables" ? st->tables_bytes()
                                                                        : st->streams_bytes());
                         }
                         return total;
                       });
    }
    metrics.gauge_fn("tessera_log_batches", "Group-commit batches written", {},
                     [this] { return static_cast<double>(host->stats().batches); });
    metrics.gauge_fn("tessera_log_entries", "Log entries written", {},
                     [this] { return static_cast<double>(host->stats().entries); });
  }
};

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { stop(); }

Result<std::unique_ptr<Node>> Node::start(const NodeOptions& opts) {
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->info.version = "0.1.0";
  impl->info.data_dir = opts.data_dir;
  impl->info.started_ms = server::now_ms();

  storage::EngineOptions eo;
  eo.block_cache_bytes = opts.block_cache_bytes;
  TESSERA_ASSIGN_OR_RETURN(impl->engine, storage::Engine::open(opts.data_dir + "/db", eo));
  shard::ShardHostOptions so;
  so.sync = opts.sync;
  impl->host = std::make_unique<shard::ShardHost>(*impl->engine, so);
  impl->backend = std::make_unique<server::Backend>(*impl->engine, *impl->host, impl->metrics);
  TESSERA_ASSIGN_OR_RETURN(auto fresh_creds, impl->backend->start());

  // gRPC.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(opts.grpc_addr, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kGrpcMessageBytesMax);
  builder.SetMaxSendMessageSize(kGrpcMessageBytesMax);
  impl->services.push_back(server::make_namespace_service(*impl->backend));
  impl->services.push_back(server::make_files_service(*impl->backend));
  impl->services.push_back(server::make_tables_service(*impl->backend));
  impl->services.push_back(server::make_streams_service(*impl->backend));
  impl->services.push_back(server::make_admin_service(*impl->backend, impl->info));
  for (auto& s : impl->services) builder.RegisterService(s.get());
  impl->grpc = builder.BuildAndStart();
  if (!impl->grpc || port == 0) {
    return Status(Errc::unavailable, opts.grpc_addr + ": cannot listen for gRPC");
  }
  std::string host = opts.grpc_addr.substr(0, opts.grpc_addr.rfind(':'));
  impl->info.grpc_addr = host + ":" + std::to_string(port);
  impl->info.node_id = "node-1";

  // Admin HTTP.
  http::AdminRoutes routes;
  Impl* raw = impl.get();
  routes.ready = [raw] { return !raw->stopping; };
  routes.status_json = [raw] { return raw->status_json(); };
  routes.metrics = &impl->metrics;
  TESSERA_ASSIGN_OR_RETURN(impl->http, http::AdminServer::start(opts.http_addr, http::make_admin_handler(routes)));
  impl->info.http_addr = impl->http->address();
  impl->register_gauges();

  if (fresh_creds) {
    client::Credentials c;
    c.user = "admin";
    c.key_id = fresh_creds->key_id;
    c.secret = fresh_creds->secret;
    c.endpoint = impl->info.grpc_addr;
    TESSERA_TRY(write_private_file(opts.data_dir + "/" + std::string(client::kAdminCredentialsFile),
                                   client::format_credentials(c)));
  }
  impl->housekeeping = std::thread([raw] { raw->run_housekeeping(); });
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

const std::string& Node::grpc_address() const { return impl_->info.grpc_addr; }
const std::string& Node::http_address() const { return impl_->info.http_addr; }
std::string Node::admin_credentials_path() const {
  return impl_->opts.data_dir + "/" + std::string(client::kAdminCredentialsFile);
}

void Node::stop() {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->housekeeping.joinable()) impl_->housekeeping.join();
  if (impl_->grpc) impl_->grpc->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (impl_->http) impl_->http->stop();
  impl_->host.reset();  // drains queued proposals
}

}  // namespace tessera::node
