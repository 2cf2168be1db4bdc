#include "node/cluster_agent.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <nlohmann/json.hpp>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "node/shard_locations.h"
#include "server/stream_router.h"
#include "server/file_router.h"
#include "server/table_router.h"
#include "shard/shard_host.h"
#include "transport/peer_transport.h"

namespace tessera::node {
namespace {

const ShardId kMeta(cluster::kMetaShard);
constexpr int64_t kCallTimeoutMs = 12000;
constexpr int64_t kChangeTimeoutMs = 10000;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

internal::Principal node_principal() {
  internal::Principal p;
  p.set_uid(cluster::kAdminUid);
  p.add_gids(cluster::kAdminGid);
  p.set_admin(true);
  p.set_name("tesserad");
  return p;
}

internal::CommandResult refusal(Errc code, std::string message) {
  internal::CommandResult r;
  r.set_errc(static_cast<uint32_t>(code));
  r.set_message(std::move(message));
  return r;
}

template <typename T>
Result<T> parse(const std::string& bytes, std::string_view what) {
  T msg;
  if (!msg.ParseFromString(bytes)) return Status(Errc::invalid_argument, std::string(what) + ": malformed request");
  return msg;
}

nlohmann::json to_json(const cluster::OkToStop& a) {
  return {{"ok", a.ok}, {"reasons", a.reasons}};
}

raft::ConfChange to_conf_change(const internal::ChangeReplicas& c) {
  raft::ConfChange cc;
  cc.node = raft::NodeId(c.node());
  switch (c.type()) {
    case internal::ChangeReplicas::PROMOTE: cc.type = raft::ConfChangeType::promote; break;
    case internal::ChangeReplicas::REMOVE: cc.type = raft::ConfChangeType::remove; break;
    default: cc.type = raft::ConfChangeType::add_learner; break;
  }
  return cc;
}

}  // namespace

ClusterAgent::ClusterAgent(raft::NodeId self, std::string address, shard::ShardHost& host,
                           server::Backend& backend, transport::PeerTransport& transport,
                           ClusterAgentOptions opts)
    : self_(self),
      address_(std::move(address)),
      host_(host),
      backend_(backend),
      transport_(transport),
      opts_(opts) {}

ClusterAgent::~ClusterAgent() { stop(); }

void ClusterAgent::register_methods() {
  transport_.register_method("join", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto n, parse<internal::NodeRecord>(req, "join"));
    internal::Command cmd;
    auto* op = cmd.mutable_register_node();
    op->set_node_id(n.id());
    op->set_address(n.address());
    *op->mutable_labels() = n.labels();
    auto r = backend_.propose(kMeta, cmd, node_principal());
    if (r.errc() != 0) return Status(static_cast<Errc>(r.errc()), r.message());
    TESSERA_TRY(backend_.read_barrier(kMeta));
    internal::JoinReply reply;
    *reply.mutable_node() = r.node();
    auto snap = host_.snapshot();
    storage::SnapshotReader sr(*snap, kMeta);
    cluster::MetaReader meta(sr);
    reply.set_cluster_id(meta.cluster_id());
    TESSERA_ASSIGN_OR_RETURN(auto nodes, meta.nodes());
    for (auto& node : nodes) *reply.add_nodes() = std::move(node);
    spdlog::info("node {} joined from {}", r.node().id(), r.node().address());
    return reply.SerializeAsString();
  });
  transport_.register_method("propose", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto fp, parse<internal::ForwardProposal>(req, "propose"));
    // The host only: a forwarded proposal is never forwarded again.
    return host_.propose_wait(ShardId(fp.shard()), fp.command()).SerializeAsString();
  });
  transport_.register_method("read_index", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto ref, parse<internal::ShardRef>(req, "read_index"));
    TESSERA_ASSIGN_OR_RETURN(LogIndex index, host_.read_index(ShardId(ref.shard()), kChangeTimeoutMs));
    internal::ReadIndexReply reply;
    reply.set_index(index.value);
    return reply.SerializeAsString();
  });
  transport_.register_method("partition_read", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto r, parse<internal::PartitionRead>(req, "partition_read"));
    TESSERA_ASSIGN_OR_RETURN(auto reply, backend_.streams().read_local(r));
    return reply.SerializeAsString();
  });
  transport_.register_method("chunk_read", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto r, parse<internal::ChunkRead>(req, "chunk_read"));
    TESSERA_ASSIGN_OR_RETURN(auto reply, backend_.files().read_local(r));
    return reply.SerializeAsString();
  });
  transport_.register_method("tablet_read", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto r, parse<internal::TabletRead>(req, "tablet_read"));
    TESSERA_ASSIGN_OR_RETURN(auto reply, backend_.tables().read_local(r));
    return reply.SerializeAsString();
  });
  transport_.register_method("change_replicas", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto c, parse<internal::ChangeReplicas>(req, "change_replicas"));
    TESSERA_TRY(host_.change_replicas(ShardId(c.shard()), to_conf_change(c), kChangeTimeoutMs));
    return std::string();
  });
  transport_.register_method("transfer_leader", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto c, parse<internal::ChangeReplicas>(req, "transfer_leader"));
    TESSERA_TRY(host_.transfer_leader(ShardId(c.shard()), raft::NodeId(c.node())));
    return std::string();
  });
  transport_.register_method("heartbeat", [this](raft::NodeId, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto hb, parse<internal::Heartbeat>(req, "heartbeat"));
    raft::NodeId leader = meta_leader();
    if (leader == self_) {
      record(hb);
      return locations_reply().SerializeAsString();
    }
    // A node that does not know the meta leader yet (it is joining) sends
    // its heartbeat to any member; members pass it on, once.
    if (leader == raft::kNoNode || hb.forwarded()) {
      return Status(Errc::not_leader, "this node does not lead the meta shard");
    }
    std::string addr = address_of(leader);
    if (addr.empty()) return Status(Errc::not_leader, "meta leader's address unknown");
    hb.set_forwarded(true);
    return transport_.call(addr, "heartbeat", hb.SerializeAsString(), opts_.heartbeat_ms);
  });
  transport_.register_method("drop_replica", [this](raft::NodeId from, const std::string& req) -> Result<std::string> {
    TESSERA_ASSIGN_OR_RETURN(auto ref, parse<internal::ShardRef>(req, "drop_replica"));
    spdlog::info("shard {}: the meta leader (node {}) reports this replica was removed from its group",
                 ref.shard(), from.value);
    TESSERA_TRY(host_.remove_replica(ShardId(ref.shard())));
    return std::string();
  });
  for (const char* m : {"health", "ok_to_stop", "caught_up"}) {
    std::string method = m;
    transport_.register_method(method, [this, method](raft::NodeId, const std::string& req) -> Result<std::string> {
      if (meta_leader() != self_) return Status(Errc::not_leader, "this node does not lead the meta shard");
      return local_answer(method, req);
    });
  }
}

void ClusterAgent::seed_peers(const std::map<uint64_t, std::string>& addresses) {
  std::lock_guard lk(mu_);
  for (const auto& [id, addr] : addresses) {
    addresses_[id] = addr;
    if (id != self_.value) transport_.set_peer(raft::NodeId(id), addr);
  }
}

void ClusterAgent::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void ClusterAgent::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ClusterAgent::run() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    lk.unlock();
    refresh_peers();
    send_heartbeat();
    control();
    lk.lock();
    cv_.wait_for(lk, std::chrono::milliseconds(opts_.heartbeat_ms), [&] { return stopping_; });
  }
}

raft::NodeId ClusterAgent::meta_leader() const { return host_.leader(kMeta); }

void ClusterAgent::refresh_peers() {
  if (!host_.has_shard(kMeta)) return;  // a joining node: the seeds stand
  LogIndex index = host_.applied_index(kMeta);
  {
    std::lock_guard lk(mu_);
    if (index == addresses_index_) return;
  }
  auto snap = host_.snapshot();
  storage::SnapshotReader sr(*snap, kMeta);
  auto nodes = cluster::MetaReader(sr).nodes();
  if (!nodes.is_ok()) return;
  std::map<uint64_t, std::string> next;
  for (const auto& n : *nodes) {
    if (n.state() == internal::NodeRecord::REMOVED) continue;
    next[n.id()] = n.address();
  }
  std::map<uint64_t, std::string> prev;
  {
    std::lock_guard lk(mu_);
    prev.swap(addresses_);
    addresses_ = next;
    addresses_index_ = index;
  }
  for (const auto& [id, addr] : next) {
    if (id != self_.value && prev[id] != addr) transport_.set_peer(raft::NodeId(id), addr);
  }
  for (const auto& [id, addr] : prev) {
    if (next.count(id) == 0 && id != self_.value) transport_.remove_peer(raft::NodeId(id));
  }
}

std::string ClusterAgent::address_of(raft::NodeId node) {
  if (node == self_) return address_;
  {
    std::lock_guard lk(mu_);
    auto it = addresses_.find(node.value);
    if (it != addresses_.end()) return it->second;
  }
  refresh_peers();
  std::lock_guard lk(mu_);
  auto it = addresses_.find(node.value);
  return it == addresses_.end() ? std::string() : it->second;
}

Result<internal::CommandResult> ClusterAgent::propose(raft::NodeId node, ShardId shard,
                                                      const internal::Command& cmd) {
  std::string addr = address_of(node);
  if (addr.empty()) {
    return refusal(Errc::not_leader, "shard " + std::to_string(shard.value) + ": leader node " +
                                         std::to_string(node.value) + " has no known address");
  }
  internal::ForwardProposal fp;
  fp.set_shard(shard.value);
  *fp.mutable_command() = cmd;
  TESSERA_ASSIGN_OR_RETURN(auto bytes, transport_.call(addr, "propose", fp.SerializeAsString(), kCallTimeoutMs));
  internal::CommandResult r;
  if (!r.ParseFromString(bytes)) return Status(Errc::corruption, "propose: malformed reply from node " + std::to_string(node.value));
  return r;
}

Result<LogIndex> ClusterAgent::read_index(raft::NodeId node, ShardId shard) {
  std::string addr = address_of(node);
  if (addr.empty()) return Status(Errc::not_leader, "node " + std::to_string(node.value) + " has no known address");
  internal::ShardRef ref;
  ref.set_shard(shard.value);
  TESSERA_ASSIGN_OR_RETURN(auto bytes, transport_.call(addr, "read_index", ref.SerializeAsString(), kCallTimeoutMs));
  internal::ReadIndexReply reply;
  if (!reply.ParseFromString(bytes)) return Status(Errc::corruption, "read_index: malformed reply");
  return LogIndex(reply.index());
}

namespace {

// A read call to a peer: `method` with `req`, its reply parsed as Reply.
template <typename Reply>
Result<Reply> peer_read(transport::PeerTransport& transport, const std::string& addr, raft::NodeId node,
                        const char* method, const google::protobuf::Message& req, int64_t timeout_ms) {
  if (addr.empty()) return Status(Errc::not_leader, "node " + std::to_string(node.value) + " has no known address");
  TESSERA_ASSIGN_OR_RETURN(auto bytes, transport.call(addr, method, req.SerializeAsString(), timeout_ms));
  Reply reply;
  if (!reply.ParseFromString(bytes)) return Status(Errc::corruption, std::string(method) + ": malformed reply");
  return reply;
}

}  // namespace

Result<internal::PartitionReadReply> ClusterAgent::partition_read(raft::NodeId node,
                                                                  const internal::PartitionRead& req) {
  return peer_read<internal::PartitionReadReply>(transport_, address_of(node), node, "partition_read", req,
                                                 kCallTimeoutMs + req.max_wait_ms());
}

Result<internal::ChunkReadReply> ClusterAgent::chunk_read(raft::NodeId node, const internal::ChunkRead& req) {
  return peer_read<internal::ChunkReadReply>(transport_, address_of(node), node, "chunk_read", req, kCallTimeoutMs);
}

Result<internal::TabletReadReply> ClusterAgent::tablet_read(raft::NodeId node, const internal::TabletRead& req) {
  return peer_read<internal::TabletReadReply>(transport_, address_of(node), node, "tablet_read", req, kCallTimeoutMs);
}

internal::Heartbeat ClusterAgent::make_heartbeat() const {
  internal::Heartbeat hb;
  hb.set_node(self_.value);
  hb.set_address(address_);
  {
    std::lock_guard lk(kafka_mu_);
    hb.set_kafka_address(kafka_address_);
  }
  for (const auto& st : host_.status_all()) {
    auto* r = hb.add_shards();
    r->set_shard(st.id.value);
    r->set_leader(st.role == raft::Role::leader);
    r->set_term(st.term.value);
    r->set_commit(st.commit.value);
    r->set_applied(st.applied.value);
    for (auto v : st.conf.voters) r->add_voters(v.value);
    for (auto l : st.conf.learners) r->add_learners(l.value);
    for (const auto& [peer, p] : st.progress) {
      auto* pp = r->add_progress();
      pp->set_node(peer.value);
      pp->set_match(p.match.value);
      pp->set_active(p.recently_active);
    }
  }
  return hb;
}

void ClusterAgent::record(const internal::Heartbeat& hb) {
  std::lock_guard lk(mu_);
  reports_[hb.node()] = Report{hb, steady_ms()};
}

void ClusterAgent::send_heartbeat() {
  auto hb = make_heartbeat();
  raft::NodeId leader = meta_leader();
  if (leader == self_) {
    std::lock_guard lk(mu_);
    if (leader_since_ms_ == 0) leader_since_ms_ = steady_ms();
  } else {
    std::lock_guard lk(mu_);
    leader_since_ms_ = 0;
    reports_.clear();
    busy_until_ms_.clear();
  }
  if (leader == self_) {
    record(hb);
    cache_locations(locations_reply());
    return;
  }
  std::string addr;
  if (leader != raft::kNoNode) {
    addr = address_of(leader);
  } else {
    // Not in the meta group yet: any member passes it on to the leader.
    std::lock_guard lk(mu_);
    for (const auto& [id, a] : addresses_) {
      if (id != self_.value) {
        addr = a;
        break;
      }
    }
  }
  if (addr.empty()) return;
  auto r = transport_.call(addr, "heartbeat", hb.SerializeAsString(), opts_.heartbeat_ms);
  if (!r.is_ok()) {
    spdlog::debug("heartbeat to node {}: {}", leader.value, r.status().to_string());
    return;
  }
  internal::HeartbeatReply reply;
  if (!reply.ParseFromString(*r)) {
    spdlog::warn("heartbeat to node {}: malformed reply", leader.value);
    return;
  }
  cache_locations(reply);
}

internal::HeartbeatReply ClusterAgent::locations_reply() {
  std::lock_guard lk(mu_);
  int64_t now = steady_ms();
  std::vector<const internal::Heartbeat*> fresh;
  for (const auto& [node, rep] : reports_) {
    if (now - rep.received_ms < opts_.down_after_ms) fresh.push_back(&rep.heartbeat);
  }
  auto reply = locate_shards(fresh);
  auto& addresses = *reply.mutable_addresses();
  for (const auto& loc : reply.shards()) {
    for (uint64_t n : candidates(loc, 0)) {
      if (addresses.count(n) != 0) continue;
      auto it = addresses_.find(n);
      auto rep = reports_.find(n);
      if (it != addresses_.end()) {
        addresses[n] = it->second;
      } else if (rep != reports_.end() && !rep->second.heartbeat.address().empty()) {
        addresses[n] = rep->second.heartbeat.address();
      }
    }
  }
  return reply;
}

void ClusterAgent::cache_locations(const internal::HeartbeatReply& reply) {
  std::lock_guard lk(mu_);
  locations_.clear();
  for (const auto& loc : reply.shards()) locations_[loc.shard()] = loc;
  location_addresses_.clear();
  for (const auto& [id, addr] : reply.addresses()) location_addresses_[id] = addr;
}

void ClusterAgent::set_kafka_address(std::string address) {
  std::lock_guard lk(kafka_mu_);
  kafka_address_ = std::move(address);
}

std::optional<internal::ShardLocation> ClusterAgent::location(ShardId shard) {
  std::lock_guard lk(mu_);
  auto it = locations_.find(shard.value);
  if (it == locations_.end()) return std::nullopt;
  return it->second;
}

std::optional<server::ReplicaRef> ClusterAgent::locate(ShardId shard) {
  std::lock_guard lk(mu_);
  auto it = locations_.find(shard.value);
  if (it == locations_.end()) return std::nullopt;
  for (uint64_t n : candidates(it->second, self_.value)) {
    auto a = addresses_.find(n);
    std::string addr = a != addresses_.end() ? a->second : std::string();
    if (addr.empty()) {
      auto b = location_addresses_.find(n);
      if (b != location_addresses_.end()) addr = b->second;
    }
    if (addr.empty()) continue;
    return server::ReplicaRef{raft::NodeId(n), addr, n == it->second.leader()};
  }
  return std::nullopt;
}

cluster::ClusterView ClusterAgent::build_view() {
  cluster::ClusterView view;
  auto snap = host_.snapshot();
  storage::SnapshotReader sr(*snap, kMeta);
  cluster::MetaReader meta(sr);
  auto nodes = meta.nodes();
  auto volumes = meta.volumes();
  auto shards = meta.shards();
  if (!nodes.is_ok() || !volumes.is_ok() || !shards.is_ok()) return view;
  std::lock_guard lk(mu_);
  int64_t now = steady_ms();
  for (const auto& n : *nodes) {
    cluster::NodeView v;
    v.id = n.id();
    v.address = n.address();
    for (const auto& [k, val] : n.labels()) v.labels[k] = val;
    v.state = n.state() == internal::NodeRecord::DRAINING  ? cluster::NodeView::State::draining
              : n.state() == internal::NodeRecord::REMOVED ? cluster::NodeView::State::removed
                                                           : cluster::NodeView::State::active;
    // Silence counts from when this node began to lead the meta shard.
    int64_t last = leader_since_ms_;
    auto it = reports_.find(n.id());
    if (it != reports_.end()) last = std::max(last, it->second.received_ms);
    if (n.id() == self_.value) last = now;
    v.up = now - last < opts_.down_after_ms;
    v.dead = now - last >= opts_.dead_after_ms;
    view.nodes.push_back(std::move(v));
  }
  // Shard membership and progress as their leaders last reported them.
  std::map<uint64_t, const internal::ShardReport*> leading;
  std::map<uint64_t, uint64_t> leader_of;
  for (const auto& [node, rep] : reports_) {
    if (now - rep.received_ms >= opts_.down_after_ms) continue;
    for (const auto& s : rep.heartbeat.shards()) {
      if (!s.leader()) continue;
      auto it = leading.find(s.shard());
      if (it == leading.end() || s.term() > it->second->term()) {
        leading[s.shard()] = &s;
        leader_of[s.shard()] = node;
      }
    }
  }
  auto shard_view = [&](uint64_t shard, const char* kind, uint32_t replication, std::string group) {
    cluster::ShardView v;
    v.shard = shard;
    v.meta = shard == cluster::kMetaShard;
    v.kind = kind;
    v.group = std::move(group);
    v.replication = replication;
    auto it = leading.find(shard);
    if (it != leading.end()) {
      const auto& s = *it->second;
      v.leader = leader_of[shard];
      v.term = s.term();
      v.commit = s.commit();
      v.voters.assign(s.voters().begin(), s.voters().end());
      v.learners.assign(s.learners().begin(), s.learners().end());
      for (const auto& p : s.progress()) v.match[p.node()] = p.match();
      v.match[v.leader] = v.commit;
    }
    view.shards.push_back(std::move(v));
  };
  shard_view(cluster::kMetaShard, "meta", 0, "meta");
  for (const auto& vol : *volumes) shard_view(vol.shard(), "volume", vol.replication(), "volumes");
  for (const auto& rec : *shards) {
    shard_view(rec.id(), cluster::shard_kind(rec), rec.replication(), cluster::shard_group(rec));
  }
  return view;
}

void ClusterAgent::control() {
  int64_t now = steady_ms();
  {
    std::lock_guard lk(mu_);
    // Wait for every node's first heartbeat before judging anyone.
    if (leader_since_ms_ == 0 || now - leader_since_ms_ < 2 * opts_.heartbeat_ms) return;
  }
  update_addresses();
  drop_stale_replicas();
  remove_abandoned_shards();
  auto view = build_view();
  for (const auto& a : cluster::plan(view)) {
    {
      std::lock_guard lk(mu_);
      auto& busy = busy_until_ms_[a.shard];
      if (busy > now) continue;
      // The next round must see this action's effect in the leader's report.
      busy = now + 2 * opts_.heartbeat_ms;
    }
    spdlog::info("placement: shard {}: {} node {} ({})", a.shard,
                 a.kind == cluster::Action::Kind::add_learner ? "add learner"
                 : a.kind == cluster::Action::Kind::promote   ? "promote"
                 : a.kind == cluster::Action::Kind::remove    ? "remove"
                                                              : "transfer leadership to",
                 a.node, a.reason);
    internal::ChangeReplicas c;
    c.set_shard(a.shard);
    c.set_node(a.node);
    std::string method = "change_replicas";
    switch (a.kind) {
      case cluster::Action::Kind::add_learner: c.set_type(internal::ChangeReplicas::ADD_LEARNER); break;
      case cluster::Action::Kind::promote: c.set_type(internal::ChangeReplicas::PROMOTE); break;
      case cluster::Action::Kind::remove: c.set_type(internal::ChangeReplicas::REMOVE); break;
      case cluster::Action::Kind::transfer_leader: method = "transfer_leader"; break;
    }
    Status st;
    if (raft::NodeId(a.leader) == self_) {
      st = method == "transfer_leader"
               ? host_.transfer_leader(ShardId(a.shard), raft::NodeId(a.node))
               : host_.change_replicas(ShardId(a.shard), to_conf_change(c), kChangeTimeoutMs);
    } else {
      std::string addr = address_of(raft::NodeId(a.leader));
      st = addr.empty() ? Status(Errc::unavailable, "no address for node " + std::to_string(a.leader))
                        : transport_.call(addr, method, c.SerializeAsString(), kChangeTimeoutMs).status();
    }
    if (!st.is_ok()) spdlog::warn("placement: shard {}: {}", a.shard, st.to_string());
  }
}

void ClusterAgent::update_addresses() {
  auto snap = host_.snapshot();
  storage::SnapshotReader sr(*snap, kMeta);
  cluster::MetaReader meta(sr);
  auto nodes = meta.nodes();
  if (!nodes.is_ok()) return;
  std::vector<internal::Command> updates;
  {
    std::lock_guard lk(mu_);
    for (const auto& n : *nodes) {
      auto it = reports_.find(n.id());
      if (it == reports_.end() || n.state() == internal::NodeRecord::REMOVED) continue;
      const std::string& reported = it->second.heartbeat.address();
      const std::string& kafka = it->second.heartbeat.kafka_address();
      if (reported.empty() || (reported == n.address() && kafka == n.kafka_address())) continue;
      internal::Command cmd;
      auto* op = cmd.mutable_register_node();
      op->set_node_id(n.id());
      op->set_address(reported);
      op->set_kafka_address(kafka);
      *op->mutable_labels() = n.labels();
      updates.push_back(std::move(cmd));
    }
  }
  for (const auto& cmd : updates) {
    spdlog::info("node {} now listens on {} (kafka: {})", cmd.register_node().node_id(),
                 cmd.register_node().address(), cmd.register_node().kafka_address());
    auto r = backend_.propose(kMeta, cmd, node_principal());
    if (r.errc() != 0) spdlog::warn("node {}: cannot record its new address: {}", cmd.register_node().node_id(), r.message());
  }
}

void ClusterAgent::remove_abandoned_shards() {
  // Creating a topic takes seconds; a shard still not ready after this long
  // lost its creator (no topic refers to it: that comes after ready). A
  // volume's data shards live and die with its record: the volume's initial
  // node finishes their creation whenever it starts.
  constexpr int64_t kAbandonedAfterMs = 120000;
  internal::Command cmd;
  {
    auto snap = host_.snapshot();
    storage::SnapshotReader sr(*snap, kMeta);
    auto shards = cluster::MetaReader(sr).shards();
    if (!shards.is_ok()) return;
    for (const auto& rec : *shards) {
      if (!rec.ready() && !rec.file_data() && server::now_ms() - rec.created_ms() >= kAbandonedAfterMs) {
        cmd.mutable_remove_shards()->add_shards(rec.id());
      }
    }
  }
  if (!cmd.has_remove_shards()) return;
  spdlog::info("placement: removing {} shards whose creation never finished",
               cmd.remove_shards().shards_size());
  auto r = backend_.propose(kMeta, cmd, node_principal());
  if (r.errc() != 0) spdlog::warn("placement: removing abandoned shards: {}", r.message());
}

void ClusterAgent::drop_stale_replicas() {
  int64_t now = steady_ms();
  // Shards the meta shard knows. An id below next_shard that is not among
  // them was allocated once and has since been removed.
  std::set<uint64_t> known{cluster::kMetaShard};
  uint64_t next_shard = 0;
  {
    auto snap = host_.snapshot();
    storage::SnapshotReader sr(*snap, kMeta);
    cluster::MetaReader meta(sr);
    auto volumes = meta.volumes();
    auto shards = meta.shards();
    if (volumes.is_ok() && shards.is_ok()) {
      for (const auto& v : *volumes) known.insert(v.shard());
      for (const auto& rec : *shards) known.insert(rec.id());
      next_shard = meta.next_shard();
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> drop;  // (node, shard)
  {
    std::lock_guard lk(mu_);
    // Each shard's membership as its (highest-term) leader reports it.
    std::map<uint64_t, const internal::ShardReport*> leading;
    for (const auto& [node, rep] : reports_) {
      if (now - rep.received_ms >= opts_.down_after_ms) continue;
      for (const auto& s : rep.heartbeat.shards()) {
        if (!s.leader()) continue;
        auto it = leading.find(s.shard());
        if (it == leading.end() || s.term() > it->second->term()) leading[s.shard()] = &s;
      }
    }
    auto stale = [&](uint64_t node, const internal::ShardReport& s) {
      if (s.shard() < next_shard && known.count(s.shard()) == 0) return true;  // removed shard
      auto it = leading.find(s.shard());
      if (s.leader() || it == leading.end() || s.term() > it->second->term()) return false;
      const auto& l = *it->second;
      bool member = std::find(l.voters().begin(), l.voters().end(), node) != l.voters().end() ||
                    std::find(l.learners().begin(), l.learners().end(), node) != l.learners().end();
      return !member;
    };
    std::set<std::pair<uint64_t, uint64_t>> seen;
    for (const auto& [node, rep] : reports_) {
      if (now - rep.received_ms >= opts_.down_after_ms) continue;
      for (const auto& s : rep.heartbeat.shards()) {
        if (!stale(node, s)) continue;
        auto key = std::make_pair(node, s.shard());
        seen.insert(key);
        auto [since, fresh] = stale_since_ms_.emplace(key, now);
        // Several heartbeat periods: a replica just added shows in its
        // leader's next report.
        if (!fresh && now - since->second >= 4 * opts_.heartbeat_ms) {
          drop.push_back(key);
          stale_since_ms_.erase(since);
        }
      }
    }
    for (auto it = stale_since_ms_.begin(); it != stale_since_ms_.end();) {
      it = seen.count(it->first) != 0 ? std::next(it) : stale_since_ms_.erase(it);
    }
  }
  for (const auto& [node, shard] : drop) {
    spdlog::info("placement: shard {}: node {} holds a replica its group or the cluster removed; dropping it",
                 shard, node);
    internal::ShardRef ref;
    ref.set_shard(shard);
    Status st;
    if (raft::NodeId(node) == self_) {
      st = host_.remove_replica(ShardId(shard));
    } else {
      std::string addr = address_of(raft::NodeId(node));
      st = addr.empty() ? Status(Errc::unavailable, "no address for node " + std::to_string(node))
                        : transport_.call(addr, "drop_replica", ref.SerializeAsString(), kChangeTimeoutMs).status();
    }
    if (!st.is_ok()) spdlog::warn("placement: shard {}: dropping node {}'s replica: {}", shard, node, st.to_string());
  }
}

std::string ClusterAgent::local_answer(const std::string& method, const std::string& request) {
  auto view = build_view();
  if (method == "health") {
    auto h = cluster::health(view);
    nlohmann::json j;
    j["meta_leader"] = self_.value;
    j["nodes"] = nlohmann::json::array();
    for (const auto& n : h.nodes) {
      j["nodes"].push_back({{"id", n.id}, {"address", n.address}, {"state", n.state},
                            {"shards", n.shards}, {"leaders", n.leaders}, {"lag", n.lag}});
    }
    j["under_replicated_shards"] = h.under_replicated_shards;
    j["unavailable_shards"] = h.unavailable_shards;
    j["rebalance"] = {{"active", h.rebalance_pending > 0}, {"pending_moves", h.rebalance_pending}};
    j["shards"] = nlohmann::json::array();
    for (const auto& s : view.shards) {
      j["shards"].push_back({{"shard", s.shard}, {"kind", s.kind}, {"leader", s.leader}, {"voters", s.voters},
                             {"learners", s.learners}, {"commit", s.commit}});
    }
    return j.dump();
  }
  uint64_t node = std::strtoull(request.c_str(), nullptr, 10);
  return to_json(method == "ok_to_stop" ? cluster::ok_to_stop(view, node)
                                        : cluster::caught_up(view, node))
      .dump();
}

Result<std::string> ClusterAgent::ask_meta_leader(const std::string& method, const std::string& request) {
  auto deadline = steady_ms() + 5000;
  for (;;) {
    raft::NodeId leader = meta_leader();
    if (leader == self_) {
      bool settled = false;
      {
        std::lock_guard lk(mu_);
        // Until every node had a chance to report, the answer is not known.
        settled = leader_since_ms_ != 0 && steady_ms() - leader_since_ms_ >= 2 * opts_.heartbeat_ms;
      }
      if (settled) return local_answer(method, request);
    } else if (leader != raft::kNoNode) {
      std::string addr = address_of(leader);
      if (!addr.empty()) {
        auto r = transport_.call(addr, method, request, 5000);
        if (r.is_ok() || r.status().code() != Errc::not_leader) return r;
      }
    }
    if (steady_ms() >= deadline) return Status(Errc::unavailable, "no settled meta leader is reachable");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result<std::string> ClusterAgent::health_json() { return ask_meta_leader("health", ""); }
Result<std::string> ClusterAgent::ok_to_stop_json(uint64_t node) {
  return ask_meta_leader("ok_to_stop", std::to_string(node));
}
Result<std::string> ClusterAgent::caught_up_json(uint64_t node) {
  return ask_meta_leader("caught_up", std::to_string(node));
}

Result<internal::JoinReply> ClusterAgent::join(const std::string& address, const std::string& my_address,
                                               const std::map<std::string, std::string>& labels,
                                               const std::string& cluster_id_hint) {
  transport::PeerTransportOptions o;
  o.cluster_id = cluster_id_hint;
  transport::PeerTransport t(raft::kNoNode, o);
  internal::NodeRecord n;
  n.set_address(my_address);
  for (const auto& [k, v] : labels) (*n.mutable_labels())[k] = v;
  TESSERA_ASSIGN_OR_RETURN(auto bytes, t.call(address, "join", n.SerializeAsString(), kCallTimeoutMs));
  internal::JoinReply reply;
  if (!reply.ParseFromString(bytes) || reply.node().id() == 0) {
    return Status(Errc::corruption, address + ": malformed join reply");
  }
  return reply;
}

}  // namespace tessera::node
