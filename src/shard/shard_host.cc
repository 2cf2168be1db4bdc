#include "shard/shard_host.h"

#include <chrono>

#include "base/coding.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::shard {
namespace {

// Shard-level keys in the state column family start with '\0', which no
// state machine key does.
constexpr std::string_view kAppliedKey("\0applied", 8);

std::string log_key(ShardId shard, LogIndex index) {
  std::string k = storage::shard_prefix(shard);
  put_be64(k, index.value);
  return k;
}

internal::CommandResult error_result(const Status& st) {
  internal::CommandResult r;
  r.set_errc(static_cast<uint32_t>(st.code()));
  r.set_message(st.message());
  return r;
}

}  // namespace

struct ShardHost::Shard {
  ShardId id;
  std::unique_ptr<StateMachine> sm;
  LogIndex last;     // last index appended to the log
  LogIndex applied;  // last index applied
};

struct ShardHost::Proposal {
  ShardId shard;
  std::string bytes;  // serialized command
  Callback done;
};

struct ShardHost::Appended {
  struct Entry {
    Shard* shard = nullptr;
    LogIndex index;
    internal::Command cmd;
    Callback done;
  };
  std::vector<Entry> entries;
  size_t bytes = 0;
};

ShardHost::ShardHost(storage::Engine& engine, ShardHostOptions opts)
    : engine_(engine), opts_(opts) {
  applier_ = std::thread([this] { run_applier(); });
  appender_ = std::thread([this] { run_appender(); });
}

ShardHost::~ShardHost() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  space_cv_.notify_all();
  appender_.join();
  applier_.join();
}

Status ShardHost::add_shard(ShardId id, std::unique_ptr<StateMachine> sm) {
  auto shard = std::make_unique<Shard>();
  shard->id = id;
  shard->sm = std::move(sm);

  // The durable applied index, then replay every log entry past it.
  std::string applied_key = storage::shard_prefix(id) + std::string(kAppliedKey);
  auto applied = engine_.get(storage::Cf::state, applied_key);
  if (!applied.is_ok()) return applied.status();
  if (applied->has_value()) shard->applied = LogIndex(get_be64(**applied));
  shard->last = shard->applied;

  auto txn = engine_.begin();
  storage::TxnWriter writer(*txn, id);
  Status replay_status;
  auto st = engine_.scan(
      storage::Cf::log, log_key(id, LogIndex(shard->applied.value + 1)),
      prefix_successor(storage::shard_prefix(id)), [&](std::string_view k, std::string_view v) {
        LogIndex index(get_be64(k.substr(8)));
        internal::Command cmd;
        if (!cmd.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          replay_status = Status(Errc::corruption, "shard " + std::to_string(id.value) +
                                                       ": unparsable log entry " +
                                                       std::to_string(index.value));
          return false;
        }
        internal::CommandResult result;
        txn->set_save_point();
        shard->sm->apply(index, cmd, writer, result);
        if (result.errc() != 0) {
          txn->rollback_to_save_point();
        } else {
          txn->pop_save_point();
        }
        txn->del_raw(storage::Cf::log, k);
        shard->applied = index;
        shard->last = index;
        return true;
      });
  TESSERA_TRY(st);
  TESSERA_TRY(replay_status);
  std::string applied_value;
  put_be64(applied_value, shard->applied.value);
  txn->put_raw(storage::Cf::state, applied_key, applied_value);
  TESSERA_TRY(engine_.commit(*txn, true));

  std::lock_guard lk(mu_);
  TESSERA_ASSERT(shards_.find(id) == shards_.end());
  shards_.emplace(id, std::move(shard));
  return Status::ok();
}

bool ShardHost::has_shard(ShardId id) const {
  std::lock_guard lk(mu_);
  return shards_.count(id) != 0;
}

void ShardHost::propose(ShardId shard, const internal::Command& cmd, Callback done) {
  Proposal p{shard, cmd.SerializeAsString(), std::move(done)};
  if (p.bytes.size() > opts_.command_bytes_max) {
    p.done(error_result(Status(Errc::too_large, "request of " + std::to_string(p.bytes.size()) +
                                                    " bytes: too large (limit " +
                                                    std::to_string(opts_.command_bytes_max) + ")")));
    return;
  }
  std::unique_lock lk(mu_);
  if (shards_.count(shard) == 0) {
    lk.unlock();
    p.done(error_result(Status(Errc::unavailable, "shard " + std::to_string(shard.value) +
                                                      ": not hosted on this node")));
    return;
  }
  space_cv_.wait(lk, [&] { return stopping_ || queue_bytes_ < opts_.queue_bytes_max; });
  if (stopping_) {
    lk.unlock();
    p.done(error_result(Status(Errc::unavailable, "node is shutting down")));
    return;
  }
  queue_bytes_ += p.bytes.size();
  queue_.push_back(std::move(p));
  lk.unlock();
  queue_cv_.notify_one();
}

internal::CommandResult ShardHost::propose_wait(ShardId shard, const internal::Command& cmd) {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  internal::CommandResult out;
  propose(shard, cmd, [&](internal::CommandResult&& r) {
    std::lock_guard lk(m);
    out = std::move(r);
    ready = true;
    cv.notify_one();
  });
  std::unique_lock lk(m);
  cv.wait(lk, [&] { return ready; });
  return out;
}

LogIndex ShardHost::applied_index(ShardId shard) const {
  std::lock_guard lk(mu_);
  auto it = shards_.find(shard);
  return it == shards_.end() ? LogIndex() : it->second->applied;
}

LogIndex ShardHost::wait_applied(ShardId shard, LogIndex seen, int64_t timeout_ms) const {
  std::unique_lock lk(mu_);
  auto it = shards_.find(shard);
  if (it == shards_.end()) return LogIndex();
  const Shard* s = it->second.get();
  applied_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                       [&] { return stopping_ || s->applied > seen; });
  return s->applied;
}

ShardHost::Stats ShardHost::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void ShardHost::run_appender() {
  std::deque<Proposal> batch;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      queue_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      size_t bytes = 0;
      while (!queue_.empty() && batch.size() < opts_.batch_entries_max &&
             (batch.empty() || bytes + queue_.front().bytes.size() <= opts_.batch_bytes_max)) {
        bytes += queue_.front().bytes.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queue_bytes_ -= bytes;
    }
    space_cv_.notify_all();
    append_batch(batch);
    batch.clear();
  }
  std::lock_guard lk(mu_);
  appender_done_ = true;
  appended_cv_.notify_all();
}

void ShardHost::run_applier() {
  for (;;) {
    std::unique_ptr<Appended> a;
    {
      std::unique_lock lk(mu_);
      appended_cv_.wait(lk, [&] { return appender_done_ || !appended_.empty(); });
      if (appended_.empty()) return;  // appender done and nothing left
      a = std::move(appended_.front());
      appended_.pop_front();
    }
    appended_cv_.notify_all();  // room for the appender
    apply_batch(*a);
  }
}

void ShardHost::append_batch(std::deque<Proposal>& batch) {
  // One durable write for the whole batch, across shards. Commands are parsed
  // here so their bytes can move into the log write without a copy.
  auto a = std::make_unique<Appended>();
  a->entries.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    TESSERA_ASSERT(a->entries[i].cmd.ParseFromString(batch[i].bytes));
    a->entries[i].done = std::move(batch[i].done);
    a->bytes += batch[i].bytes.size();
  }
  storage::WriteBatch log;
  {
    std::lock_guard lk(mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      Shard* s = shards_.at(batch[i].shard).get();
      s->last = LogIndex(s->last.value + 1);
      a->entries[i].shard = s;
      a->entries[i].index = s->last;
      log.put(storage::Cf::log, log_key(s->id, s->last), std::move(batch[i].bytes));
    }
  }
  Status st = engine_.write(log, opts_.sync);
  if (!st.is_ok()) {
    // Nothing of the batch is acknowledged; the indexes are handed back so
    // the next batch reuses them (only this thread assigns indexes).
    {
      std::lock_guard lk(mu_);
      for (auto it = a->entries.rbegin(); it != a->entries.rend(); ++it) {
        it->shard->last = LogIndex(it->index.value - 1);
      }
    }
    for (auto& e : a->entries) e.done(error_result(st));
    return;
  }
  std::unique_lock lk(mu_);
  appended_cv_.wait(lk, [&] { return appended_.size() < kAppendedBatchesMax; });
  appended_.push_back(std::move(a));
  lk.unlock();
  appended_cv_.notify_all();
}

void ShardHost::apply_batch(Appended& a) {
  // Apply, in log order, into one transaction.
  auto txn = engine_.begin();
  std::vector<internal::CommandResult> results(a.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) {
    auto& e = a.entries[i];
    storage::TxnWriter writer(*txn, e.shard->id);
    txn->set_save_point();
    e.shard->sm->apply(e.index, e.cmd, writer, results[i]);
    if (results[i].errc() != 0) {
      txn->rollback_to_save_point();
    } else {
      txn->pop_save_point();
    }
    txn->del_raw(storage::Cf::log, log_key(e.shard->id, e.index));
  }
  std::unordered_map<ShardId, LogIndex> applied;
  for (auto& e : a.entries) applied[e.shard->id] = e.index;
  for (auto& [id, index] : applied) {
    std::string v;
    put_be64(v, index.value);
    txn->put_raw(storage::Cf::state, storage::shard_prefix(id) + std::string(kAppliedKey), v);
  }
  // Neither synced nor logged: the log entries it applies are durable and
  // are deleted only by this same write, and the engine flushes `log` and
  // `state` atomically — so after a crash either this write is on disk whole,
  // or the entries are still in the log and replay rebuilds it. Skipping the
  // WAL keeps applied data from being written twice.
  Status st = engine_.commit(*txn, false, /*wal=*/false);
  TESSERA_ASSERT_MSG(st.is_ok(), st.to_string().c_str());

  {
    std::lock_guard lk(mu_);
    for (auto& e : a.entries) e.shard->applied = e.index;
    stats_.batches++;
    stats_.entries += a.entries.size();
    stats_.bytes += a.bytes;
  }
  applied_cv_.notify_all();
  for (size_t i = 0; i < a.entries.size(); ++i) a.entries[i].done(std::move(results[i]));
}

}  // namespace tessera::shard
