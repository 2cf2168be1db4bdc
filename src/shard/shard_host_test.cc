#include "shard/shard_host.h"

#include <gtest/gtest.h>

#include "storage/test_engine.h"

#include <filesystem>
#include <thread>

#include "base/coding.h"
#include "tessera/internal/state.pb.h"

namespace tessera::shard {
namespace {

// Test state machine: CreateUserOp{name} appends `name` to key "log" and
// fails (with a write that must be rolled back) when name == "bad".
class AppendMachine : public StateMachine {
 public:
  void apply(LogIndex index, const internal::Command& cmd, storage::StateWriter& state,
             internal::CommandResult& result) override {
    auto cur = state.get("log");
    std::string v = cur->has_value() ? **cur : "";
    v += cmd.create_user().name() + ";";
    state.put("log", v);
    if (cmd.create_user().name() == "bad") {
      result.set_errc(static_cast<uint32_t>(Errc::invalid_argument));
      return;
    }
    result.set_message(std::to_string(index.value));
  }
};

internal::Command named(const std::string& name) {
  internal::Command c;
  c.mutable_create_user()->set_name(name);
  return c;
}

std::string read_log(ShardHost& host, ShardId id) {
  auto snap = host.snapshot();
  storage::SnapshotReader r(*snap, id);
  auto v = r.get("log");
  return v->has_value() ? **v : "";
}

class ShardHostTest : public ::testing::Test {
 protected:
  storage::TestEngine engine_{"shard"};
};

TEST_F(ShardHostTest, AppliesInOrderAndReturnsResults) {
  ShardHost host(*engine_, {});
  ASSERT_TRUE(host.add_shard(ShardId(1), std::make_unique<AppendMachine>()).is_ok());
  EXPECT_EQ(host.propose_wait(ShardId(1), named("a")).message(), "1");
  EXPECT_EQ(host.propose_wait(ShardId(1), named("b")).message(), "2");
  EXPECT_EQ(read_log(host, ShardId(1)), "a;b;");
  EXPECT_EQ(host.applied_index(ShardId(1)), LogIndex(2));
}

TEST_F(ShardHostTest, FailedCommandLeavesNoWrites) {
  ShardHost host(*engine_, {});
  ASSERT_TRUE(host.add_shard(ShardId(1), std::make_unique<AppendMachine>()).is_ok());
  (void)host.propose_wait(ShardId(1), named("a"));
  auto r = host.propose_wait(ShardId(1), named("bad"));
  EXPECT_EQ(r.errc(), static_cast<uint32_t>(Errc::invalid_argument));
  (void)host.propose_wait(ShardId(1), named("c"));
  EXPECT_EQ(read_log(host, ShardId(1)), "a;c;");
}

TEST_F(ShardHostTest, ConcurrentProposersAcrossShardsAllApplied) {
  ShardHost host(*engine_, {});
  ASSERT_TRUE(host.add_shard(ShardId(1), std::make_unique<AppendMachine>()).is_ok());
  ASSERT_TRUE(host.add_shard(ShardId(2), std::make_unique<AppendMachine>()).is_ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = host.propose_wait(ShardId(1 + t % 2), named("x"));
        EXPECT_EQ(r.errc(), 0u);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(host.applied_index(ShardId(1)), LogIndex(200));
  EXPECT_EQ(host.applied_index(ShardId(2)), LogIndex(200));
  EXPECT_LT(host.stats().batches, 400u);  // group commit merged some
}

TEST_F(ShardHostTest, RecoveryReplaysUnappliedLogEntries) {
  {
    ShardHost host(*engine_, {});
    ASSERT_TRUE(host.add_shard(ShardId(7), std::make_unique<AppendMachine>()).is_ok());
    (void)host.propose_wait(ShardId(7), named("a"));
  }
  // A crash after the log append and before the apply: the entry is in the
  // log only.
  storage::WriteBatch b;
  std::string key = storage::shard_prefix(ShardId(7));
  put_be64(key, 2);
  b.put(storage::Cf::log, key, named("b").SerializeAsString());
  ASSERT_TRUE(engine_->write(b, true).is_ok());

  ShardHost host(*engine_, {});
  ASSERT_TRUE(host.add_shard(ShardId(7), std::make_unique<AppendMachine>()).is_ok());
  EXPECT_EQ(read_log(host, ShardId(7)), "a;b;");
  EXPECT_EQ(host.applied_index(ShardId(7)), LogIndex(2));
  EXPECT_EQ(host.propose_wait(ShardId(7), named("c")).message(), "3");
}

TEST_F(ShardHostTest, RefusesOversizedCommandsAndUnknownShards) {
  ShardHostOptions opts;
  opts.command_bytes_max = 100;
  ShardHost host(*engine_, opts);
  ASSERT_TRUE(host.add_shard(ShardId(1), std::make_unique<AppendMachine>()).is_ok());
  EXPECT_EQ(host.propose_wait(ShardId(1), named(std::string(200, 'x'))).errc(),
            static_cast<uint32_t>(Errc::too_large));
  EXPECT_EQ(host.propose_wait(ShardId(9), named("a")).errc(),
            static_cast<uint32_t>(Errc::unavailable));
  EXPECT_EQ(read_log(host, ShardId(1)), "");
}

}  // namespace
}  // namespace tessera::shard
