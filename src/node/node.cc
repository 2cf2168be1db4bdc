#include "node/node.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <spdlog/spdlog.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "base/coding.h"
#include "base/metrics.h"
#include "cluster/meta_reader.h"
#include "node/cluster_agent.h"
#include "transport/peer_transport.h"
#include "storage/state_view.h"
#include "client/credentials.h"
#include "cluster/meta_keys.h"
#include "cluster/meta_machine.h"
#include "namespace/volume_machine.h"
#include "gateway/http/admin_routes.h"
#include "gateway/http/server.h"
#include "gateway/kafka/server/broker.h"
#include "server/backend.h"
#include "server/stream_router.h"
#include "server/file_router.h"
#include "server/table_router.h"
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

// This node's identity, kept in the engine under shard 0: "<id> <cluster
// id> <phase>", phase "bootstrapping" until the first start of a new cluster
// has finished, then "member".
struct Identity {
  uint64_t id = 0;
  std::string cluster_id;
  std::string phase;
};

std::string identity_key() { return storage::shard_prefix(ShardId(0)) + std::string("\0node", 5); }

Result<std::optional<Identity>> load_identity(storage::Engine& engine) {
  TESSERA_ASSIGN_OR_RETURN(auto raw, engine.get(storage::Cf::state, identity_key()));
  if (!raw) return std::optional<Identity>();
  Identity id;
  std::istringstream in(*raw);
  in >> id.id >> id.cluster_id >> id.phase;
  if (id.id == 0 || id.phase.empty()) return Status(Errc::corruption, "node identity: unreadable record");
  return std::optional<Identity>(id);
}

Status save_identity(storage::Engine& engine, const Identity& id) {
  storage::WriteBatch wb;
  wb.put(storage::Cf::state, identity_key(),
         std::to_string(id.id) + " " + id.cluster_id + " " + id.phase);
  return engine.write(wb, true);
}

// "host:0" → "host:<a free port>", so the address can be advertised before
// the gRPC server starts.
Result<std::string> with_free_port(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return Status(Errc::invalid_argument, addr + ": expected host:port");
  if (addr.substr(colon + 1) != "0") return addr;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status(Errc::unavailable, "socket: cannot pick a free port");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  socklen_t len = sizeof(sa);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
  ::close(fd);
  if (!ok) return Status(Errc::unavailable, "bind: cannot pick a free port");
  return addr.substr(0, colon + 1) + std::to_string(ntohs(sa.sin_port));
}

}  // namespace

Result<std::map<std::string, std::string>> parse_labels(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return Status(Errc::invalid_argument, "'" + item + "': expected key=value");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
    pos = end + 1;
  }
  return out;
}

struct Node::Impl {
  NodeOptions opts;
  server::NodeInfo info;
  Metrics metrics;
  std::unique_ptr<storage::Engine> engine;
  std::unique_ptr<transport::PeerTransport> transport;
  std::unique_ptr<shard::ShardHost> host;
  std::unique_ptr<server::Backend> backend;
  std::unique_ptr<ClusterAgent> agent;
  Identity identity;
  std::vector<std::unique_ptr<grpc::Service>> services;
  std::unique_ptr<grpc::Server> grpc;
  std::unique_ptr<http::AdminServer> http;
  std::unique_ptr<kafka::Broker> kafka;
  std::thread housekeeping;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool stopped = false;

  // Partition and tablet shards report their usage every second (volume
  // usage and the streams' and tables' sizes lag by about that) and tablets
  // past the split size are queued for splitting; retention runs less often.
  void run_housekeeping() {
    constexpr int64_t kUsageReportMs = 1000;
    const int64_t tick = std::min(kUsageReportMs, opts.retention_interval_ms);
    auto next_retention = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.retention_interval_ms);
    std::unique_lock lk(mu);
    while (!stopping) {
      cv.wait_for(lk, std::chrono::milliseconds(tick));
      if (stopping) break;
      lk.unlock();
      bool retention = std::chrono::steady_clock::now() >= next_retention;
      if (retention) next_retention += std::chrono::milliseconds(opts.retention_interval_ms);
      backend->streams().run_periodic(retention);
      backend->tables().run_periodic();
      backend->files().run_periodic();
      lk.lock();
    }
  }

  std::string status_json() {
    nlohmann::json j;
    j["node_id"] = info.node_id;
    j["cluster_id"] = identity.cluster_id;
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

  // /v1/health, /v1/nodes/ID/ok-to-stop, /v1/nodes/ID/caught-up.
  http::Response cluster_route(const std::string& method, const std::string& target) {
    std::string path = target.substr(0, target.find('?'));
    auto json_error = [](int status, const std::string& msg) {
      return http::Response{status, "application/json", nlohmann::json{{"error", msg}}.dump(), {}};
    };
    if (method != "GET" && method != "HEAD") return json_error(405, "method not allowed");
    Result<std::string> body = Status(Errc::not_found, "not found");
    const std::string nodes = "/v1/nodes/";
    if (path == "/v1/health") {
      body = agent->health_json();
    } else if (path.rfind(nodes, 0) == 0) {
      std::string rest = path.substr(nodes.size());
      auto slash = rest.find('/');
      std::string id = rest.substr(0, slash);
      std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
      bool numeric = !id.empty() && id.size() < 20 && id.find_first_not_of("0123456789") == std::string::npos;
      if (!numeric) return json_error(400, "node id must be a number: '" + id.substr(0, 32) + "'");
      if (what == "ok-to-stop") {
        body = agent->ok_to_stop_json(std::stoull(id));
      } else if (what == "caught-up") {
        body = agent->caught_up_json(std::stoull(id));
      }
    }
    if (!body.is_ok()) {
      if (body.status().code() == Errc::not_found) return json_error(404, "not found: " + path);
      return json_error(503, body.status().to_string());
    }
    return http::Response{200, "application/json", *body, {}};
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
  TESSERA_ASSIGN_OR_RETURN(std::string address, with_free_port(opts.grpc_addr));

  // Who this node is: stored, or new — the first node of a new cluster, or
  // a member added by the cluster it joins.
  TESSERA_ASSIGN_OR_RETURN(auto stored, load_identity(*impl->engine));
  std::optional<internal::JoinReply> joined;
  if (stored) {
    impl->identity = *stored;
    if (!opts.join.empty()) {
      spdlog::info("node {} is already a member of cluster {}; --join ignored", stored->id, stored->cluster_id);
    }
  } else if (opts.join.empty()) {
    impl->identity = Identity{1, cluster::random_hex(8), "bootstrapping"};
    TESSERA_TRY(save_identity(*impl->engine, impl->identity));
  } else {
    TESSERA_ASSIGN_OR_RETURN(joined, ClusterAgent::join(opts.join, address, opts.labels, ""));
    impl->identity = Identity{joined->node().id(), joined->cluster_id(), "member"};
    TESSERA_TRY(save_identity(*impl->engine, impl->identity));
    spdlog::info("joined cluster {} as node {}", impl->identity.cluster_id, impl->identity.id);
  }
  const raft::NodeId self(impl->identity.id);

  transport::PeerTransportOptions to;
  to.cluster_id = impl->identity.cluster_id;
  to.max_message_bytes = kGrpcMessageBytesMax;
  impl->transport = std::make_unique<transport::PeerTransport>(self, to);
  shard::ShardHostOptions so;
  so.self = self;
  so.transport = impl->transport.get();
  so.sync = opts.sync;
  so.tick_ms = opts.raft_tick_ms;
  so.snapshot_bytes_per_s = opts.recovery_rate_mib << 20;
  impl->host = std::make_unique<shard::ShardHost>(
      *impl->engine, so, [](ShardId id) -> std::unique_ptr<shard::StateMachine> {
        if (id == ShardId(cluster::kMetaShard)) return std::make_unique<cluster::MetaMachine>();
        return std::make_unique<ns::VolumeMachine>();
      });
  impl->transport->set_handler(impl->host.get());
  TESSERA_TRY(impl->host->open_existing());
  impl->backend = std::make_unique<server::Backend>(*impl->engine, *impl->host, impl->metrics);
  ClusterAgentOptions ao;
  ao.heartbeat_ms = opts.heartbeat_ms;
  ao.dead_after_ms = opts.node_dead_after_ms;
  ao.down_after_ms = std::max<int64_t>(3 * opts.heartbeat_ms, 1000);
  impl->agent = std::make_unique<ClusterAgent>(self, address, *impl->host, *impl->backend,
                                               *impl->transport, ao);
  impl->backend->set_forwarder(impl->agent.get());
  impl->backend->tables().set_split_bytes(opts.tablet_split_mib << 20);
  impl->backend->set_data_shards(opts.file_data_shards);
  impl->agent->register_methods();
  if (!opts.kafka_addr.empty()) {
    kafka::KafkaOptions ko;
    ko.listen_addr = opts.kafka_addr;
    ko.advertised_addr = opts.kafka_advertised_addr;
    ko.default_stream = opts.kafka_default_stream;
    ko.auto_create_topics = opts.kafka_auto_create;
    ko.default_partitions = opts.kafka_default_partitions;
    ko.allow_anonymous = opts.kafka_allow_anonymous;
    ko.initial_rebalance_delay_ms = opts.kafka_initial_rebalance_delay_ms;
    impl->kafka = std::make_unique<kafka::Broker>(*impl->backend, ko);
    TESSERA_TRY(impl->kafka->bind());
    impl->agent->set_kafka_address(impl->kafka->advertised());
  }
  ClusterAgent* agent = impl->agent.get();
  impl->info.cluster_health_json = [agent] { return agent->health_json(); };
  if (joined) {
    std::map<uint64_t, std::string> seeds;
    for (const auto& n : joined->nodes()) seeds[n.id()] = n.address();
    impl->agent->seed_peers(seeds);
  }

  // gRPC: the native API and the peer service on one address.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kGrpcMessageBytesMax);
  builder.SetMaxSendMessageSize(kGrpcMessageBytesMax);
  impl->services.push_back(server::make_namespace_service(*impl->backend));
  impl->services.push_back(server::make_files_service(*impl->backend));
  impl->services.push_back(server::make_tables_service(*impl->backend));
  impl->services.push_back(server::make_streams_service(*impl->backend));
  impl->services.push_back(server::make_admin_service(*impl->backend, impl->info));
  for (auto& s : impl->services) builder.RegisterService(s.get());
  builder.RegisterService(impl->transport->service());
  impl->grpc = builder.BuildAndStart();
  if (!impl->grpc || port == 0) {
    return Status(Errc::unavailable, address + ": cannot listen for gRPC");
  }
  impl->info.grpc_addr = address;
  impl->info.node_id = "node-" + std::to_string(self.value);

  std::optional<server::AdminCredentials> fresh_creds;
  if (impl->identity.phase == "bootstrapping") {
    TESSERA_ASSIGN_OR_RETURN(auto creds, impl->backend->bootstrap(impl->identity.cluster_id, address, opts.labels));
    fresh_creds = creds;
  }
  // The agent first: a joining node receives the meta shard only after its
  // heartbeats reach the meta leader.
  impl->agent->start();
  TESSERA_TRY(impl->backend->start(joined ? 120000 : 30000));

  // Admin HTTP.
  http::AdminRoutes routes;
  Impl* raw = impl.get();
  routes.ready = [raw] { return !raw->stopping && raw->backend->ready(); };
  routes.status_json = [raw] { return raw->status_json(); };
  routes.metrics = &impl->metrics;
  routes.extra = [raw](const std::string& method, const std::string& target, const std::string&) {
    return raw->cluster_route(method, target);
  };
  TESSERA_ASSIGN_OR_RETURN(impl->http, http::AdminServer::start(opts.http_addr, http::make_admin_handler(routes)));
  impl->info.http_addr = impl->http->address();
  impl->register_gauges();
  if (impl->kafka) TESSERA_TRY(impl->kafka->start());

  if (fresh_creds) {
    client::Credentials c;
    c.user = "admin";
    c.key_id = fresh_creds->key_id;
    c.secret = fresh_creds->secret;
    c.endpoint = impl->info.grpc_addr;
    TESSERA_TRY(write_private_file(opts.data_dir + "/" + std::string(client::kAdminCredentialsFile),
                                   client::format_credentials(c)));
    impl->identity.phase = "member";
    TESSERA_TRY(save_identity(*impl->engine, impl->identity));
  }
  impl->housekeeping = std::thread([raw] { raw->run_housekeeping(); });
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

const std::string& Node::grpc_address() const { return impl_->info.grpc_addr; }
const std::string& Node::http_address() const { return impl_->info.http_addr; }
std::string Node::kafka_address() const { return impl_->kafka ? impl_->kafka->address() : std::string(); }
uint64_t Node::node_id() const { return impl_->identity.id; }
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
  if (impl_->backend) impl_->backend->tables().stop();
  if (impl_->kafka) impl_->kafka->stop();
  if (impl_->agent) impl_->agent->stop();
  if (impl_->transport) impl_->transport->stop();
  if (impl_->grpc) impl_->grpc->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (impl_->http) impl_->http->stop();
  if (impl_->transport) impl_->transport->set_handler(nullptr);
  impl_->host.reset();  // fails what is still queued
}

}  // namespace tessera::node
