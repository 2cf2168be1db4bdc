#include "namespace/table_ops.h"

#include <gtest/gtest.h>

#include "storage/test_engine.h"
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/coding.h"
#include "namespace/keys.h"
#include "namespace/row_ops_test_util.h"
#include "storage/engine.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns {
namespace {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::Principal;
using tessera::v1::ObjectKind;
using tessera::v1::RowOp;
using row_test::delete_op;
using row_test::put_op;
using row_test::update_op;

const ShardId kShard(1);
constexpr uint64_t kTable = 2;       // "/t", owned by uid 1000, mode 0644
constexpr uint64_t kOtherTable = 3;  // "/u"
constexpr int64_t kNowMs = 1'700'000'000'000;

Principal admin() {
  Principal p;
  p.set_admin(true);
  p.set_name("root");
  return p;
}
Principal owner() {
  Principal p;
  p.set_uid(1000);
  p.add_gids(100);
  return p;
}
Principal stranger() {
  Principal p;
  p.set_uid(2000);
  p.add_gids(200);
  return p;
}

Command batch(std::string key, std::vector<RowOp> ops, const Principal& who = admin(),
              std::string path = "/t") {
  Command cmd;
  *cmd.mutable_principal() = who;
  cmd.set_now_ms(kNowMs);
  *cmd.mutable_row_batch() = row_test::row_batch(std::move(path), std::move(key), std::move(ops));
  return cmd;
}

Inode make_inode(uint64_t id, ObjectKind kind, uint32_t mode, uint32_t uid, uint32_t gid) {
  Inode n;
  n.set_id(id);
  n.set_kind(kind);
  n.set_mode(mode);
  n.set_uid(uid);
  n.set_gid(gid);
  n.set_nlink(1);
  n.set_version(1);
  return n;
}

class TableOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {

    auto txn = engine_->begin();
    storage::TxnWriter w(*txn, kShard);
    internal::VolumeState vol;
    vol.set_volume_id(7);
    vol.set_mount_path("/");
    vol.set_next_inode(4);
    w.put(volume_key(), vol.SerializeAsString());
    auto vt = VolumeTxn::open(w);
    ASSERT_TRUE(vt.is_ok()) << vt.status().to_string();
    Inode root = make_inode(kRootInode, ObjectKind::KIND_DIRECTORY, 0755, 0, 0);
    root.set_entries(2);
    vt->put_inode(root);
    vt->put_inode(make_inode(kTable, ObjectKind::KIND_TABLE, 0644, 1000, 100));
    vt->put_inode(make_inode(kOtherTable, ObjectKind::KIND_TABLE, 0644, 1000, 100));
    vt->put_dirent(kRootInode, "t", kTable);
    vt->put_dirent(kRootInode, "u", kOtherTable);
    ASSERT_TRUE(engine_->commit(*txn, false).is_ok());
  }

  // Applies `cmd` the way the shard host does: on error every write of the
  // command is rolled back to the save point.
  Status apply(const Command& cmd, CommandResult* out = nullptr) {
    auto txn = engine_->begin();
    storage::TxnWriter w(*txn, kShard);
    txn->set_save_point();
    CommandResult result;
    auto vt = VolumeTxn::open(w);
    if (!vt.is_ok()) return vt.status();
    Status st = apply_row_batch(*vt, cmd, result);
    if (st.is_ok()) {
      vt->save();
      txn->pop_save_point();
    } else {
      txn->rollback_to_save_point();
    }
    EXPECT_TRUE(engine_->commit(*txn, false).is_ok());
    if (out != nullptr) *out = result;
    return st;
  }

  // Runs `fn` with a VolumeTxn and commits it.
  template <typename Fn>
  void mutate(Fn fn) {
    auto txn = engine_->begin();
    storage::TxnWriter w(*txn, kShard);
    auto vt = VolumeTxn::open(w);
    ASSERT_TRUE(vt.is_ok());
    fn(*vt);
    vt->save();
    ASSERT_TRUE(engine_->commit(*txn, false).is_ok());
  }

  template <typename Fn>
  auto read(Fn fn) {
    auto snap = engine_->snapshot();
    storage::SnapshotReader r(*snap, kShard);
    VolumeView view(r);
    return fn(view);
  }

  Result<tessera::v1::GetRowResponse> get(const std::string& key, const Principal& who = admin()) {
    tessera::v1::GetRowRequest req;
    req.set_path("/t");
    req.set_key(key);
    return read([&](const VolumeView& v) { return get_row(v, who, req); });
  }

  Result<tessera::v1::ScanResponse> scan(tessera::v1::ScanRequest req,
                                         const Principal& who = admin()) {
    if (req.path().empty()) req.set_path("/t");
    return read([&](const VolumeView& v) { return scan_rows(v, who, req); });
  }

  std::vector<std::string> scan_keys(const tessera::v1::ScanRequest& req) {
    auto resp = scan(req);
    EXPECT_TRUE(resp.is_ok()) << resp.status().to_string();
    std::vector<std::string> keys;
    if (resp.is_ok()) {
      for (const auto& row : resp->rows()) keys.push_back(row.key());
    }
    return keys;
  }

  Inode table() {
    return read([](const VolumeView& v) { return v.inode_or_corrupt(kTable).value(); });
  }
  internal::VolumeState volume() {
    return read([](const VolumeView& v) { return v.volume().value(); });
  }

  void put(const std::string& key, const std::string& doc) {
    Status st = apply(batch(key, {put_op(doc)}));
    ASSERT_TRUE(st.is_ok()) << st.to_string();
  }

  storage::TestEngine engine_{"table-ops"};
};

TEST_F(TableOpsTest, PutThenGetStoresDocumentAsGiven) {
  CommandResult result;
  const std::string doc = R"({"b": 2, "a": [1, 2]})";
  ASSERT_TRUE(apply(batch("k1", {put_op(doc)}), &result).is_ok());
  EXPECT_EQ(result.row().key(), "k1");
  EXPECT_EQ(result.row().document(), doc);
  EXPECT_EQ(result.row().version(), 1u);
  EXPECT_FALSE(result.deleted());

  auto got = get("k1");
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->row().document(), doc);
  EXPECT_EQ(got->row().version(), 1u);

  Inode t = table();
  EXPECT_EQ(t.rows(), 1u);
  EXPECT_EQ(t.size(), 2 + doc.size());
  EXPECT_EQ(t.version(), 2u);
  EXPECT_EQ(t.mtime_ms(), kNowMs);
  EXPECT_EQ(volume().tables_bytes(), 2 + doc.size());
  EXPECT_EQ(volume().used_bytes(), 2 + doc.size());

  auto missing = get("nope");
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  EXPECT_EQ(missing.status().message(), "/t: row nope: not found");
}

TEST_F(TableOpsTest, OverwriteBumpsVersionAndRecountsBytes) {
  put("k", R"({"a":1})");
  put("k", R"({"a":12345})");
  auto got = get("k");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->row().version(), 2u);
  Inode t = table();
  EXPECT_EQ(t.rows(), 1u);
  EXPECT_EQ(t.size(), 1 + std::string(R"({"a":12345})").size());
  EXPECT_EQ(volume().tables_bytes(), t.size());
}

TEST_F(TableOpsTest, IfAbsentConflictNamesEscapedKey) {
  const std::string key("a\x01\\", 3);
  put(key, "{}");
  Status st = apply(batch(key, {put_op(R"({"x":1})", /*if_absent=*/true)}));
  EXPECT_EQ(st.code(), Errc::already_exists);
  EXPECT_EQ(st.message(), "/t: row a\\x01\\x5c: already exists");
  EXPECT_EQ(get(key)->row().document(), "{}");
}

TEST_F(TableOpsTest, IfVersionMismatchLeavesRowUnchanged) {
  put("k", R"({"v":1})");
  Status st = apply(batch("k", {put_op(R"({"v":2})", false, 5)}));
  EXPECT_EQ(st.code(), Errc::version_mismatch);
  EXPECT_NE(st.message().find("expected version 5"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("at version 1"), std::string::npos) << st.message();
  auto got = get("k");
  EXPECT_EQ(got->row().document(), R"({"v":1})");
  EXPECT_EQ(got->row().version(), 1u);
  EXPECT_EQ(table().version(), 2u);

  EXPECT_EQ(apply(batch("k", {update_op(R"({"v":3})", {}, false, 9)})).code(),
            Errc::version_mismatch);
  EXPECT_EQ(apply(batch("k", {delete_op(9)})).code(), Errc::version_mismatch);
  EXPECT_EQ(apply(batch("missing", {put_op("{}", false, 1)})).code(), Errc::version_mismatch);
  EXPECT_EQ(apply(batch("missing", {delete_op(1)})).code(), Errc::version_mismatch);

  CommandResult result;
  ASSERT_TRUE(apply(batch("k", {put_op(R"({"v":2})", false, 1)}), &result).is_ok());
  EXPECT_EQ(result.row().version(), 2u);
}

TEST_F(TableOpsTest, UpdateSetsRemovesAndCreates) {
  Status st = apply(batch("k", {update_op(R"({"x":1})")}));
  EXPECT_EQ(st.code(), Errc::not_found);
  EXPECT_EQ(st.message(), "/t: row k: not found");

  CommandResult result;
  ASSERT_TRUE(apply(batch("k", {update_op(R"({"x":1,"y":"a"})", {}, true)}), &result).is_ok());
  EXPECT_EQ(result.row().document(), R"({"x":1,"y":"a"})");
  EXPECT_EQ(result.row().version(), 1u);

  ASSERT_TRUE(apply(batch("k", {update_op(R"({"z":{"n":true},"y":"b"})", {"x", "absent"})}),
                    &result)
                  .is_ok());
  EXPECT_EQ(result.row().document(), R"({"y":"b","z":{"n":true}})");
  EXPECT_EQ(result.row().version(), 2u);

  // Only `remove`: an empty `set` sets nothing.
  ASSERT_TRUE(apply(batch("k", {update_op("", {"z"}, false, 2)}), &result).is_ok());
  EXPECT_EQ(get("k")->row().document(), R"({"y":"b"})");
  EXPECT_EQ(get("k")->row().version(), 3u);
  EXPECT_EQ(table().size(), 1 + std::string(R"({"y":"b"})").size());
}

TEST_F(TableOpsTest, FailedStepAppliesNothing) {
  put("k", R"({"a":1})");
  const Inode t0 = table();
  const auto v0 = volume();

  Status st = apply(batch("k", {put_op(R"({"a":2})"), put_op(R"({"b":1})", true)}));
  EXPECT_EQ(st.code(), Errc::already_exists);
  st = apply(batch("new", {update_op(R"({"a":1})", {}, true), delete_op(99)}));
  EXPECT_EQ(st.code(), Errc::version_mismatch);
  st = apply(batch("k", {delete_op(), delete_op()}));
  EXPECT_EQ(st.code(), Errc::not_found);
  st = apply(batch("k", {put_op(R"({"a":3})"), put_op("[]")}));
  EXPECT_EQ(st.code(), Errc::invalid_argument);

  auto got = get("k");
  EXPECT_EQ(got->row().document(), R"({"a":1})");
  EXPECT_EQ(got->row().version(), 1u);
  EXPECT_EQ(get("new").status().code(), Errc::not_found);
  EXPECT_EQ(table().SerializeAsString(), t0.SerializeAsString());
  EXPECT_EQ(volume().SerializeAsString(), v0.SerializeAsString());
}

TEST_F(TableOpsTest, StepsOfOneBatchKeepCountingVersions) {
  CommandResult result;
  ASSERT_TRUE(apply(batch("k", {put_op(R"({"a":1})"), update_op(R"({"b":2})"), delete_op(2),
                                put_op(R"({"c":3})", true)}),
                    &result)
                  .is_ok());
  EXPECT_FALSE(result.deleted());
  EXPECT_EQ(result.row().version(), 4u);
  EXPECT_EQ(result.row().document(), R"({"c":3})");
  EXPECT_EQ(table().rows(), 1u);

  // Created and deleted within one batch: reported deleted, table untouched.
  const Inode t0 = table();
  ASSERT_TRUE(apply(batch("tmp", {put_op("{}"), delete_op()}), &result).is_ok());
  EXPECT_TRUE(result.deleted());
  EXPECT_EQ(get("tmp").status().code(), Errc::not_found);
  EXPECT_EQ(table().SerializeAsString(), t0.SerializeAsString());
}

TEST_F(TableOpsTest, DeleteRemovesRowAndUsage) {
  put("k", R"({"a":1})");
  CommandResult result;
  ASSERT_TRUE(apply(batch("k", {delete_op(1)}), &result).is_ok());
  EXPECT_TRUE(result.deleted());
  EXPECT_EQ(result.row().key(), "k");
  EXPECT_EQ(get("k").status().code(), Errc::not_found);
  EXPECT_EQ(table().rows(), 0u);
  EXPECT_EQ(table().size(), 0u);
  EXPECT_EQ(volume().tables_bytes(), 0u);
  EXPECT_EQ(volume().used_bytes(), 0u);

  EXPECT_EQ(apply(batch("k", {delete_op()})).code(), Errc::not_found);
  // A row re-created by a later command starts over at version 1.
  ASSERT_TRUE(apply(batch("k", {put_op("{}")}), &result).is_ok());
  EXPECT_EQ(result.row().version(), 1u);
}

TEST_F(TableOpsTest, RejectsBadDocumentsAndKeys) {
  Status st = apply(batch("k", {put_op("[1,2]")}));
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_EQ(st.message(), "/t: document is not a JSON object: got array");
  st = apply(batch("k", {put_op("{bad")}));
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_EQ(st.message().rfind("/t: document is not a JSON object: parse error", 0), 0u)
      << st.message();
  EXPECT_EQ(apply(batch("k", {put_op("")})).code(), Errc::invalid_argument);
  EXPECT_EQ(apply(batch("k", {put_op(R"({"a":1} x)")})).code(), Errc::invalid_argument);
  EXPECT_EQ(apply(batch("k", {update_op("3", {}, true)})).code(), Errc::invalid_argument);
  EXPECT_EQ(apply(batch("k", {put_op("{\"a\":\"\xff\"}")})).code(), Errc::invalid_argument);
  st = apply(batch("k", {put_op(R"({"a":1e999})")}));
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_NE(st.message().find("number overflow"), std::string::npos) << st.message();

  std::string deep = "{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}";
  st = apply(batch("k", {put_op(deep)}));
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_NE(st.message().find("nested deeper"), std::string::npos) << st.message();

  std::string big = "{\"a\":\"" + std::string(kDocumentBytesMax, 'x') + "\"}";
  EXPECT_EQ(apply(batch("k", {put_op(big)})).code(), Errc::too_large);
  // Two updates that together pass the limit.
  std::string half = std::string(kDocumentBytesMax / 2 + 10, 'y');
  st = apply(batch("k", {update_op("{\"a\":\"" + half + "\"}", {}, true),
                         update_op("{\"b\":\"" + half + "\"}")}));
  EXPECT_EQ(st.code(), Errc::too_large);

  EXPECT_EQ(apply(batch("", {put_op("{}")})).code(), Errc::invalid_argument);
  EXPECT_EQ(apply(batch(std::string(kRowKeyBytesMax + 1, 'k'), {put_op("{}")})).code(),
            Errc::invalid_argument);
  ASSERT_TRUE(apply(batch(std::string(kRowKeyBytesMax, 'k'), {put_op("{}")})).is_ok());
  EXPECT_EQ(apply(batch("k", {})).code(), Errc::invalid_argument);
  EXPECT_EQ(apply(batch("k", {RowOp()})).code(), Errc::invalid_argument);
  EXPECT_EQ(get("").status().code(), Errc::invalid_argument);

  EXPECT_EQ(table().rows(), 1u);
}

TEST_F(TableOpsTest, ResolvesOnlyTables) {
  EXPECT_EQ(apply(batch("k", {put_op("{}")}, admin(), "/")).code(), Errc::wrong_kind);
  EXPECT_EQ(apply(batch("k", {put_op("{}")}, admin(), "/missing")).code(), Errc::not_found);
}

TEST_F(TableOpsTest, QuotaExceededWritesNothing) {
  mutate([](VolumeTxn& vt) { vt.vol().set_quota_bytes(30); });
  put("a", R"({"n":"0123456789"})");  // 1 + 17 bytes
  const auto v0 = volume();
  Status st = apply(batch("b", {put_op(R"({"n":"0123456789"})")}));
  EXPECT_EQ(st.code(), Errc::quota_exceeded);
  EXPECT_EQ(st.message().rfind("/t: volume quota exceeded", 0), 0u) << st.message();
  EXPECT_EQ(get("b").status().code(), Errc::not_found);
  EXPECT_EQ(volume().SerializeAsString(), v0.SerializeAsString());
  EXPECT_EQ(table().rows(), 1u);

  // Shrinking and deleting are always allowed.
  put("a", "{}");
  ASSERT_TRUE(apply(batch("b", {put_op(R"({"n":"0123"})")})).is_ok());
  ASSERT_TRUE(apply(batch("a", {delete_op()})).is_ok());
  EXPECT_EQ(volume().used_bytes(), 1 + std::string(R"({"n":"0123"})").size());
}

TEST_F(TableOpsTest, PermissionsComeFromTheTableInode) {
  Status st = apply(batch("k", {put_op("{}")}, stranger()));
  EXPECT_EQ(st.code(), Errc::permission_denied);
  EXPECT_EQ(st.message(), "/t: permission denied");
  ASSERT_TRUE(apply(batch("k", {put_op("{}")}, owner())).is_ok());
  EXPECT_TRUE(get("k", stranger()).is_ok());

  mutate([](VolumeTxn& vt) {
    Inode t = vt.inode_or_corrupt(kTable).value();
    t.set_mode(0600);
    vt.put_inode(t);
  });
  EXPECT_EQ(get("k", stranger()).status().code(), Errc::permission_denied);
  EXPECT_EQ(scan({}, stranger()).status().code(), Errc::permission_denied);
  EXPECT_TRUE(get("k", owner()).is_ok());
  EXPECT_TRUE(scan({}, owner()).is_ok());
}

TEST_F(TableOpsTest, ScanHonoursPrefixStartEndAndLimit) {
  for (const char* k : {"a", "ab", "abc", "b", "c", "d"}) put(k, "{}");
  // Rows of another table stay out of /t's scans.
  ASSERT_TRUE(apply(batch("aa", {put_op("{}")}, admin(), "/u")).is_ok());

  using Keys = std::vector<std::string>;
  tessera::v1::ScanRequest req;
  EXPECT_EQ(scan_keys(req), (Keys{"a", "ab", "abc", "b", "c", "d"}));
  req.set_prefix("ab");
  EXPECT_EQ(scan_keys(req), (Keys{"ab", "abc"}));
  req.Clear();
  req.set_start("b");
  EXPECT_EQ(scan_keys(req), (Keys{"b", "c", "d"}));
  req.set_start("a");
  req.set_end("c");
  EXPECT_EQ(scan_keys(req), (Keys{"a", "ab", "abc", "b"}));
  req.Clear();
  req.set_prefix("a");
  req.set_end("abc");
  EXPECT_EQ(scan_keys(req), (Keys{"a", "ab"}));
  req.Clear();
  req.set_start("c");
  req.set_end("b");
  EXPECT_EQ(scan_keys(req), Keys{});

  req.Clear();
  req.set_limit(2);
  auto page = scan(req);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(page->rows_size(), 2);
  EXPECT_FALSE(page->next_page_token().empty());
  EXPECT_EQ(page->rows(0).version(), 1u);
  EXPECT_EQ(page->rows(0).document(), "{}");
}

TEST_F(TableOpsTest, ScanPagesThroughEveryRowOnce) {
  std::vector<std::string> all;
  for (int i = 0; i < 7; ++i) {
    std::string key = "r" + std::to_string(i);
    key.push_back('\xff');
    all.push_back(key);
    put(key, "{}");
  }
  for (uint32_t limit : {1u, 3u, 7u, 100u}) {
    std::vector<std::string> seen;
    tessera::v1::ScanRequest req;
    req.set_limit(limit);
    for (int pages = 0; pages < 10; ++pages) {
      auto resp = scan(req);
      ASSERT_TRUE(resp.is_ok()) << resp.status().to_string();
      for (const auto& row : resp->rows()) seen.push_back(row.key());
      if (resp->next_page_token().empty()) break;
      req.set_page_token(resp->next_page_token());
    }
    EXPECT_EQ(seen, all) << "limit " << limit;
  }

  // A page that ends exactly at the last row says there is no more.
  tessera::v1::ScanRequest req;
  req.set_start("r4");
  req.set_limit(3);
  auto resp = scan(req);
  ASSERT_TRUE(resp.is_ok());
  EXPECT_EQ(resp->rows_size(), 3);
  EXPECT_TRUE(resp->next_page_token().empty());

  req.set_page_token("zz");
  EXPECT_EQ(scan(req).status().code(), Errc::invalid_argument);
  req.set_page_token("abc");
  EXPECT_EQ(scan(req).status().code(), Errc::invalid_argument);
}

TEST_F(TableOpsTest, ScanPagesAreBoundedInBytes) {
  const std::string doc = "{\"a\":\"" + std::string(kDocumentBytesMax - 8, 'x') + "\"}";
  for (const char* k : {"a", "b", "c", "d", "e"}) put(k, doc);
  std::vector<int> page_rows;
  tessera::v1::ScanRequest req;
  for (int pages = 0; pages < 10; ++pages) {
    auto resp = scan(req);
    ASSERT_TRUE(resp.is_ok()) << resp.status().to_string();
    page_rows.push_back(resp->rows_size());
    if (resp->next_page_token().empty()) break;
    req.set_page_token(resp->next_page_token());
  }
  EXPECT_EQ(page_rows, (std::vector<int>{2, 2, 1}));
}

TEST_F(TableOpsTest, PurgeRemovesEveryRowAndItsUsage) {
  for (const char* k : {"a", "b", "c"}) put(k, R"({"x":1})");
  ASSERT_TRUE(apply(batch("a", {put_op("{}")}, admin(), "/u")).is_ok());
  mutate([](VolumeTxn& vt) {
    Inode t = vt.inode_or_corrupt(kTable).value();
    ASSERT_TRUE(purge_table(vt, t).is_ok());
  });
  EXPECT_EQ(scan_keys({}), std::vector<std::string>{});
  EXPECT_EQ(volume().tables_bytes(), 3u);  // "/u"'s row: "a" + "{}"
  tessera::v1::ScanRequest other;
  other.set_path("/u");
  auto resp = scan(other);
  ASSERT_TRUE(resp.is_ok());
  EXPECT_EQ(resp->rows_size(), 1);
}

}  // namespace
}  // namespace tessera::ns
