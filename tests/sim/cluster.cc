#include "sim/cluster.h"

#include <algorithm>
#include <cstdio>

#include "sim/checkers.h"
#include "sim/sim_node.h"
#include "sim/workload.h"

namespace tessera::sim {
namespace {

constexpr uint64_t kTickUs = 10'000;             // one raft tick at clock rate 1.0
constexpr uint64_t kNemesisPeriodUs = 100'000;
constexpr uint64_t kLivenessBoundUs = 60'000'000;  // after healing
constexpr uint64_t kConvergeCheckUs = 20'000;
constexpr size_t kTraceMax = 400;

uint64_t hash_entry(const raft::Entry& e) {
  uint64_t h = 0xcbf29ce484222325ULL ^ static_cast<uint64_t>(e.type);
  for (unsigned char c : e.data) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

const char* message_name(raft::MessageType t) {
  switch (t) {
    case raft::MessageType::pre_vote: return "pre_vote";
    case raft::MessageType::pre_vote_reply: return "pre_vote_reply";
    case raft::MessageType::vote: return "vote";
    case raft::MessageType::vote_reply: return "vote_reply";
    case raft::MessageType::append: return "append";
    case raft::MessageType::append_reply: return "append_reply";
    case raft::MessageType::snapshot: return "snapshot";
    case raft::MessageType::timeout_now: return "timeout_now";
  }
  return "?";
}

std::string entry_text(const raft::Entry& e) {
  return "(term " + std::to_string(e.term.value) + ", " +
         (e.type == raft::EntryType::conf_change ? "conf_change" : "'" + e.data + "'") + ")";
}

}  // namespace

Cluster::Cluster(const SimOptions& options) : options_(options), rng_(options.seed) {
  for (int i = 1; i <= options_.nodes; ++i) bootstrap_.voters.push_back(raft::NodeId(i));
  raft_config_.election_ticks = static_cast<uint32_t>(rng_.between(5, 20));
  raft_config_.heartbeat_ticks = static_cast<uint32_t>(rng_.between(1, 3));
  raft_config_.pre_vote = rng_.chance(0.8);
  raft_config_.check_quorum = rng_.chance(0.8);
  trace("config", raft_config_.election_ticks, raft_config_.heartbeat_ticks,
        raft_config_.pre_vote, raft_config_.check_quorum);
  int clients = 2 + static_cast<int>(rng_.below(Workload::kClientsMax - 1));
  workload_ = std::make_unique<Workload>(*this, options_.workload, clients);
}

Cluster::~Cluster() = default;

void Cluster::schedule(uint64_t delay_us, std::function<void()> fn) {
  queue_.push(Event{now_ + delay_us, seq_++, std::move(fn)});
}

void Cluster::trace(const char* what, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                    std::string note) {
  if (options_.verbose) {
    std::fprintf(stderr, "%10.3f ms %-14s %llu %llu %llu %llu %s\n", now_ / 1000.0, what,
                 (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
                 (unsigned long long)d, note.c_str());
  }
  trace_.push_back(TraceRec{now_, what, a, b, c, d, std::move(note)});
  if (trace_.size() > kTraceMax) trace_.pop_front();
}

std::string Cluster::trace_tail(size_t count) const {
  std::string out;
  size_t start = trace_.size() > count ? trace_.size() - count : 0;
  char line[256];
  for (size_t i = start; i < trace_.size(); ++i) {
    const TraceRec& r = trace_[i];
    std::snprintf(line, sizeof line, "  %10.3f ms %-14s %llu %llu %llu %llu ", r.time / 1000.0,
                  r.what, (unsigned long long)r.a, (unsigned long long)r.b,
                  (unsigned long long)r.c, (unsigned long long)r.d);
    out += line;
    out += r.note;
    out += "\n";
  }
  return out;
}

void Cluster::fail(const std::string& property, const std::string& detail) {
  throw SimFailure(property, detail);
}

SimNode* Cluster::node(raft::NodeId id) {
  auto it = nodes_.find(id.value);
  return it == nodes_.end() ? nullptr : it->second.get();
}

SimNode& Cluster::add_node() {
  uint64_t id = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  auto n = std::make_unique<SimNode>(*this, raft::NodeId(id));
  SimNode& ref = *n;
  nodes_.emplace(id, std::move(n));
  // Clock skew: each node's clock runs at its own rate, which drifts.
  tick_rate_[id] = 0.75 + 0.55 * rng_.unit();
  ref.start();
  schedule(rng_.below(kTickUs), [this, id] { tick_loop(id); });
  return ref;
}

SimNode* Cluster::leader() {
  SimNode* best = nullptr;
  for (auto& [id, n] : nodes_) {
    if (!n->up() || n->raft().role() != raft::Role::leader) continue;
    if (best == nullptr || n->raft().term() > best->raft().term()) best = n.get();
  }
  return best;
}

void Cluster::tick_loop(uint64_t id) {
  SimNode* n = nodes_.at(id).get();
  if (n->status() == SimNode::Status::stopped) return;
  double& rate = tick_rate_[id];
  rate = std::clamp(rate + (rng_.unit() - 0.5) * 0.02, 0.6, 1.5);
  schedule(static_cast<uint64_t>(kTickUs / rate), [this, id] { tick_loop(id); });
  n->tick();
}

bool Cluster::link_up(uint64_t from, uint64_t to) const {
  return blocked_.count({from, to}) == 0;
}

uint64_t Cluster::message_delay() {
  if (slow_ > 0 && rng_.chance(slow_)) return rng_.between(5'000, 80'000);
  return rng_.between(100, 2'000);
}

void Cluster::send(raft::Message m) {
  uint64_t from = m.from.value, to = m.to.value;
  if (!link_up(from, to) || (loss_ > 0 && rng_.chance(loss_))) return;
  int copies = (dup_ > 0 && rng_.chance(dup_)) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    schedule(message_delay(), [this, m, from, to] {
      SimNode* n = node(raft::NodeId(to));
      if (n == nullptr || !link_up(from, to) || !n->up()) return;
      trace(message_name(m.type), from, to, m.term.value, m.index.value,
            m.reject ? "reject" : (m.entries.empty() ? "" : std::to_string(m.entries.size()) + " entries"));
      n->deliver(m);
    });
  }
}

void Cluster::send_snapshot(raft::Message m, const KvStateMachine& state) {
  uint64_t from = m.from.value, to = m.to.value;
  uint64_t inc = node(m.from)->incarnation();
  trace("snapshot-send", from, to, state.applied().value);
  auto report = [this, from, to, inc](bool ok, uint64_t delay) {
    schedule(delay, [this, from, to, inc, ok] {
      SimNode* s = node(raft::NodeId(from));
      if (s != nullptr) s->snapshot_reported(raft::NodeId(to), ok, inc);
    });
  };
  if (!link_up(from, to) || (loss_ > 0 && rng_.chance(loss_))) {
    report(false, 200'000);
    return;
  }
  auto shipped = std::make_shared<KvStateMachine>(state);
  schedule(message_delay() + rng_.between(1'000, 20'000), [this, m, shipped, from, to, report] {
    SimNode* n = node(raft::NodeId(to));
    if (n == nullptr || !n->up() || !link_up(from, to)) {
      report(false, 100'000);
      return;
    }
    n->deliver_snapshot(m, *shipped);
    report(true, message_delay());
  });
}

void Cluster::reply(uint64_t op_id, Outcome outcome, const std::string& result,
                    raft::NodeId hint) {
  if (loss_ > 0 && rng_.chance(loss_)) return;
  schedule(rng_.between(100, 3'000), [this, op_id, outcome, result, hint] {
    workload_->on_reply(op_id, outcome, result, hint);
  });
}

void Cluster::on_written(raft::NodeId node, raft::Term prev_term,
                         const std::vector<raft::Entry>& entries) {
  raft::Term prev = prev_term;
  for (const raft::Entry& e : entries) {
    LogKey key{hash_entry(e), prev.value};
    auto [it, inserted] = log_.emplace(std::make_pair(e.index.value, e.term.value), key);
    if (!inserted && (it->second.data_hash != key.data_hash || it->second.prev_term != key.prev_term)) {
      fail("log matching",
           "node " + std::to_string(node.value) + " persisted " + entry_text(e) + " at index " +
               std::to_string(e.index.value) + " after term " + std::to_string(prev.value) +
               ", but another log holds a different entry or predecessor with the same index and term");
    }
    prev = e.term;
  }
}

void Cluster::on_applied(raft::NodeId node, const raft::Entry& e, uint64_t digest) {
  uint64_t i = e.index.value;
  if (i <= committed_.size()) {
    const raft::Entry& first = committed_[i - 1];
    if (!(first == e)) {
      fail("state machine safety", "node " + std::to_string(node.value) + " applied " +
                                       entry_text(e) + " at index " + std::to_string(i) +
                                       " but another node applied " + entry_text(first));
    }
    if (digests_[i - 1] != digest) {
      fail("state machine safety", "node " + std::to_string(node.value) +
                                       " state digest differs from another node's after index " +
                                       std::to_string(i));
    }
  } else if (i == committed_.size() + 1) {
    committed_.push_back(e);
    digests_.push_back(digest);
  } else {
    fail("state machine safety", "node " + std::to_string(node.value) + " applied index " +
                                     std::to_string(i) + " but no node has applied index " +
                                     std::to_string(committed_.size() + 1));
  }
}

void Cluster::on_snapshot_installed(raft::NodeId node, const KvStateMachine& state) {
  uint64_t i = state.applied().value;
  trace("snapshot-install", node.value, i);
  if (i == 0 || i > digests_.size() || digests_[i - 1] != state.digest()) {
    fail("state machine safety", "node " + std::to_string(node.value) +
                                     " installed a snapshot at index " + std::to_string(i) +
                                     " whose state no node had at that index");
  }
}

void Cluster::check_leaders() {
  for (auto& [id, n] : nodes_) {
    if (!n->up() || n->raft().role() != raft::Role::leader) continue;
    auto [it, inserted] = leaders_.emplace(n->raft().term().value, id);
    if (inserted) {
      ++stats_.leaders;
      trace("leader", id, n->raft().term().value, n->raft().commit_index().value);
    } else if (it->second != id) {
      fail("election safety", "nodes " + std::to_string(it->second) + " and " +
                                  std::to_string(id) + " are both leader of term " +
                                  std::to_string(it->first));
    }
  }
}

void Cluster::run_event() {
  Event e = queue_.top();
  queue_.pop();
  now_ = e.time;
  e.fn();
  ++stats_.events;
  check_leaders();
}

void Cluster::crash_node(uint64_t id, uint64_t max_down_us) {
  SimNode* n = nodes_.at(id).get();
  if (!n->up()) return;
  ++stats_.crashes;
  n->crash();
  uint64_t inc = n->incarnation();
  schedule(rng_.between(20'000, max_down_us), [this, id, inc] {
    SimNode* down = nodes_[id].get();
    if (down->status() == SimNode::Status::down && down->incarnation() == inc) down->start();
  });
}

void Cluster::nemesis() {
  if (healed_) return;
  schedule(rng_.between(kNemesisPeriodUs / 2, kNemesisPeriodUs * 3 / 2), [this] { nemesis(); });
  std::vector<uint64_t> live, all;
  for (auto& [id, n] : nodes_) {
    if (n->status() == SimNode::Status::stopped) continue;
    all.push_back(id);
    if (n->up()) live.push_back(id);
  }
  size_t down = all.size() - live.size();
  uint64_t r = rng_.below(1000);
  if (r < 70 && !live.empty() && (down < all.size() / 2 || rng_.chance(0.1))) {
    // Crash, preferring a node with a write in flight (between write and fsync).
    std::vector<uint64_t> writing;
    for (uint64_t id : live) {
      if (nodes_[id]->disk().has_unsynced()) writing.push_back(id);
    }
    const auto& pool = (!writing.empty() && rng_.chance(0.5)) ? writing : live;
    crash_node(pool[rng_.below(pool.size())]);
  } else if (r < 75) {
    // Whole-cluster power loss.
    for (uint64_t id : live) crash_node(id, 1'000'000);
    trace("power-loss");
  } else if (r < 120) {
    // Symmetric partition into two sides.
    blocked_.clear();
    std::vector<int> side(all.size());
    for (int& s : side) s = static_cast<int>(rng_.below(2));
    for (size_t i = 0; i < all.size(); ++i) {
      for (size_t j = 0; j < all.size(); ++j) {
        if (side[i] != side[j]) blocked_.insert({all[i], all[j]});
      }
    }
    trace("partition", blocked_.size());
  } else if (r < 160 && all.size() >= 2) {
    // One-way link failure.
    uint64_t a = all[rng_.below(all.size())], b = all[rng_.below(all.size())];
    if (a != b) blocked_.insert({a, b});
    trace("block-one-way", a, b);
  } else if (r < 185 && !all.empty()) {
    // Isolate one node (often the leader).
    SimNode* l = leader();
    uint64_t a = (l != nullptr && rng_.chance(0.5)) ? l->id().value : all[rng_.below(all.size())];
    for (uint64_t b : all) {
      if (b != a) {
        blocked_.insert({a, b});
        blocked_.insert({b, a});
      }
    }
    trace("isolate", a);
  } else if (r < 260) {
    blocked_.clear();
    trace("net-heal");
  } else if (r < 300) {
    static constexpr double kLoss[] = {0, 0, 0.01, 0.05, 0.2};
    static constexpr double kDup[] = {0, 0.02, 0.1};
    static constexpr double kSlow[] = {0, 0.05, 0.2};
    loss_ = kLoss[rng_.below(5)];
    dup_ = kDup[rng_.below(3)];
    slow_ = kSlow[rng_.below(3)];
    trace("net-quality", static_cast<uint64_t>(loss_ * 100), static_cast<uint64_t>(dup_ * 100),
          static_cast<uint64_t>(slow_ * 100));
  } else if (r < 330) {
    SimNode* l = leader();
    if (l != nullptr) {
      // Usually a voter; sometimes any id (learners, removed or unknown
      // nodes must be refused).
      const auto& voters = l->raft().conf().voters;
      raft::NodeId to = rng_.chance(0.9) ? voters[rng_.below(voters.size())]
                                         : raft::NodeId(rng_.between(1, nodes_.size() + 1));
      if (to != l->id()) {
        ++stats_.transfers;
        trace("transfer", l->id().value, to.value);
        l->transfer_leadership(to);
      }
    }
  } else if (r < 350) {
    // A clock jumps to a new rate.
    if (!all.empty()) tick_rate_[all[rng_.below(all.size())]] = 0.6 + 0.9 * rng_.unit();
  }
}

void Cluster::heal() {
  healed_ = true;
  blocked_.clear();
  loss_ = dup_ = 0;
  slow_ = 0.02;
  for (auto& [id, n] : nodes_) {
    if (n->status() == SimNode::Status::down) n->start();
  }
  trace("heal");
}

std::string Cluster::describe_nodes() const {
  static const char* kRoles[] = {"follower", "pre_candidate", "candidate", "leader"};
  std::string out = "  nodes:";
  for (const auto& [id, n] : nodes_) {
    out += "\n    node " + std::to_string(id) + ": ";
    if (!n->up()) {
      out += n->status() == SimNode::Status::stopped ? "stopped" : "down";
      continue;
    }
    const raft::Raft& r = n->raft();
    out += kRoles[static_cast<int>(r.role())];
    out += " term " + std::to_string(r.term().value) + " last " +
           std::to_string(n->disk().written().last_index().value) + " (term " +
           std::to_string(n->disk().written().term_at(n->disk().written().last_index()).value) +
           ") commit " + std::to_string(r.commit_index().value) + " applied " +
           std::to_string(n->state().applied().value) + " voters {";
    for (raft::NodeId v : r.conf().voters) out += " " + std::to_string(v.value);
    out += " } learners {";
    for (raft::NodeId v : r.conf().learners) out += " " + std::to_string(v.value);
    out += " }";
  }
  return out;
}

bool Cluster::converged(std::string* why) {
  SimNode* l = leader();
  if (l == nullptr) {
    *why = "no leader";
    return false;
  }
  const raft::ConfState& conf = l->raft().conf();
  if (l->raft().commit_index().value < committed_.size()) {
    *why = "leader " + std::to_string(l->id().value) + " commit " +
           std::to_string(l->raft().commit_index().value) + " behind applied history " +
           std::to_string(committed_.size());
    return false;
  }
  std::vector<raft::NodeId> members = conf.voters;
  members.insert(members.end(), conf.learners.begin(), conf.learners.end());
  for (raft::NodeId m : members) {
    SimNode* n = node(m);
    if (n == nullptr || !n->idle() || n->state().applied() != l->raft().commit_index() ||
        n->state().digest() != l->state().digest()) {
      *why = "member " + std::to_string(m.value) + " has not caught up with leader " +
             std::to_string(l->id().value) + " (commit " +
             std::to_string(l->raft().commit_index().value) + ", member applied " +
             (n == nullptr ? std::string("-") : std::to_string(n->state().applied().value)) + ")";
      return false;
    }
  }
  return true;
}

void Cluster::final_checks() {
  SimNode* l = leader();
  const raft::ConfState& conf = l->raft().conf();
  std::vector<raft::NodeId> members = conf.voters;
  members.insert(members.end(), conf.learners.begin(), conf.learners.end());
  std::vector<const KvStateMachine*> finals;
  for (raft::NodeId m : members) {
    finals.push_back(&node(m)->state());
    if (!(*finals.back() == l->state())) {
      fail("convergence", "node " + std::to_string(m.value) +
                              " final state differs from the leader's at the same index");
    }
  }
  std::string err = check_bank(history_, finals);
  if (!err.empty()) fail("bank invariant", err);
  err = check_streams(history_, l->state());
  if (!err.empty()) fail("stream append", err);
  LinearizabilityStats lin;
  err = check_registers(history_, &lin);
  stats_.lin_keys = lin.keys;
  stats_.lin_ops = lin.ops;
  stats_.lin_inconclusive = lin.inconclusive_keys;
  if (!err.empty()) fail("linearizability", err);
}

RunStats Cluster::run() {
  for (int i = 0; i < options_.nodes; ++i) add_node();
  workload_->start();
  schedule(kNemesisPeriodUs, [this] { nemesis(); });

  while (stats_.events < options_.steps) run_event();

  heal();
  uint64_t deadline = now_ + kLivenessBoundUs;
  uint64_t next_check = now_;
  std::string why;
  for (;;) {
    run_event();
    if (now_ < next_check) continue;
    next_check = now_ + kConvergeCheckUs;
    if (converged(&why)) break;
    if (now_ > deadline) {
      fail("liveness", "not converged " + std::to_string(kLivenessBoundUs / 1'000'000) +
                           " s (virtual) after healing: " + why + "\n" + describe_nodes());
    }
  }
  final_checks();
  stats_.virtual_us = now_;
  return stats_;
}

}  // namespace tessera::sim
