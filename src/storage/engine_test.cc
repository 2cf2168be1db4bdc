#include "storage/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/state_view.h"
#include "storage/test_engine.h"

namespace tessera::storage {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void reopen() { engine_.reopen(); }

  TestEngine engine_{"engine"};
};

TEST_F(EngineTest, WriteThenReadAcrossReopen) {
  WriteBatch b;
  b.put(Cf::state, "k1", "v1");
  b.put(Cf::log, "k1", "log-v1");
  ASSERT_TRUE(engine_->write(b, true).is_ok());
  reopen();
  auto v = engine_->get(Cf::state, "k1");
  ASSERT_TRUE(v.is_ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "v1");
  EXPECT_EQ(**engine_->get(Cf::log, "k1"), "log-v1");
  EXPECT_FALSE(engine_->get(Cf::state, "missing")->has_value());
}

TEST_F(EngineTest, TxnSeesOwnWritesAndRollsBackSavePoints) {
  WriteBatch b;
  b.put(Cf::state, "a", "1");
  ASSERT_TRUE(engine_->write(b, false).is_ok());
  auto txn = engine_->begin();
  txn->put("b", "2");
  txn->set_save_point();
  txn->put("c", "3");
  txn->del("a");
  EXPECT_FALSE(txn->get("a")->has_value());
  txn->rollback_to_save_point();
  EXPECT_EQ(**txn->get("a"), "1");
  EXPECT_FALSE(txn->get("c")->has_value());
  std::vector<std::string> keys;
  ASSERT_TRUE(txn->scan("", "", [&](std::string_view k, std::string_view) {
                   keys.emplace_back(k);
                   return true;
                 }).is_ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(engine_->commit(*txn, true).is_ok());
  EXPECT_EQ(**engine_->get(Cf::state, "b"), "2");
}

TEST_F(EngineTest, PrefixedViewsIsolateShards) {
  auto txn = engine_->begin();
  TxnWriter s1(*txn, ShardId(1)), s2(*txn, ShardId(2));
  s1.put("x", "one");
  s2.put("x", "two");
  ASSERT_TRUE(engine_->commit(*txn, false).is_ok());
  auto snap = engine_->snapshot();
  SnapshotReader r1(*snap, ShardId(1));
  EXPECT_EQ(**r1.get("x"), "one");
  int n = 0;
  ASSERT_TRUE(r1.scan("", "", [&](std::string_view k, std::string_view v) {
                  EXPECT_EQ(k, "x");
                  EXPECT_EQ(v, "one");
                  ++n;
                  return true;
                }).is_ok());
  EXPECT_EQ(n, 1);
}

TEST_F(EngineTest, BatchOpsApplyInOrderIncludingRangeDeletes) {
  WriteBatch wb;
  wb.put(Cf::log, "a1", "x");
  wb.put(Cf::log, "a2", "x");
  wb.put(Cf::log, "b1", "x");
  wb.del_range(Cf::log, "a", "b");
  wb.put(Cf::log, "a2", "again");  // after the range delete: survives
  wb.del(Cf::log, "b1");
  wb.put(Cf::log, "b1", "back");  // after the delete: survives
  ASSERT_TRUE(engine_->write(wb, true).is_ok());
  EXPECT_FALSE(engine_->get(Cf::log, "a1")->has_value());
  EXPECT_EQ(engine_->get(Cf::log, "a2")->value(), "again");
  EXPECT_EQ(engine_->get(Cf::log, "b1")->value(), "back");
}

TEST_F(EngineTest, IngestedSstSupersedesOlderWritesAndSurvivesReopen) {
  WriteBatch wb;
  wb.put(Cf::state, "k1", "old");
  wb.put(Cf::state, "k3", "gone");
  ASSERT_TRUE(engine_->write(wb, true).is_ok());
  WriteBatch clear;
  clear.del_range(Cf::state, "k", "l");
  ASSERT_TRUE(engine_->write(clear, true).is_ok());
  std::string path = engine_->dir() + "/staged.sst";
  auto w = engine_->sst_writer(Cf::state, path);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->put("k1", "new").is_ok());
  ASSERT_TRUE((*w)->put("k2", "two").is_ok());
  EXPECT_FALSE((*w)->put("k0", "unsorted").is_ok());
  ASSERT_TRUE((*w)->finish().is_ok());
  ASSERT_TRUE(engine_->ingest(Cf::state, path).is_ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  engine_.reopen();
  EXPECT_EQ(engine_->get(Cf::state, "k1")->value(), "new");
  EXPECT_EQ(engine_->get(Cf::state, "k2")->value(), "two");
  EXPECT_FALSE(engine_->get(Cf::state, "k3")->has_value());
}

TEST(Frame, DetectsCorruption) {
  std::string f = frame("payload");
  EXPECT_EQ(*unframe(f, "k"), "payload");
  f[5] ^= 1;
  auto r = unframe(f, "k");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::corruption);
  EXPECT_FALSE(unframe("ab", "k").is_ok());
}

}  // namespace
}  // namespace tessera::storage
