#pragma once
// Applying commands to a shard and reading it the way the shard host does,
// for the tests of shard machines. Tests only.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/coding.h"
#include "base/ids.h"
#include "base/status.h"
#include "shard/state_machine.h"
#include "storage/engine.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns::shard_test {

// A principal of user `uid` in group `gid`.
inline internal::Principal user(uint32_t uid, uint32_t gid) {
  internal::Principal p;
  p.set_uid(uid);
  p.add_gids(gid);
  return p;
}

// A command of `who`, stamped with now_ms.
inline internal::Command command(const internal::Principal& who, int64_t now_ms) {
  internal::Command c;
  *c.mutable_principal() = who;
  c.set_now_ms(now_ms);
  return c;
}

// Runs fn(StateWriter&) → Status on `shard` in a transaction of its own, as
// the shard host applies a command: its writes are undone when it fails.
template <typename Fn>
Status apply_on(storage::Engine& engine, ShardId shard, Fn fn) {
  auto txn = engine.begin();
  storage::TxnWriter w(*txn, shard);
  txn->set_save_point();
  Status st = fn(static_cast<storage::StateWriter&>(w));
  if (st.is_ok()) {
    txn->pop_save_point();
  } else {
    txn->rollback_to_save_point();
  }
  EXPECT_TRUE(engine.commit(*txn, false).is_ok());
  return st;
}

// Applies the handler fn(StateWriter&, cmd, CommandResult&) → Status to
// `shard` as apply_on does; the result it gave goes to *out when set.
template <typename Fn>
Status apply_handler(storage::Engine& engine, ShardId shard, Fn fn, const internal::Command& cmd,
                     internal::CommandResult* out = nullptr) {
  internal::CommandResult result;
  Status st = apply_on(engine, shard, [&](storage::StateWriter& w) { return fn(w, cmd, result); });
  if (out) *out = result;
  return st;
}

// Applies `cmd` to `shard` with `machine` as the shard host does (its writes
// undone when it fails); the status its result carries, the result to *out
// when set.
inline Status run_machine(storage::Engine& engine, ShardId shard, shard::StateMachine& machine,
                          const internal::Command& cmd, internal::CommandResult* out = nullptr) {
  auto fn = [&](storage::StateWriter& w, const internal::Command& c, internal::CommandResult& r) {
    machine.apply(LogIndex(1), c, w, r);
    if (r.errc() == 0) return Status::ok();
    return Status(static_cast<Errc>(r.errc()), r.message());
  };
  return apply_handler(engine, shard, fn, cmd, out);
}

// Applies `cmd` to `shard` with `machine` at log index 1 and commits what it
// wrote; the result it gave.
inline internal::CommandResult apply_machine(storage::Engine& engine, ShardId shard,
                                             shard::StateMachine& machine,
                                             const internal::Command& cmd) {
  auto txn = engine.begin();
  storage::TxnWriter w(*txn, shard);
  internal::CommandResult result;
  machine.apply(LogIndex(1), cmd, w, result);
  EXPECT_TRUE(engine.commit(*txn, false).is_ok());
  return result;
}

// fn(const StateReader&) over a fresh snapshot of `shard`.
template <typename Fn>
auto read_on(storage::Engine& engine, ShardId shard, Fn fn) {
  auto snap = engine.snapshot();
  storage::SnapshotReader r(*snap, shard);
  return fn(static_cast<const storage::StateReader&>(r));
}

// The number of keys of `shard` starting with `prefix`.
inline size_t count_keys(storage::Engine& engine, ShardId shard, const std::string& prefix) {
  size_t n = 0;
  Status st = read_on(engine, shard, [&](const storage::StateReader& r) {
    return r.scan(prefix, prefix_successor(prefix), [&](std::string_view, std::string_view) {
      ++n;
      return true;
    });
  });
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return n;
}

}  // namespace tessera::ns::shard_test
