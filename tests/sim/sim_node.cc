#include "sim/sim_node.h"

#include <algorithm>
#include <string>

#include "sim/cluster.h"

namespace tessera::sim {

namespace {
constexpr size_t kIncomingSnapshotsMax = 4;
}  // namespace

SimNode::SimNode(Cluster& cluster, raft::NodeId id) : cluster_(cluster), id_(id) {}

void SimNode::start() {
  ++incarnation_;
  const DiskImage& img = disk_.synced();
  raft::RestoredState restored;
  restored.hard_state = img.hard_state;
  restored.snapshot = img.snapshot;
  // Founding members share the bootstrap config; a new replica starts with
  // none and learns it from the leader.
  if (id_.value <= static_cast<uint64_t>(cluster_.options().nodes)) {
    restored.conf = cluster_.bootstrap_conf();
  }
  restored.entries = img.entries;
  restored.applied = img.snapshot_index();
  if (cluster_.options().bug == InjectedBug::double_apply && incarnation_ > 1) {
    // BUG (deliberate): the state machine is kept across the restart while
    // raft replays from the snapshot index, so entries apply twice.
    sm_.set_applied_for_bug(img.snapshot_index());
  } else {
    sm_ = img.snapshot_state;
  }
  raft::Config config = cluster_.raft_config();
  config.max_bytes_per_append = cluster_.rng().chance(0.5) ? 64 : (1 << 20);
  config.max_entries_per_append = 1 + cluster_.rng().below(16);
  config.max_inflight_appends = 1 + cluster_.rng().below(8);
  raft_ = std::make_unique<raft::Raft>(id_, config, cluster_.rng().next(), std::move(restored));
  compact_every_ = cluster_.rng().between(8, 80);
  status_ = Status::up;
  cluster_.trace("start", id_.value, incarnation_, img.snapshot_index().value,
                 img.last_index().value);
  pump();
}

void SimNode::crash() {
  if (!up()) return;
  disk_.crash(cluster_.rng());
  status_ = Status::down;
  raft_.reset();
  ready_.reset();
  if (cluster_.options().bug != InjectedBug::double_apply) sm_ = KvStateMachine();
  pending_writes_.clear();
  pending_reads_.clear();
  waiting_reads_.clear();
  incoming_.clear();
  streaming_.clear();
  cluster_.trace("crash", id_.value, disk_.synced().last_index().value,
                 disk_.synced().hard_state.term.value);
}

void SimNode::stop() {
  crash();
  status_ = Status::stopped;
  cluster_.trace("stop", id_.value);
}

void SimNode::tick() {
  if (!up()) return;
  raft_->tick();
  pump();
}

void SimNode::deliver(const raft::Message& m) {
  if (!up()) return;
  raft_->step(m);
  pump();
}

void SimNode::deliver_snapshot(const raft::Message& m, const KvStateMachine& state) {
  if (!up()) return;
  incoming_[state.applied()] = state;
  while (incoming_.size() > kIncomingSnapshotsMax) incoming_.erase(incoming_.begin());
  raft_->step(m);
  pump();
}

void SimNode::snapshot_reported(raft::NodeId peer, bool ok, uint64_t incarnation) {
  if (!up() || incarnation != incarnation_) return;
  streaming_.erase(peer);
  raft_->report_snapshot(peer, ok);
  pump();
}

void SimNode::client_request(const Op& op) {
  if (!up()) return;
  if (op.kind == OpKind::read || op.kind == OpKind::bank_read) {
    pending_reads_[op.id] = op.id;
    raft_->read_index(op.id);
  } else {
    Result<raft::LogIndex> r = raft_->propose(op.data);
    if (!r) {
      cluster_.reply(op.id, Outcome::failed, "not leader", raft_->leader());
      return;
    }
    if (cluster_.options().bug == InjectedBug::ack_before_commit) {
      // BUG (deliberate): answer before the entry is committed.
      std::string result = sm_.preview(op.data);
      if (op.kind == OpKind::append) {
        uint64_t offset = std::stoull(result);
        for (const auto& [index, id] : pending_writes_) {
          offset += cluster_.history().at(id).kind == OpKind::append ? 1 : 0;
        }
        result = std::to_string(offset);
      }
      cluster_.reply(op.id, Outcome::ok, result, id_);
    }
    pending_writes_[*r] = op.id;
  }
  pump();
}

Result<raft::LogIndex> SimNode::propose_conf_change(raft::ConfChange change) {
  Result<raft::LogIndex> r = raft_->propose_conf_change(change);
  pump();
  return r;
}

void SimNode::transfer_leadership(raft::NodeId to) {
  raft_->transfer_leadership(to);
  pump();
}

void SimNode::pump() {
  if (!up() || ready_ || !raft_->has_ready()) return;
  ready_ = raft_->take_ready();
  raft::Ready& rd = *ready_;
  WriteBatch batch;
  batch.hard_state = rd.hard_state;
  if (rd.snapshot) {
    auto it = incoming_.find(rd.snapshot->index);
    if (it == incoming_.end()) {
      cluster_.fail("driver contract",
                    "node " + std::to_string(id_.value) + " accepted a snapshot at index " +
                        std::to_string(rd.snapshot->index.value) + " that it never received");
    }
    batch.snapshot = rd.snapshot;
    batch.snapshot_state = it->second;
  }
  batch.entries = rd.entries;
  raft::Term prev_term;
  if (!rd.entries.empty()) {
    const DiskImage& before = disk_.written();
    raft::LogIndex prev(rd.entries.front().index.value - 1);
    if (rd.snapshot) {
      if (prev != rd.snapshot->index) {
        cluster_.fail("driver contract", "entries after an accepted snapshot do not follow it");
      }
      prev_term = rd.snapshot->term;
    } else if (prev >= before.snapshot_index() && prev <= before.last_index()) {
      prev_term = before.term_at(prev);
    }
  }
  std::string err = disk_.write(std::move(batch));
  if (!err.empty()) cluster_.fail("driver contract", "node " + std::to_string(id_.value) + ": " + err);
  if (!rd.entries.empty()) cluster_.on_written(id_, prev_term, rd.entries);
  cluster_.trace("write", id_.value, rd.entries.size(),
                 rd.hard_state ? rd.hard_state->term.value : 0, rd.messages.size());
  if (cluster_.options().bug == InjectedBug::send_before_fsync) {
    // BUG (deliberate): messages leave before the batch is durable.
    send_messages(rd.messages);
    rd.messages.clear();
  }
  // fsync latency: usually short, sometimes a slow device.
  uint64_t latency = cluster_.rng().chance(0.05) ? cluster_.rng().between(2'000, 20'000)
                                                 : cluster_.rng().between(50, 1'500);
  uint64_t inc = incarnation_;
  cluster_.schedule(latency, [this, inc] { on_synced(inc); });
  if (!cluster_.healed() && cluster_.rng().chance(0.003)) {
    // Power loss inside the fsync window of this batch.
    uint64_t id = id_.value;
    cluster_.schedule(cluster_.rng().below(latency), [this, id, inc] {
      if (incarnation_ == inc && !cluster_.healed()) {
        cluster_.trace("crash-in-fsync", id);
        cluster_.crash_node(id);
      }
    });
  }
}

void SimNode::on_synced(uint64_t incarnation) {
  if (!up() || incarnation != incarnation_ || !ready_) return;
  disk_.fsync();
  raft::Ready rd = std::move(*ready_);
  send_messages(rd.messages);
  if (rd.snapshot) {
    auto it = incoming_.find(rd.snapshot->index);
    sm_ = it->second;
    incoming_.erase(incoming_.begin(), std::next(it));
    ++cluster_.stats().snapshots_installed;
    cluster_.on_snapshot_installed(id_, sm_);
    // Proposals at or below the snapshot index: outcome unknown here.
    pending_writes_.erase(pending_writes_.begin(),
                          pending_writes_.upper_bound(rd.snapshot->index));
  }
  for (const raft::Entry& e : rd.committed) apply(e);
  for (const raft::ReadState& rs : rd.read_states) {
    auto it = pending_reads_.find(rs.context);
    if (it == pending_reads_.end()) continue;
    uint64_t op = it->second;
    pending_reads_.erase(it);
    if (rs.index == raft::LogIndex(0)) {
      cluster_.reply(op, Outcome::failed, "not leader", raft_->leader());
    } else {
      waiting_reads_.emplace_back(rs.index, op);
    }
  }
  ready_.reset();
  raft_->advance();
  // Raft counts an accepted snapshot as applied when it accepts it, before
  // the Ready that hands it over; otherwise the two agree.
  if (sm_.applied() > raft_->applied_index() ||
      (sm_.applied() < raft_->applied_index() && !raft_->has_ready())) {
    cluster_.fail("driver contract", "node " + std::to_string(id_.value) + " state machine at " +
                                         std::to_string(sm_.applied().value) + ", raft applied " +
                                         std::to_string(raft_->applied_index().value));
  }
  if (!raft_->has_ready()) check_log_persisted();
  serve_reads();
  maybe_compact();
  pump();
}

// With nothing left to hand out, the persisted log is raft's log: same
// last index, same terms, same recent entries.
void SimNode::check_log_persisted() {
  const DiskImage& d = disk_.written();
  const raft::RaftLog& log = raft_->log();
  auto fail = [&](const std::string& what) {
    cluster_.fail("driver contract", "node " + std::to_string(id_.value) + ": " + what);
  };
  if (d.last_index() != log.last_index()) {
    fail("persisted log ends at " + std::to_string(d.last_index().value) + ", raft's at " +
         std::to_string(log.last_index().value) + " with no Ready pending");
  }
  uint64_t from = std::max(d.snapshot_index(), log.snapshot_index()).value;
  for (uint64_t i = from; i <= log.last_index().value; ++i) {
    raft::LogIndex index(i);
    if (d.term_at(index) != log.term_at(index)) {
      fail("persisted term at " + std::to_string(i) + " differs from raft's log");
    }
    if (i + 8 > log.last_index().value && i > from &&
        !(d.entries[i - d.snapshot_index().value - 1] == log.at(index))) {
      fail("persisted entry at " + std::to_string(i) + " differs from raft's log");
    }
  }
}

void SimNode::send_messages(std::vector<raft::Message>& messages) {
  for (raft::Message& m : messages) {
    if (m.type != raft::MessageType::snapshot) {
      cluster_.send(std::move(m));
      continue;
    }
    // The leader ships its current applied state and the matching meta, one
    // stream per peer at a time.
    if (streaming_.count(m.to) != 0) continue;
    std::optional<raft::SnapshotMeta> meta = raft_->snapshot_meta_at(sm_.applied());
    if (!meta) {
      raft_->report_snapshot(m.to, false);
      continue;
    }
    m.snapshot = *meta;
    streaming_.insert(m.to);
    ++cluster_.stats().snapshots_sent;
    cluster_.send_snapshot(std::move(m), sm_);
  }
}

void SimNode::apply(const raft::Entry& e) {
  if (e.index.value != sm_.applied().value + 1) {
    cluster_.fail("driver contract", "node " + std::to_string(id_.value) + " asked to apply index " +
                                         std::to_string(e.index.value) + " after " +
                                         std::to_string(sm_.applied().value));
  }
  std::string result = sm_.apply(e);
  cluster_.on_applied(id_, e, sm_.digest());
  auto it = pending_writes_.find(e.index);
  if (it == pending_writes_.end()) return;
  uint64_t op = it->second;
  pending_writes_.erase(it);
  if (cluster_.options().bug == InjectedBug::ack_before_commit) return;
  if (e.type == raft::EntryType::normal && e.data == cluster_.history().at(op).data) {
    cluster_.reply(op, Outcome::ok, result, id_);
  } else {
    // Another entry won this index; ours existed only here, so it never commits.
    cluster_.reply(op, Outcome::failed, "overwritten", raft_->leader());
  }
}

void SimNode::serve_reads() {
  auto ready_end = std::stable_partition(waiting_reads_.begin(), waiting_reads_.end(),
                                         [&](const auto& r) { return r.first <= sm_.applied(); });
  for (auto it = waiting_reads_.begin(); it != ready_end; ++it) {
    const Op& op = cluster_.history().at(it->second);
    cluster_.reply(op.id, Outcome::ok, sm_.query(op.data), id_);
  }
  waiting_reads_.erase(waiting_reads_.begin(), ready_end);
}

void SimNode::maybe_compact() {
  if (ready_) return;
  raft::LogIndex applied = sm_.applied();
  if (applied.value < disk_.written().snapshot_index().value + compact_every_) return;
  std::optional<raft::SnapshotMeta> meta = raft_->snapshot_meta_at(applied);
  if (!meta) return;
  WriteBatch batch;
  batch.snapshot = *meta;
  batch.snapshot_state = sm_;
  batch.keep_suffix = true;
  std::string err = disk_.write(std::move(batch));
  if (!err.empty()) cluster_.fail("driver contract", "node " + std::to_string(id_.value) + ": " + err);
  disk_.fsync();
  raft_->compact(applied);
  ++cluster_.stats().compactions;
  cluster_.trace("compact", id_.value, applied.value);
}

}  // namespace tessera::sim
