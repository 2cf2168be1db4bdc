#include "sim/workload.h"

#include <algorithm>

#include "sim/cluster.h"
#include "sim/sim_node.h"

namespace tessera::sim {
namespace {

constexpr uint64_t kOperatorPeriodUs = 100'000;
constexpr uint64_t kPlanTimeoutUs = 20'000'000;
constexpr uint64_t kProposalTimeoutUs = 3'000'000;
constexpr size_t kNodeIdsMax = 9;

bool contains(const std::vector<raft::NodeId>& v, raft::NodeId id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

}  // namespace

Workload::Workload(Cluster& cluster, WorkloadKind kind, int clients)
    : cluster_(cluster), kind_(kind) {
  for (int i = 0; i < std::min(clients, kClientsMax); ++i) clients_.push_back(Client{.id = i});
}

void Workload::start() {
  for (Client& c : clients_) {
    int id = c.id;
    cluster_.schedule(cluster_.rng().between(100'000, 400'000), [this, id] { client_loop(id); });
  }
  cluster_.schedule(kOperatorPeriodUs, [this] { operator_tick(); });
}

void Workload::client_loop(int client) {
  Client& c = clients_[client];
  if (cluster_.healed()) return;  // no new ops once the faults stop
  if (c.current == 0) issue(c);
}

bool Workload::make_op(Client& c, Op* op) {
  Prng& rng = cluster_.rng();
  WorkloadKind kind = kind_;
  if (kind == WorkloadKind::all) kind = static_cast<WorkloadKind>(rng.below(3));
  op->id = cluster_.history().ops.size() + 1;
  op->client = c.id;
  switch (kind) {
    case WorkloadKind::registers: {
      std::string key = "k" + std::to_string(rng.below(kRegisterKeys));
      if (ops_per_key_[key] >= kRegisterOpsPerKeyMax) {
        key.clear();
        for (int i = 0; i < kRegisterKeys; ++i) {
          std::string k = "k" + std::to_string(i);
          if (ops_per_key_[k] < kRegisterOpsPerKeyMax) key = k;
        }
        if (key.empty()) return false;
      }
      ++ops_per_key_[key];
      op->key = key;
      uint64_t r = rng.below(100);
      if (r < 40) {
        op->kind = OpKind::read;
        op->data = encode_read(key);
      } else if (r < 75) {
        op->kind = OpKind::write;
        op->arg1 = static_cast<int64_t>(op->id);
        op->data = encode_write(key, op->arg1, op->id);
      } else {
        op->kind = OpKind::cas;
        op->arg1 = static_cast<int64_t>(op->id);
        op->arg2 = rng.chance(0.8) ? last_value_[key] : 0;
        op->data = encode_cas(key, op->arg2, op->arg1, op->id);
      }
      return true;
    }
    case WorkloadKind::bank: {
      if (rng.chance(0.3)) {
        op->kind = OpKind::bank_read;
        op->data = encode_bank_read();
      } else {
        op->kind = OpKind::transfer;
        int from = static_cast<int>(rng.below(KvStateMachine::kAccounts));
        int to = static_cast<int>((from + 1 + rng.below(KvStateMachine::kAccounts - 1)) %
                                  KvStateMachine::kAccounts);
        op->data = encode_transfer(from, to, static_cast<int64_t>(rng.between(1, 60)), op->id);
      }
      return true;
    }
    case WorkloadKind::stream:
    case WorkloadKind::all: {
      op->kind = OpKind::append;
      op->key = "s" + std::to_string(rng.below(2));
      op->arg1 = static_cast<int64_t>(op->id);
      op->data = encode_append(op->key, "p" + std::to_string(op->id));
      return true;
    }
  }
  return false;
}

void Workload::issue(Client& c) {
  Op op;
  if (!make_op(c, &op)) return;  // this client's budget is spent
  op.invoke_us = cluster_.now();
  cluster_.history().ops.push_back(op);
  c.current = op.id;

  // Usually the believed leader; sometimes any node (exercises redirects and
  // follower read_index).
  std::vector<uint64_t> ids;
  for (const auto& [id, n] : cluster_.nodes()) {
    if (n->status() != SimNode::Status::stopped) ids.push_back(id);
  }
  uint64_t target = c.leader_hint;
  if (target == 0 || cluster_.rng().chance(0.2) ||
      std::find(ids.begin(), ids.end(), target) == ids.end()) {
    target = ids[cluster_.rng().below(ids.size())];
  }
  cluster_.trace("invoke", op.id, c.id, target, 0, op.data);
  uint64_t id = op.id;
  int client = c.id;
  cluster_.schedule(cluster_.rng().between(100, 3'000), [this, target, id] {
    SimNode* n = cluster_.node(raft::NodeId(target));
    if (n != nullptr) n->client_request(cluster_.history().at(id));
  });
  cluster_.schedule(kOpTimeoutUs, [this, client, id] { timeout(client, id); });
}

void Workload::timeout(int client, uint64_t op_id) {
  Op& op = cluster_.history().at(op_id);
  if (op.outcome != Outcome::pending) return;
  op.outcome = Outcome::unknown;
  ++cluster_.stats().ops_unknown;
  cluster_.trace("timeout", op_id, client);
  Client& c = clients_[client];
  c.current = 0;
  c.leader_hint = 0;
  cluster_.schedule(cluster_.rng().between(0, 20'000), [this, client] { client_loop(client); });
}

void Workload::on_reply(uint64_t op_id, Outcome outcome, const std::string& result,
                        raft::NodeId hint) {
  Op& op = cluster_.history().at(op_id);
  if (op.outcome != Outcome::pending) return;  // late reply after a timeout
  op.outcome = outcome;
  op.complete_us = cluster_.now();
  op.result = result;
  Client& c = clients_[op.client];
  c.leader_hint = hint.value;
  if (outcome == Outcome::ok) {
    ++cluster_.stats().ops_ok;
    if (op.kind == OpKind::read) last_value_[op.key] = std::stoll(result);
    if (op.kind == OpKind::write || (op.kind == OpKind::cas && result == "ok")) {
      last_value_[op.key] = op.arg1;
    }
  } else {
    ++cluster_.stats().ops_failed;
  }
  cluster_.trace("complete", op_id, op.client, static_cast<uint64_t>(outcome), 0, result);
  c.current = 0;
  int client = c.id;
  cluster_.schedule(cluster_.rng().between(0, 20'000), [this, client] { client_loop(client); });
}

void Workload::resolve_removals() {
  const auto& committed = cluster_.committed();
  std::vector<Proposal> open;
  for (const Proposal& pr : removals_) {
    if (pr.index.value > committed.size()) {
      open.push_back(pr);
      continue;
    }
    const raft::Entry& e = committed[pr.index.value - 1];
    if (e.term == pr.term && e.type == raft::EntryType::conf_change) {
      SimNode* n = cluster_.node(pr.change.node);
      if (n != nullptr && n->status() != SimNode::Status::stopped) n->stop();
    }
  }
  removals_ = std::move(open);
}

void Workload::operator_tick() {
  cluster_.schedule(kOperatorPeriodUs, [this] { operator_tick(); });
  resolve_removals();
  if (!plan_) {
    if (!cluster_.healed() && cluster_.rng().chance(0.04)) choose_plan();
    if (!plan_) return;
  }
  if (cluster_.now() > plan_->deadline_us) {
    cluster_.trace("plan-abandoned", plan_->old_node.value, plan_->new_node.value);
    plan_.reset();
    proposal_.reset();
    return;
  }
  advance_plan();
}

void Workload::choose_plan() {
  SimNode* leader = cluster_.leader();
  if (leader == nullptr) return;
  const raft::ConfState& conf = leader->raft().conf();
  if (!conf.learners.empty()) return;
  Prng& rng = cluster_.rng();
  size_t voters = conf.voters.size();
  bool can_add = cluster_.nodes().size() < kNodeIdsMax;
  Plan p{};
  p.deadline_us = cluster_.now() + kPlanTimeoutUs;
  uint64_t r = rng.below(3);
  // Down to 3 voters usually, sometimes to 2 or 1 (quorum edge cases).
  size_t min_voters = static_cast<size_t>(std::max(cluster_.options().min_voters, 1));
  if (r == 0 && voters > min_voters && (voters > 3 || rng.chance(0.3))) {
    p.kind = PlanKind::remove;
  } else if (r == 1 && voters < 5 && can_add) {
    p.kind = PlanKind::add;
  } else if (can_add) {
    p.kind = PlanKind::replace;
  } else {
    return;
  }
  if (p.kind != PlanKind::add) p.old_node = conf.voters[rng.below(voters)];
  if (p.kind != PlanKind::remove) p.new_node = cluster_.add_node().id();
  plan_ = p;
  cluster_.trace("plan", static_cast<uint64_t>(p.kind), p.old_node.value, p.new_node.value);
}

void Workload::advance_plan() {
  // Resolve the conf change in flight: it committed iff the committed
  // entry at its index is from the term it was proposed in.
  if (proposal_) {
    const auto& committed = cluster_.committed();
    const Proposal& pr = *proposal_;
    if (pr.index.value <= committed.size()) {
      const raft::Entry& e = committed[pr.index.value - 1];
      bool ok = e.term == pr.term && e.type == raft::EntryType::conf_change;
      cluster_.trace(ok ? "conf-committed" : "conf-lost", static_cast<uint64_t>(pr.change.type),
                     pr.change.node.value, pr.index.value);
      proposal_.reset();
    } else if (cluster_.now() > pr.deadline_us) {
      proposal_.reset();
    } else {
      return;
    }
  }
  SimNode* leader = cluster_.leader();
  if (leader == nullptr) return;
  const raft::ConfState& conf = leader->raft().conf();
  const Plan& p = *plan_;
  std::optional<raft::ConfChange> change;
  if (p.kind != PlanKind::remove && !contains(conf.voters, p.new_node)) {
    if (!contains(conf.learners, p.new_node)) {
      change = raft::ConfChange{raft::ConfChangeType::add_learner, p.new_node};
    } else {
      SimNode* n = cluster_.node(p.new_node);
      if (n != nullptr && n->up() &&
          n->state().applied().value + 3 >= leader->raft().commit_index().value) {
        change = raft::ConfChange{raft::ConfChangeType::promote, p.new_node};
      }
    }
  } else if (p.kind != PlanKind::add &&
             (contains(conf.voters, p.old_node) || contains(conf.learners, p.old_node))) {
    change = raft::ConfChange{raft::ConfChangeType::remove, p.old_node};
  } else {
    cluster_.trace("plan-done", p.old_node.value, p.new_node.value);
    plan_.reset();
    return;
  }
  if (!change) return;
  Result<raft::LogIndex> r = leader->propose_conf_change(*change);
  cluster_.trace("conf-propose", static_cast<uint64_t>(change->type), change->node.value,
                 r ? r->value : 0, leader->id().value);
  if (!r) return;
  ++cluster_.stats().conf_changes;
  proposal_ = Proposal{*change, leader->raft().term(), *r, cluster_.now() + kProposalTimeoutUs};
  if (change->type == raft::ConfChangeType::remove) removals_.push_back(*proposal_);
}

}  // namespace tessera::sim
