// TableRouter on a one-node cluster in process: a table's rows stay
// readable and writable across a split, a split left half-done by a crash
// is resumed from the old tablet's record, and a split whose new shard is
// gone is aborted and its keys unfrozen.

#include "server/table_router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "namespace/table_map.h"
#include "namespace/tablet_ops.h"
#include "server/test_node.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using internal::Command;

constexpr int kRows = 200;

std::string key_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%05d", i);
  return buf;
}
std::string doc_of(int i) { return "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(500, 'x') + "\"}"; }

class TableRouterTest : public ::testing::Test {
 protected:
  TestNode node_{"table_router"};
  shard::ShardHost& host_ = node_.host;
  Backend& backend_ = node_.backend;
  TableRouter& tables_ = backend_.tables();
  internal::Principal admin_ = backend_.node_principal();

  void SetUp() override {
    ASSERT_TRUE(backend_.bootstrap("test", "127.0.0.1:1", {}).is_ok());
    ASSERT_TRUE(backend_.start(10000).is_ok());
    tables_.set_split_bytes(1ull << 40);  // splits only when a test calls split()
    ASSERT_TRUE(tables_.create_table(admin_, "/t", 0).is_ok());
    for (int i = 0; i < kRows; ++i) put(i, doc_of(i));
  }
  void TearDown() override { tables_.stop(); }

  void put(int i, const std::string& doc) {
    v1::RowOp op;
    op.mutable_put()->set_document(doc);
    auto r = tables_.write(admin_, "/t", key_of(i), {op});
    ASSERT_TRUE(r.is_ok()) << key_of(i) << ": " << r.status().to_string();
  }

  std::vector<internal::TabletRef> tablets() {
    auto snap = backend_.snapshot();
    storage::SnapshotReader sr(*snap, backend_.route("/t").shard);
    auto t = ns::open_table(ns::VolumeView(sr), admin_, "/t", 0);
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    return t.is_ok() ? t->tablets : std::vector<internal::TabletRef>{};
  }
  internal::TabletInfo info(uint64_t shard) {
    auto snap = backend_.snapshot();
    storage::SnapshotReader sr(*snap, ShardId(shard));
    auto i = ns::tablet_info(sr);
    EXPECT_TRUE(i.is_ok()) << i.status().to_string();
    return i.is_ok() ? *i : internal::TabletInfo{};
  }
  std::vector<std::string> scanned() {
    std::vector<std::string> keys;
    v1::ScanRequest req;
    req.set_path("/t");
    req.set_limit(37);  // pages end inside tablets and at their edges
    for (;;) {
      auto page = tables_.scan(admin_, req);
      EXPECT_TRUE(page.is_ok()) << page.status().to_string();
      if (!page.is_ok()) return keys;
      for (const auto& r : page->rows()) keys.push_back(r.key());
      if (page->next_page_token().empty()) return keys;
      req.set_page_token(page->next_page_token());
    }
  }
  // Every row readable by get and by a paged scan, in key order, once.
  void expect_all_rows() {
    std::vector<std::string> want;
    for (int i = 0; i < kRows; ++i) want.push_back(key_of(i));
    EXPECT_EQ(scanned(), want);
    for (int i = 0; i < kRows; i += 7) {
      v1::GetRowRequest g;
      g.set_path("/t");
      g.set_key(key_of(i));
      auto row = tables_.get(admin_, g);
      ASSERT_TRUE(row.is_ok()) << key_of(i) << ": " << row.status().to_string();
      EXPECT_EQ(row->row().document(), doc_of(i));
    }
  }
  // A new tablet shard for [key, end) of the table, made as a split's first
  // step makes it: allocated, bootstrapped, initialised.
  uint64_t new_tablet(const internal::TabletInfo& old, const std::string& key) {
    Command alloc;
    alloc.mutable_create_shards()->set_volume_id(old.volume_id());
    alloc.mutable_create_shards()->set_count(1);
    alloc.mutable_create_shards()->set_replication(1);
    alloc.mutable_create_shards()->set_initial_node(1);
    alloc.mutable_create_shards()->set_table_ino(old.table_ino());
    auto ids = backend_.propose_ok(ShardId(cluster::kMetaShard), alloc, admin_);
    EXPECT_TRUE(ids.is_ok());
    const uint64_t id = ids->shards(0);
    EXPECT_TRUE(host_.add_shard(ShardId(id), {host_.self()}).is_ok());
    Command init;
    auto* t = init.mutable_init_tablet()->mutable_tablet();
    *t = old;
    t->set_start_key(key);
    t->clear_split_key();
    t->set_split_shard(0);
    EXPECT_TRUE(backend_.propose_ok(ShardId(id), init, admin_).is_ok());
    return id;
  }
  Status freeze(uint64_t shard, const std::string& key, uint64_t to) {
    Command cmd;
    cmd.mutable_tablet_split()->set_split_key(key);
    cmd.mutable_tablet_split()->set_split_shard(to);
    return backend_.propose_ok(ShardId(shard), cmd, admin_).status();
  }
};

TEST_F(TableRouterTest, RowsStayReadableAndWritableAcrossSplits) {
  ASSERT_EQ(tablets().size(), 1u);
  const uint64_t first = tablets()[0].shard();
  tables_.set_split_bytes(1);
  ASSERT_TRUE(tables_.split(first).is_ok());
  auto map = tablets();
  ASSERT_EQ(map.size(), 2u);
  const std::string mid = map[1].start_key();
  EXPECT_GT(mid, key_of(0));
  EXPECT_LT(mid, key_of(kRows - 1));
  // The old tablet ends where the new one starts; no split is left open.
  auto old = info(first);
  EXPECT_EQ(old.end_key(), mid);
  EXPECT_TRUE(old.split_key().empty());
  EXPECT_EQ(info(map[1].shard()).start_key(), mid);
  EXPECT_EQ(old.rows() + info(map[1].shard()).rows(), static_cast<uint64_t>(kRows));
  expect_all_rows();

  // Split the upper tablet again: three tablets, rows still all there.
  ASSERT_TRUE(tables_.split(map[1].shard()).is_ok());
  ASSERT_EQ(tablets().size(), 3u);
  expect_all_rows();
  // Writes land in each tablet; versions go on from before the split.
  for (int i : {0, kRows / 2, kRows - 1}) put(i, doc_of(i));
  v1::GetRowRequest g;
  g.set_path("/t");
  g.set_key(key_of(kRows - 1));
  EXPECT_EQ(tables_.get(admin_, g)->row().version(), 2u);
}

TEST_F(TableRouterTest, ASplitFrozenByACrashedLeaderIsResumed) {
  const uint64_t first = tablets()[0].shard();
  const auto old = info(first);
  const std::string key = key_of(120);
  const uint64_t next = new_tablet(old, key);
  ASSERT_TRUE(freeze(first, key, next).is_ok());
  // Frozen: the moving half refuses writes (the router retries them), the
  // rest takes them; reads go on everywhere.
  v1::RowOp op;
  op.mutable_put()->set_document(doc_of(5));
  ASSERT_TRUE(tables_.write(admin_, "/t", key_of(5), {op}).is_ok());
  expect_all_rows();

  // The tablet's next leader resumes from its record: copy, end, map, trim.
  ASSERT_TRUE(tables_.split(first).is_ok());
  auto map = tablets();
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map[1].start_key(), key);
  EXPECT_EQ(map[1].shard(), next);
  EXPECT_EQ(info(first).end_key(), key);
  EXPECT_TRUE(info(first).split_key().empty());
  EXPECT_EQ(info(next).rows(), static_cast<uint64_t>(kRows - 120));
  expect_all_rows();
  // The new tablet was marked ready, so the meta leader keeps it.
  auto snap = backend_.snapshot();
  storage::SnapshotReader sr(*snap, ShardId(cluster::kMetaShard));
  auto records = cluster::MetaReader(sr).shards();
  ASSERT_TRUE(records.is_ok());
  auto rec = std::find_if(records->begin(), records->end(), [&](const auto& r) { return r.id() == next; });
  ASSERT_NE(rec, records->end());
  EXPECT_TRUE(rec->ready());
  EXPECT_EQ(rec->table_ino(), old.table_ino());
}

TEST_F(TableRouterTest, ASplitWhoseNewShardIsGoneIsAbortedAndItsKeysUnfrozen) {
  const uint64_t first = tablets()[0].shard();
  ASSERT_TRUE(freeze(first, key_of(150), 999).is_ok());
  Command put;
  put.mutable_row_batch()->set_path("/t");
  put.mutable_row_batch()->set_key(key_of(160));
  put.mutable_row_batch()->add_ops()->mutable_put()->set_document("{}");
  auto refused = backend_.propose(ShardId(first), put, admin_);
  EXPECT_EQ(static_cast<Errc>(refused.errc()), Errc::unavailable) << refused.message();
  EXPECT_TRUE(refused.has_tablet()) << "the router needs the info to retry safely";

  Status st = tables_.split(first);
  EXPECT_EQ(st.code(), Errc::unavailable) << st.to_string();
  EXPECT_NE(st.message().find("aborted"), std::string::npos) << st.to_string();
  EXPECT_TRUE(info(first).split_key().empty());
  EXPECT_EQ(tablets().size(), 1u);
  this->put(160, doc_of(160));
  // A later round splits for real.
  tables_.set_split_bytes(1);
  ASSERT_TRUE(tables_.split(first).is_ok());
  EXPECT_EQ(tablets().size(), 2u);
  expect_all_rows();
}

TEST_F(TableRouterTest, ATabletOfOneRowIsNotSplit) {
  ASSERT_TRUE(tables_.create_table(admin_, "/one", 0).is_ok());
  v1::RowOp op;
  op.mutable_put()->set_document(doc_of(1));
  ASSERT_TRUE(tables_.write(admin_, "/one", "only", {op}).is_ok());
  uint64_t shard = 0;
  {
    auto snap = backend_.snapshot();
    storage::SnapshotReader sr(*snap, backend_.route("/one").shard);
    auto t = ns::open_table(ns::VolumeView(sr), admin_, "/one", 0);
    ASSERT_TRUE(t.is_ok());
    shard = t->tablets[0].shard();
  }
  tables_.set_split_bytes(1);
  // Nothing to split is not a failure (the splitter would log it each round).
  EXPECT_TRUE(tables_.split(shard).is_ok());
  EXPECT_TRUE(info(shard).split_key().empty());
  EXPECT_TRUE(info(shard).end_key().empty());
}

}  // namespace
}  // namespace tessera::server
