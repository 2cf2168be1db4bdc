#include "gateway/kafka/server/broker.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "cluster/meta_reader.h"
#include "gateway/http/address.h"
#include "gateway/kafka/server/session.h"
#include "server/backend.h"
#include "server/stream_router.h"
#include "shard/shard_host.h"
#include "storage/state_view.h"

namespace tessera::kafka {
namespace {

constexpr uint64_t kMetaShard = 1;
constexpr uint32_t kAnonymousUid = 0xFFFFFFFEu;

GroupCoordinatorOptions coordinator_options(const KafkaOptions& o) {
  GroupCoordinatorOptions g;
  g.initial_rebalance_delay_ms = o.initial_rebalance_delay_ms;
  return g;
}

}  // namespace

internal::Principal anonymous_principal() {
  internal::Principal p;
  p.set_uid(kAnonymousUid);
  p.set_name("anonymous");
  return p;
}

Broker::Broker(server::Backend& backend, KafkaOptions opts)
    : backend_(backend), opts_(std::move(opts)), groups_(coordinator_options(opts_)) {}

Broker::~Broker() { stop(); }

Status Broker::bind() {
  ListenerOptions lo;
  lo.max_frame_bytes = opts_.max_frame_bytes;
  TESSERA_ASSIGN_OR_RETURN(listener_, Listener::bind(opts_.listen_addr, lo));
  return Status::ok();
}

Status Broker::start() {
  if (!listener_) TESSERA_TRY(bind());
  if (Status st = ensure_stream(backend_.node_principal(), opts_.default_stream, 0777); !st.is_ok()) {
    spdlog::warn("kafka: default stream {}: {}", opts_.default_stream, st.to_string());
  }
  ticker_ = std::thread([this] { run_ticker(); });
  listener_->serve([this](const std::string& peer) { return std::make_unique<Session>(*this, peer); });
  spdlog::info("kafka: listening on {} (advertised {})", address(), advertised());
  return Status::ok();
}

void Broker::stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (listener_) listener_->stop();
  if (ticker_.joinable()) ticker_.join();
  groups_.unload_all();
}

std::string Broker::address() const { return listener_ ? listener_->address() : std::string(); }

std::string Broker::advertised() const {
  return opts_.advertised_addr.empty() ? address() : opts_.advertised_addr;
}

int64_t Broker::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Fires the group timers, and drops every group when this node stops being
// the coordinator (their members find the new one and rejoin there).
void Broker::run_ticker() {
  std::unique_lock lk(mu_);
  while (!stopping_.load()) {
    cv_.wait_for(lk, std::chrono::milliseconds(100));
    lk.unlock();
    const bool coordinator = is_coordinator();
    if (was_coordinator_.exchange(coordinator) && !coordinator) {
      spdlog::info("kafka: node {} no longer coordinates groups", node_id());
      groups_.unload_all();
    }
    groups_.tick(now_ms());
    lk.lock();
  }
}

int32_t Broker::node_id() const { return static_cast<int32_t>(backend_.host().self().value); }

int32_t Broker::coordinator_id() const {
  auto leader = backend_.host().leader(ShardId(kMetaShard));
  return leader == raft::kNoNode ? -1 : static_cast<int32_t>(leader.value);
}

std::vector<BrokerNode> Broker::brokers() const {
  std::vector<BrokerNode> out;
  auto snap = backend_.snapshot();
  storage::SnapshotReader sr(*snap, ShardId(kMetaShard));
  cluster::MetaReader meta(sr);
  auto nodes = meta.nodes();
  bool self_listed = false;
  auto add = [&](uint64_t id, const std::string& addr, const auto& labels) {
    auto hp = http::parse_host_port(addr);
    if (!hp.is_ok()) return;
    BrokerNode b;
    b.node_id = static_cast<int32_t>(id);
    b.host = hp->host;
    b.port = hp->port;
    auto zone = labels.find("zone");
    if (zone != labels.end()) b.rack = zone->second;
    out.push_back(std::move(b));
  };
  if (nodes.is_ok()) {
    for (const auto& n : *nodes) {
      if (n.state() == internal::NodeRecord::REMOVED) continue;
      std::string addr = n.kafka_address();
      // This node's record learns its address with the next heartbeat.
      if (static_cast<int32_t>(n.id()) == node_id()) {
        addr = advertised();
        self_listed = true;
      }
      if (!addr.empty()) add(n.id(), addr, n.labels());
    }
  }
  if (!self_listed) add(static_cast<uint64_t>(node_id()), advertised(), std::map<std::string, std::string>());
  return out;
}

std::string Broker::cluster_id() const {
  auto snap = backend_.snapshot();
  storage::SnapshotReader sr(*snap, ShardId(kMetaShard));
  return cluster::MetaReader(sr).cluster_id();
}

PartitionPlacement Broker::placement(uint64_t shard) const {
  PartitionPlacement p;
  if (auto st = backend_.host().status(ShardId(shard))) {
    if (st->leader != raft::kNoNode) p.leader = static_cast<int32_t>(st->leader.value);
    for (auto v : st->conf.voters) p.replicas.push_back(static_cast<int32_t>(v.value));
    for (auto l : st->conf.learners) p.replicas.push_back(static_cast<int32_t>(l.value));
    if (st->role == raft::Role::leader) {
      // In sync: the leader and every voter it heard from recently that has
      // what the leader committed.
      for (auto v : st->conf.voters) {
        auto it = st->progress.find(v);
        if (v == st->leader ||
            (it != st->progress.end() && it->second.recently_active && it->second.match >= st->commit)) {
          p.isr.push_back(static_cast<int32_t>(v.value));
        }
      }
    } else {
      for (auto v : st->conf.voters) p.isr.push_back(static_cast<int32_t>(v.value));
    }
    return p;
  }
  if (auto* f = backend_.forwarder()) {
    if (auto loc = f->location(ShardId(shard))) {
      if (loc->leader() != 0) p.leader = static_cast<int32_t>(loc->leader());
      for (auto r : loc->replicas()) p.replicas.push_back(static_cast<int32_t>(r));
      p.isr = p.replicas;
    }
  }
  return p;
}

Status Broker::ensure_stream(const internal::Principal& who, const std::string& path, uint32_t mode) {
  auto made = backend_.create_object(who, path, tessera::v1::ObjectKind::KIND_STREAM, mode);
  if (made.is_ok() || made.status().code() == Errc::already_exists) return Status::ok();
  return made.status();
}

Result<ResolvedTopic> Broker::resolve(const internal::Principal& who, std::string_view name, int want,
                                      bool create) {
  TESSERA_ASSIGN_OR_RETURN(auto tn, parse_topic_name(name, opts_.default_stream));
  TESSERA_ASSIGN_OR_RETURN(tn.stream, server::Backend::normalise(tn.stream));
  auto t = backend_.streams().open_topic(who, tn.stream, tn.topic, want);
  if (!t.is_ok() && t.status().code() == Errc::not_found && create && opts_.auto_create_topics) {
    Status made = create_topic(who, name, 0);
    if (!made.is_ok() && made.code() != Errc::already_exists) return made;
    t = backend_.streams().open_topic(who, tn.stream, tn.topic, want);
  }
  if (!t.is_ok()) return t.status();
  return ResolvedTopic{std::move(tn), *std::move(t)};
}

Status Broker::create_topic(const internal::Principal& who, std::string_view name, int32_t partitions) {
  TESSERA_ASSIGN_OR_RETURN(auto tn, parse_topic_name(name, opts_.default_stream));
  TESSERA_ASSIGN_OR_RETURN(tn.stream, server::Backend::normalise(tn.stream));
  if (tn.stream != opts_.default_stream) TESSERA_TRY(ensure_stream(who, tn.stream, 0));
  const uint32_t n = partitions <= 0 ? opts_.default_partitions : static_cast<uint32_t>(partitions);
  return backend_.streams().create_topic(who, tn.stream, tn.topic, n);
}

Result<std::vector<std::string>> Broker::list_topics(const internal::Principal& who) {
  TESSERA_ASSIGN_OR_RETURN(auto listed, backend_.streams().list_topics(who, opts_.default_stream));
  std::vector<std::string> names;
  for (const auto& t : listed.topics()) names.push_back(t.name());
  return names;
}

}  // namespace tessera::kafka
