#pragma once
// TabletOpsTest: the fixture of the tablet shard tests (tablet_ops_test.cc,
// tablet_split_test.cc). Tests only.

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/row_ops.h"
#include "namespace/row_ops_test_util.h"
#include "namespace/shard_test_util.h"
#include "namespace/tablet_ops.h"
#include "namespace/volume_store.h"
#include "storage/engine.h"
#include "storage/test_engine.h"

namespace tessera::ns::tablet_test {

using internal::Command;
using internal::CommandResult;
using internal::RowValue;
using internal::TabletInfo;
using internal::TabletRow;
using row_test::delete_op;
using row_test::put_op;
using row_test::update_op;
using tessera::v1::RowOp;
using Keys = std::vector<std::string>;

constexpr ShardId kShard{5};     // the tablet under test
constexpr ShardId kNewShard{6};  // the tablet a split moves keys to
constexpr int64_t kNow = 1'700'000'000'000;

inline TabletInfo identity(std::string start = "", std::string end = "") {
  TabletInfo t;
  t.set_volume_id(3);
  t.set_table_ino(2);
  t.set_subject("/t");
  t.set_start_key(std::move(start));
  t.set_end_key(std::move(end));
  t.set_grant(std::numeric_limits<uint64_t>::max());  // a volume without quota
  return t;
}

inline TabletRow tablet_row(std::string key, std::string doc, uint64_t version = 1) {
  TabletRow r;
  r.set_key(std::move(key));
  r.mutable_value()->set_version(version);
  r.mutable_value()->set_document(std::move(doc));
  return r;
}

inline Keys keys_of(const tessera::v1::ScanResponse& resp) {
  Keys keys;
  for (const auto& row : resp.rows()) keys.push_back(row.key());
  return keys;
}

// A tablet shard holding the whole of table "/t" (inode 2 of volume 3);
// commands run the way the shard host runs them (writes undone on error).
class TabletOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(init(identity()).is_ok()); }

  template <typename Fn>
  Status apply(Fn fn, const Command& cmd, CommandResult* out = nullptr, ShardId shard = kShard) {
    return shard_test::apply_handler(*engine_, shard, fn, cmd, out);
  }
  // Applies `cmd` and returns result.tablet.
  template <typename Fn>
  Result<TabletInfo> apply_info(Fn fn, const Command& cmd, ShardId shard = kShard) {
    CommandResult result;
    TESSERA_TRY(apply(fn, cmd, &result, shard));
    return result.tablet();
  }

  static Command command() {
    Command c;
    c.set_now_ms(kNow);
    return c;
  }

  Status init(const TabletInfo& info, CommandResult* out = nullptr, ShardId shard = kShard) {
    Command c = command();
    *c.mutable_init_tablet()->mutable_tablet() = info;
    return apply(apply_init_tablet, c, out, shard);
  }

  Status write(const std::string& key, std::vector<RowOp> ops, CommandResult* out = nullptr,
               ShardId shard = kShard) {
    Command c = command();
    *c.mutable_row_batch() = row_test::row_batch("/t", key, std::move(ops));
    return apply(apply_tablet_row_batch, c, out, shard);
  }
  void put(const std::string& key, const std::string& doc = "{}") {
    Status st = write(key, {put_op(doc)});
    ASSERT_TRUE(st.is_ok()) << st.to_string();
  }

  Result<TabletInfo> grant(uint64_t bytes, bool shrink = false) {
    Command c = command();
    c.mutable_tablet_grant()->set_grant(bytes);
    c.mutable_tablet_grant()->set_shrink(shrink);
    return apply_info(apply_tablet_grant, c);
  }
  Result<TabletInfo> split(const std::string& key, uint64_t shard = kNewShard.value,
                           bool abort = false) {
    Command c = command();
    c.mutable_tablet_split()->set_split_key(key);
    c.mutable_tablet_split()->set_split_shard(shard);
    c.mutable_tablet_split()->set_abort(abort);
    return apply_info(apply_tablet_split, c);
  }
  Result<TabletInfo> abort_split(const std::string& key, uint64_t shard = kNewShard.value) {
    return split(key, shard, true);
  }
  Result<TabletInfo> ingest(const std::vector<TabletRow>& rows, ShardId shard = kNewShard) {
    Command c = command();
    for (const auto& r : rows) *c.mutable_tablet_ingest()->add_rows() = r;
    return apply_info(apply_tablet_ingest, c, shard);
  }
  Result<TabletInfo> trim(const std::string& key, size_t rows_max = kTabletTrimRowsMax) {
    Command c = command();
    c.mutable_tablet_trim()->set_split_key(key);
    return apply_info(
        [rows_max](storage::StateWriter& w, const Command& cmd, CommandResult& r) {
          return apply_tablet_trim(w, cmd, r, rows_max);
        },
        c);
  }

  // Calls fn with a StateReader over a fresh snapshot of `shard`.
  template <typename Fn>
  auto read(Fn fn, ShardId shard = kShard) {
    return shard_test::read_on(*engine_, shard, fn);
  }
  TabletInfo info(ShardId shard = kShard) {
    return read([](const storage::StateReader& r) { return tablet_info(r); }, shard).value();
  }
  Result<std::optional<RowValue>> get(const std::string& key, ShardId shard = kShard) {
    return read([&](const storage::StateReader& r) { return tablet_get(r, key); }, shard);
  }
  Result<tessera::v1::ScanResponse> scan(const tessera::v1::ScanRequest& req,
                                         ShardId shard = kShard) {
    return read([&](const storage::StateReader& r) { return tablet_scan(r, req); }, shard);
  }
  Result<std::string> split_key(ShardId shard = kShard) {
    return read([](const storage::StateReader& r) { return tablet_split_key(r); }, shard);
  }
  Result<std::vector<TabletRow>> rows_from(const std::string& key, size_t max_bytes) {
    return read([&](const storage::StateReader& r) { return tablet_rows_from(r, key, max_bytes); });
  }

  // Stores rows {} at `keys` of `shard` directly, as if left behind
  // outside its range: no command, no count.
  void put_stray(ShardId shard, const Keys& keys) {
    auto txn = engine_->begin();
    storage::TxnWriter w(*txn, shard);
    RowValue stray;
    stray.set_version(1);
    stray.set_document("{}");
    for (const auto& k : keys) w.put(tablet_row_key(k), stray.SerializeAsString());
    ASSERT_TRUE(engine_->commit(*txn, false).is_ok());
  }

  // Copies the rows of the split in progress to kNewShard as the copier
  // does, `max_bytes` a round; returns the number of rounds.
  int copy_split(size_t max_bytes) {
    std::string from = info().split_key();
    int rounds = 0;
    for (; rounds < 100; ++rounds) {
      auto rows = rows_from(from, max_bytes);
      EXPECT_TRUE(rows.is_ok()) << rows.status().to_string();
      if (!rows.is_ok() || rows->empty()) break;
      EXPECT_TRUE(ingest(*rows).is_ok());
      from = rows->back().key() + std::string(1, '\0');
    }
    return rounds;
  }

  storage::TestEngine engine_{"tablets"};
};

}  // namespace tessera::ns::tablet_test
