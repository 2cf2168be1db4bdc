// Tablet shards: init, rows, grants, reads (tablet_ops.h), and the
// dispatch of VolumeMachine. Splits: tablet_split_test.cc.

#include "namespace/tablet_ops.h"

#include <string>

#include "namespace/tablet_test_fixture.h"
#include "namespace/volume_machine.h"

namespace tessera::ns::tablet_test {
namespace {

TEST_F(TabletOpsTest, InitStoresIdentityAndIsIdempotent) {
  TabletInfo want = identity("b", "m");
  want.set_rows(9);  // counts, created_ms and the split in the op are ignored
  want.set_bytes(9);
  want.set_split_key("c");
  want.set_split_shard(9);
  CommandResult result;
  ASSERT_TRUE(init(want, &result, kNewShard).is_ok());
  TabletInfo got = info(kNewShard);
  EXPECT_EQ(got.SerializeAsString(), result.tablet().SerializeAsString());
  EXPECT_EQ(got.start_key(), "b");
  EXPECT_EQ(got.end_key(), "m");
  EXPECT_EQ(got.rows(), 0u);
  EXPECT_EQ(got.bytes(), 0u);
  EXPECT_EQ(got.created_ms(), kNow);
  EXPECT_TRUE(got.split_key().empty());
  EXPECT_EQ(got.split_shard(), 0u);
  EXPECT_EQ(tablet_subject(got), "/t tablet b..m");
  EXPECT_EQ(tablet_subject(info()), "/t tablet ..");

  Status again = init(identity("b", "m"), &result, kNewShard);
  EXPECT_EQ(again.code(), Errc::already_exists);
  EXPECT_EQ(again.message(), "/t tablet b..m (volume 3, table inode 2): already exists");
  EXPECT_EQ(result.tablet().end_key(), "m");
  Status other = init(identity("b", "n"), nullptr, kNewShard);
  EXPECT_EQ(other.code(), Errc::invalid_argument);
  EXPECT_EQ(other.message(),
            "tablet shard holds /t tablet b..m (volume 3, table inode 2), cannot initialise it "
            "as /t tablet b..n (volume 3, table inode 2)");
  EXPECT_EQ(init(identity("m", "b"), nullptr, ShardId{7}).code(), Errc::invalid_argument);
  EXPECT_EQ(init(identity("m", "m"), nullptr, ShardId{7}).code(), Errc::invalid_argument);
  TabletInfo nameless = identity();
  nameless.clear_subject();
  EXPECT_EQ(init(nameless, nullptr, ShardId{7}).code(), Errc::invalid_argument);
}

TEST_F(TabletOpsTest, UninitialisedShardRefusesEverything) {
  const ShardId empty{7};
  EXPECT_EQ(write("k", {put_op("{}")}, nullptr, empty).code(), Errc::not_found);
  EXPECT_EQ(ingest({tablet_row("k", "{}")}, empty).status().code(), Errc::not_found);
  Status st = read([](const storage::StateReader& r) { return tablet_info(r).status(); }, empty);
  EXPECT_EQ(st.message(), "tablet shard not initialised");
  EXPECT_EQ(read([](const storage::StateReader& r) { return tablet_get(r, "k").status(); }, empty)
                .code(),
            Errc::not_found);
  EXPECT_EQ(scan({}, empty).status().code(), Errc::not_found);
}

TEST_F(TabletOpsTest, RowBatchesHaveTheSemanticsOfTableRows) {
  CommandResult result;
  ASSERT_TRUE(write("k", {put_op(R"({"a":1})")}, &result).is_ok());
  EXPECT_EQ(result.row().key(), "k");
  EXPECT_EQ(result.row().version(), 1u);
  EXPECT_EQ(result.tablet().rows(), 1u);
  EXPECT_EQ(result.tablet().bytes(), 1u + 7);

  Status st = write("k", {put_op("{}", /*if_absent=*/true)});
  EXPECT_EQ(st.code(), Errc::already_exists);
  EXPECT_EQ(st.message(), "/t: row k: already exists");
  st = write("k", {put_op("{}", false, 5)});
  EXPECT_EQ(st.code(), Errc::version_mismatch);
  EXPECT_EQ(st.message(), "/t: row k: expected version 5, row is at version 1");
  EXPECT_EQ(write("k", {delete_op(9)}).code(), Errc::version_mismatch);
  EXPECT_EQ(write("new", {update_op(R"({"a":1})")}).code(), Errc::not_found);

  ASSERT_TRUE(write("k", {update_op(R"({"b":[2]})", {"a"}, false, 1)}, &result).is_ok());
  EXPECT_EQ(result.row().document(), R"({"b":[2]})");
  EXPECT_EQ(result.row().version(), 2u);
  ASSERT_TRUE(write("n", {update_op(R"({"c":3})", {}, true)}).is_ok());
  auto got = get("n");
  ASSERT_TRUE(got.is_ok() && got->has_value());
  EXPECT_EQ((*got)->document(), R"({"c":3})");
  EXPECT_EQ(info().rows(), 2u);
  EXPECT_EQ(info().bytes(), 1u + 9 + 1 + 7);

  ASSERT_TRUE(write("k", {delete_op(2)}, &result).is_ok());
  EXPECT_TRUE(result.deleted());
  EXPECT_FALSE(get("k")->has_value());
  EXPECT_EQ(write("k", {delete_op()}).code(), Errc::not_found);
  EXPECT_EQ(info().rows(), 1u);
  EXPECT_EQ(info().bytes(), 1u + 7);
}

TEST_F(TabletOpsTest, RefusedBatchesChangeNothing) {
  put("k", R"({"a":1})");
  const TabletInfo before = info();
  EXPECT_EQ(write("k", {put_op(R"({"a":2})"), put_op("{}", true)}).code(), Errc::already_exists);
  EXPECT_EQ(write("k", {put_op("[1]")}).code(), Errc::invalid_argument);
  EXPECT_EQ(write("k", {}).code(), Errc::invalid_argument);
  EXPECT_EQ(write("k", {RowOp()}).code(), Errc::invalid_argument);
  EXPECT_EQ(write("", {put_op("{}")}).code(), Errc::invalid_argument);
  EXPECT_EQ(write(std::string(kRowKeyBytesMax + 1, 'k'), {put_op("{}")}).code(),
            Errc::invalid_argument);
  const std::string big = "{\"a\":\"" + std::string(kDocumentBytesMax, 'x') + "\"}";
  EXPECT_EQ(write("k", {put_op(big)}).code(), Errc::too_large);
  EXPECT_EQ((*get("k"))->document(), R"({"a":1})");
  EXPECT_EQ(info().SerializeAsString(), before.SerializeAsString());

  CommandResult result;  // created and deleted within the batch
  ASSERT_TRUE(write("tmp", {put_op("{}"), delete_op()}, &result).is_ok());
  EXPECT_TRUE(result.deleted());
  EXPECT_EQ(info().SerializeAsString(), before.SerializeAsString());
}

TEST_F(TabletOpsTest, KeysOutsideTheRangeAreRefused) {
  ASSERT_TRUE(init(identity("b", "m"), nullptr, kNewShard).is_ok());
  Status st = write("a", {put_op("{}")}, nullptr, kNewShard);
  EXPECT_EQ(st.code(), Errc::out_of_range);
  EXPECT_EQ(st.message(), "/t tablet b..m: key a is not in this tablet");
  EXPECT_EQ(write("m", {put_op("{}")}, nullptr, kNewShard).code(), Errc::out_of_range);
  EXPECT_TRUE(write("b", {put_op("{}")}, nullptr, kNewShard).is_ok());
  EXPECT_TRUE(write("lzz", {put_op("{}")}, nullptr, kNewShard).is_ok());
  EXPECT_EQ(get("m", kNewShard).status().code(), Errc::out_of_range);
  EXPECT_EQ(get("", kNewShard).status().code(), Errc::invalid_argument);
  EXPECT_EQ(info(kNewShard).rows(), 2u);
}

TEST_F(TabletOpsTest, WritesBeyondTheGrantAreRefusedUntilGranted) {
  ASSERT_TRUE(grant(10, true).is_ok());  // an empty tablet: shrinking sets any grant
  put("a", R"({"b":1})");               // 8 bytes
  CommandResult refused;
  Status st = write("c", {put_op("{}")}, &refused);
  EXPECT_EQ(st.code(), Errc::quota_exceeded);
  EXPECT_EQ(st.message(), "/t tablet ..: holds 8 bytes of its 10-byte quota grant, needs 3 more");
  EXPECT_EQ(refused.tablet().bytes(), 8u);  // what the caller asks the name shard with
  EXPECT_EQ(refused.tablet().grant(), 10u);
  EXPECT_FALSE(get("c")->has_value());
  EXPECT_EQ(info().bytes(), 8u);

  ASSERT_TRUE(grant(11).is_ok());  // the name shard granted more: the retry goes through
  EXPECT_TRUE(write("c", {put_op("{}")}).is_ok());
  EXPECT_EQ(info().bytes(), 11u);  // the grant exactly
  EXPECT_EQ(write("a", {put_op(R"({"b":12})")}).code(), Errc::quota_exceeded);
  put("a", "{}");  // shrinking is always allowed
  EXPECT_EQ(info().bytes(), 6u);
}

TEST_F(TabletOpsTest, GrantGrowsAndShrinksNeverBelowTheBytesHeld) {
  ASSERT_TRUE(grant(100, true).is_ok());
  EXPECT_EQ(grant(50)->grant(), 100u);
  EXPECT_EQ(grant(200)->grant(), 200u);
  put("k", R"({"a":1})");  // 8 bytes
  EXPECT_EQ(grant(5, true)->grant(), 8u);
  EXPECT_EQ(grant(80, true)->grant(), 8u);  // shrinking never raises it
  EXPECT_EQ(info().grant(), 8u);
}

TEST_F(TabletOpsTest, ScanStaysWithinTheRange) {
  ASSERT_TRUE(init(identity("b", "m"), nullptr, kNewShard).is_ok());
  for (const char* k : {"b", "ba", "c", "lz"}) {
    ASSERT_TRUE(write(k, {put_op("{}")}, nullptr, kNewShard).is_ok());
  }
  put_stray(kNewShard, {"a", "m"});  // rows outside the range: never returned
  auto keys = [&](const tessera::v1::ScanRequest& req) { return keys_of(*scan(req, kNewShard)); };
  tessera::v1::ScanRequest req;
  EXPECT_EQ(keys(req), (Keys{"b", "ba", "c", "lz"}));
  req.set_start("a");
  req.set_end("z");
  EXPECT_EQ(keys(req), (Keys{"b", "ba", "c", "lz"}));
  req.set_start("bb");
  EXPECT_EQ(keys(req), (Keys{"c", "lz"}));
  req.Clear();
  req.set_prefix("b");
  EXPECT_EQ(keys(req), (Keys{"b", "ba"}));
  req.set_prefix("m");
  EXPECT_EQ(keys(req), Keys{});
  req.Clear();
  req.set_limit(2);
  auto page = scan(req, kNewShard);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(keys_of(*page), (Keys{"b", "ba"}));
  req.set_page_token(page->next_page_token());
  page = scan(req, kNewShard);  // ends at the range's end: no token
  EXPECT_EQ(keys_of(*page), (Keys{"c", "lz"}));
  EXPECT_TRUE(page->next_page_token().empty());
  req.set_page_token("zz");
  EXPECT_EQ(scan(req, kNewShard).status().code(), Errc::invalid_argument);
}

TEST_F(TabletOpsTest, VolumeMachineRoutesRowBatchesByShardKind) {
  VolumeMachine machine;
  auto run = [&](const Command& cmd, ShardId shard) {
    return shard_test::apply_machine(*engine_, shard, machine, cmd);
  };
  Command put_k = command();
  *put_k.mutable_row_batch() = row_test::row_batch("/t", "k", {put_op("{}")});
  CommandResult in_tablet = run(put_k, kShard);
  EXPECT_EQ(in_tablet.errc(), 0u) << in_tablet.message();
  EXPECT_EQ(in_tablet.tablet().rows(), 1u);
  Command split_op = command();
  split_op.mutable_tablet_split()->set_split_key("m");
  split_op.mutable_tablet_split()->set_split_shard(kNewShard.value);
  EXPECT_EQ(run(split_op, kShard).tablet().split_key(), "m");

  // A shard without a TabletInfo is a volume shard: the row goes to /t's inode.
  const ShardId volume{8};
  Command init = command();
  init.mutable_principal()->set_admin(true);
  init.mutable_init_volume()->set_mount_path("/");
  ASSERT_EQ(run(init, volume).errc(), 0u);
  Command create = init;
  create.mutable_create()->set_path("/t");
  create.mutable_create()->set_kind(tessera::v1::ObjectKind::KIND_TABLE);
  create.mutable_create()->set_mode(0644);
  ASSERT_EQ(run(create, volume).errc(), 0u);
  *put_k.mutable_principal() = init.principal();
  CommandResult in_volume = run(put_k, volume);
  EXPECT_EQ(in_volume.errc(), 0u) << in_volume.message();
  EXPECT_EQ(in_volume.row().version(), 1u);
  EXPECT_FALSE(in_volume.has_tablet());
  EXPECT_EQ(info().rows(), 1u);

  Command mkdir = create;  // a tablet shard has no namespace
  mkdir.mutable_create()->set_path("/d");
  EXPECT_EQ(run(mkdir, kShard).errc(), static_cast<uint32_t>(Errc::unavailable));
}

}  // namespace
}  // namespace tessera::ns::tablet_test
