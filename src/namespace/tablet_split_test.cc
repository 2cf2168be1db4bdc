// Splits of tablet shards: TabletSplitOp, TabletIngestOp, TabletTrimOp and
// tablet_rows_from (tablet_ops.h).

#include <string>
#include <vector>

#include "namespace/tablet_test_fixture.h"

namespace tessera::ns::tablet_test {
namespace {

class TabletSplitTest : public TabletOpsTest {};

TEST_F(TabletSplitTest, SplitFreezesTheKeysFromTheSplitKey) {
  for (const char* k : {"a", "l", "m", "q"}) put(k);
  auto started = split("m");
  ASSERT_TRUE(started.is_ok()) << started.status().to_string();
  EXPECT_EQ(started->split_key(), "m");
  EXPECT_EQ(started->split_shard(), kNewShard.value);

  Status st = write("m", {put_op(R"({"x":1})")});
  EXPECT_EQ(st.code(), Errc::unavailable);
  EXPECT_EQ(st.message(), "/t tablet ..: key m is moving to another tablet; retry");
  EXPECT_EQ(write("q", {delete_op()}).code(), Errc::unavailable);
  EXPECT_EQ(write("z", {put_op("{}")}).code(), Errc::unavailable);
  EXPECT_TRUE(write("l", {put_op(R"({"x":1})")}).is_ok());
  EXPECT_TRUE(write("lz", {put_op("{}")}).is_ok());
  EXPECT_TRUE(get("q")->has_value());  // frozen rows are still read here

  EXPECT_TRUE(split("m").is_ok());  // a retry
  auto other = split("n");
  EXPECT_EQ(other.status().code(), Errc::invalid_argument);
  EXPECT_EQ(other.status().message(), "/t tablet ..: a split at m to shard 6 is in progress");
  EXPECT_EQ(split("m", 9).status().code(), Errc::invalid_argument);
  EXPECT_EQ(info().split_shard(), kNewShard.value);
}

TEST_F(TabletSplitTest, SplitKeyMustBeInsideTheRange) {
  ASSERT_TRUE(init(identity("b", "m"), nullptr, ShardId{7}).is_ok());
  auto at = [&](const std::string& key, uint64_t shard = kNewShard.value) {
    Command c = command();
    c.mutable_tablet_split()->set_split_key(key);
    c.mutable_tablet_split()->set_split_shard(shard);
    return apply(apply_tablet_split, c, nullptr, ShardId{7});
  };
  Status st = at("b");
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_EQ(st.message(), "/t tablet b..m: split key b is not inside the tablet");
  EXPECT_EQ(at("a").code(), Errc::invalid_argument);
  EXPECT_EQ(at("m").code(), Errc::invalid_argument);
  EXPECT_EQ(at("").code(), Errc::invalid_argument);
  EXPECT_EQ(at("c", 0).code(), Errc::invalid_argument);
  EXPECT_TRUE(at("b\x01").is_ok());
  EXPECT_EQ(split("").status().code(), Errc::invalid_argument);  // nothing precedes ""
}

TEST_F(TabletSplitTest, IngestIsIdempotentAndCountsRowsOnce) {
  ASSERT_TRUE(init(identity("m"), nullptr, kNewShard).is_ok());
  const std::vector<TabletRow> rows = {tablet_row("m", "{}", 4), tablet_row("n", R"({"a":1})")};
  auto first = ingest(rows);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->rows(), 2u);
  EXPECT_EQ(first->bytes(), 3u + 8);
  auto again = ingest(rows);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->rows(), 2u);
  EXPECT_EQ(again->bytes(), 3u + 8);
  auto changed = ingest({tablet_row("n", "{}", 2), tablet_row("o", "{}")});
  ASSERT_TRUE(changed.is_ok());
  EXPECT_EQ(changed->rows(), 3u);
  EXPECT_EQ(changed->bytes(), 3u * 3);

  auto m = get("m", kNewShard);
  ASSERT_TRUE(m.is_ok() && m->has_value());
  EXPECT_EQ((*m)->version(), 4u);  // versions move with the rows
  CommandResult result;
  ASSERT_TRUE(write("m", {put_op("{}", false, 4)}, &result, kNewShard).is_ok());
  EXPECT_EQ(result.row().version(), 5u);
}

TEST_F(TabletSplitTest, IngestChecksOrderRangeAndLimits) {
  ASSERT_TRUE(init(identity("m"), nullptr, kNewShard).is_ok());
  auto unordered = ingest({tablet_row("o", "{}"), tablet_row("n", "{}")});
  EXPECT_EQ(unordered.status().code(), Errc::invalid_argument);
  EXPECT_EQ(unordered.status().message(), "/t tablet m..: ingest rows out of key order at n");
  EXPECT_EQ(ingest({tablet_row("n", "{}"), tablet_row("n", "{}")}).status().code(),
            Errc::invalid_argument);
  auto outside = ingest({tablet_row("n", "{}"), tablet_row("a", "{}")});
  EXPECT_EQ(outside.status().code(), Errc::out_of_range);
  EXPECT_EQ(outside.status().message(), "/t tablet m..: key a is not in this tablet");
  EXPECT_EQ(ingest({}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(ingest({tablet_row("n", std::string(kDocumentBytesMax + 1, ' '))}).status().code(),
            Errc::too_large);
  std::vector<TabletRow> many;
  for (size_t i = 0; i <= kTabletCopyRowsMax; ++i) {
    many.push_back(tablet_row("m" + std::to_string(100000 + i), "{}"));
  }
  EXPECT_EQ(ingest(many).status().code(), Errc::too_large);
  EXPECT_EQ(info(kNewShard).rows(), 0u);
}

TEST_F(TabletSplitTest, TrimDeletesTheMovedRowsInRounds) {
  for (const char* k : {"a", "b", "m", "n", "o", "p", "q", "r", "s", "t", "u"}) put(k);
  ASSERT_TRUE(split("m").is_ok());
  auto round = trim("m", 3);
  ASSERT_TRUE(round.is_ok()) << round.status().to_string();
  EXPECT_EQ(round->split_key(), "m");  // more to do: the caller repeats
  EXPECT_EQ(round->split_shard(), kNewShard.value);
  EXPECT_EQ(round->end_key(), "m");  // the first trim ends the range at once
  EXPECT_EQ(round->rows(), 8u);
  EXPECT_EQ(round->bytes(), 8u * 3);
  EXPECT_EQ(write("u", {delete_op()}).code(), Errc::out_of_range);  // no longer held
  EXPECT_EQ(trim("m", 3)->rows(), 5u);
  auto last = trim("m", 3);  // exactly rows_max left: done in this round
  ASSERT_TRUE(last.is_ok());
  EXPECT_TRUE(last->split_key().empty());
  EXPECT_EQ(last->split_shard(), 0u);
  EXPECT_EQ(last->end_key(), "m");
  EXPECT_EQ(last->rows(), 2u);
  EXPECT_EQ(last->bytes(), 2u * 3);
  EXPECT_EQ(keys_of(*scan({})), (Keys{"a", "b"}));

  auto retry = trim("m");  // the split is over: a retry changes nothing
  ASSERT_TRUE(retry.is_ok());
  EXPECT_EQ(retry->SerializeAsString(), info().SerializeAsString());
  Status st = write("m", {put_op("{}")});
  EXPECT_EQ(st.code(), Errc::out_of_range);
  EXPECT_EQ(st.message(), "/t tablet ..m: key m is not in this tablet");
}

TEST_F(TabletSplitTest, FirstTrimStopsReadsAndWritesOfTheMovedKeys) {
  for (const char* k : {"a", "m", "n", "o"}) put(k);
  ASSERT_TRUE(split("m").is_ok());
  EXPECT_TRUE(get("n")->has_value());  // copying: still read here
  auto first = trim("m", 1);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->rows(), 3u);  // "n" and "o" are still stored...
  Status got = get("n").status();  // ...but no longer read
  EXPECT_EQ(got.code(), Errc::out_of_range);
  EXPECT_EQ(got.message(), "/t tablet ..m: key n is not in this tablet");
  EXPECT_EQ(keys_of(*scan({})), (Keys{"a"}));
  EXPECT_EQ(write("o", {put_op("{}")}).code(), Errc::out_of_range);
  EXPECT_TRUE(write("b", {put_op("{}")}).is_ok());  // keys below stay writable
  EXPECT_TRUE(split("m").is_ok());                  // a retry of the split
  EXPECT_EQ(split("n").status().code(), Errc::invalid_argument);

  auto rest = trim("m", 5);
  ASSERT_TRUE(rest.is_ok());
  EXPECT_TRUE(rest->split_key().empty());
  EXPECT_EQ(rest->rows(), 2u);
  EXPECT_EQ(rest->end_key(), "m");
}

TEST_F(TabletSplitTest, FirstTrimKeepsTheSplitEvenWithNoRowLeft) {
  for (const char* k : {"a", "m", "n"}) put(k);
  ASSERT_TRUE(split("m").is_ok());
  auto first = trim("m");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->rows(), 1u);
  EXPECT_EQ(first->split_key(), "m");  // the map does not name the new tablet yet
  EXPECT_EQ(first->split_shard(), kNewShard.value);
  auto second = trim("m");  // finds none left
  ASSERT_TRUE(second.is_ok());
  EXPECT_TRUE(second->split_key().empty());
  EXPECT_EQ(second->split_shard(), 0u);
  EXPECT_EQ(second->end_key(), "m");
  EXPECT_EQ(second->rows(), 1u);
  EXPECT_EQ(trim("m")->SerializeAsString(), second->SerializeAsString());
}

TEST_F(TabletSplitTest, AbortUnfreezesTheKeysOfASplitStillCopying) {
  for (const char* k : {"a", "m", "q"}) put(k);
  ASSERT_TRUE(split("m").is_ok());
  ASSERT_EQ(write("q", {put_op("{}")}).code(), Errc::unavailable);
  auto other = abort_split("n");
  EXPECT_EQ(other.status().code(), Errc::invalid_argument);
  EXPECT_EQ(other.status().message(),
            "/t tablet ..: abort of a split at n does not match a split at m to shard 6");
  EXPECT_EQ(abort_split("m", 9).status().code(), Errc::invalid_argument);
  EXPECT_EQ(info().split_key(), "m");

  auto aborted = abort_split("m");
  ASSERT_TRUE(aborted.is_ok()) << aborted.status().to_string();
  EXPECT_TRUE(aborted->split_key().empty());
  EXPECT_EQ(aborted->split_shard(), 0u);
  EXPECT_TRUE(aborted->end_key().empty());
  EXPECT_EQ(info().SerializeAsString(), aborted->SerializeAsString());
  EXPECT_TRUE(write("q", {put_op(R"({"x":1})")}).is_ok());
  EXPECT_TRUE(abort_split("m").is_ok());  // a retry
  const TabletInfo after = info();
  EXPECT_TRUE(abort_split("m", 0).is_ok());
  EXPECT_EQ(info().SerializeAsString(), after.SerializeAsString());
  EXPECT_TRUE(split("n", 7).is_ok());  // a later split starts afresh
  EXPECT_TRUE(abort_split("n", 0).is_ok());  // any shard when none is named
  EXPECT_TRUE(info().split_key().empty());
}

TEST_F(TabletSplitTest, AbortOfASplitThatEndedTheRangeIsRefused) {
  for (const char* k : {"a", "m", "q"}) put(k);
  ASSERT_TRUE(split("m").is_ok());
  ASSERT_TRUE(trim("m").is_ok());  // the range ended: the split must finish
  auto trimming = abort_split("m");
  EXPECT_EQ(trimming.status().code(), kFailedPrecondition);
  EXPECT_EQ(trimming.status().message(),
            "/t tablet ..m: abort of a split at m: a split at m to shard 6 ended the range "
            "already and must finish");
  EXPECT_EQ(info().split_key(), "m");
  ASSERT_TRUE(trim("m").is_ok());
  ASSERT_TRUE(info().split_key().empty());
  auto over = abort_split("m");
  EXPECT_EQ(over.status().code(), kFailedPrecondition);
  EXPECT_EQ(over.status().message(), "/t tablet ..m: abort of a split at m: that split is over");
  EXPECT_EQ(info().end_key(), "m");
}

TEST_F(TabletSplitTest, TrimMustMatchTheSplit) {
  put("q");
  auto none = trim("m");
  EXPECT_EQ(none.status().code(), Errc::invalid_argument);
  EXPECT_EQ(none.status().message(), "/t tablet ..: trim at m does not match a split in progress");
  ASSERT_TRUE(split("m").is_ok());
  auto other = trim("n");
  EXPECT_EQ(other.status().code(), Errc::invalid_argument);
  EXPECT_EQ(other.status().message(),
            "/t tablet ..: trim at n does not match a split at m to shard 6");
  EXPECT_EQ(trim("").status().code(), Errc::invalid_argument);
  EXPECT_EQ(info().rows(), 1u);
}

TEST_F(TabletSplitTest, SplitMovesRowsAndScansPageAcrossTheBoundary) {
  Keys all;
  for (char c = 'a'; c <= 't'; ++c) {
    all.emplace_back(1, c);
    put(all.back(), R"({"n":")" + std::string(1, c) + "\"}");
  }
  tessera::v1::ScanRequest req;
  req.set_limit(3);
  auto before = scan(req);  // a scan that started before the split
  ASSERT_TRUE(before.is_ok());
  Keys seen = keys_of(*before);
  req.set_page_token(before->next_page_token());
  const uint64_t bytes = info().bytes();

  ASSERT_TRUE(split("k").is_ok());
  ASSERT_TRUE(init(identity("k"), nullptr, kNewShard).is_ok());
  EXPECT_EQ(copy_split(30), 4);  // 10 rows of 10 bytes, 3 a round
  TabletInfo moved = info(kNewShard);
  EXPECT_EQ(moved.rows(), 10u);
  EXPECT_EQ(copy_split(0), 1);  // copying again changes nothing
  EXPECT_EQ(info(kNewShard).SerializeAsString(), moved.SerializeAsString());
  auto trimmed = trim("k");
  ASSERT_TRUE(trimmed.is_ok());
  EXPECT_EQ(trimmed->end_key(), "k");
  EXPECT_EQ(trimmed->split_key(), "k");  // until a trim finds no row left
  EXPECT_EQ(trimmed->rows(), 10u);
  EXPECT_EQ(trimmed->bytes() + moved.bytes(), bytes);
  EXPECT_TRUE(trim("k")->split_key().empty());

  for (ShardId shard : {kShard, kNewShard}) {  // the server moves on at each tablet's end
    for (int pages = 0; pages < 10; ++pages) {
      auto resp = scan(req, shard);
      ASSERT_TRUE(resp.is_ok()) << resp.status().to_string();
      for (const auto& k : keys_of(*resp)) seen.push_back(k);
      if (resp->next_page_token().empty()) break;
      req.set_page_token(resp->next_page_token());
    }
  }
  EXPECT_EQ(seen, all);
  EXPECT_EQ((*get("q", kNewShard))->document(), R"({"n":"q"})");
  EXPECT_EQ(get("q").status().code(), Errc::out_of_range);
}

TEST_F(TabletSplitTest, SplitKeyIsWhereTheRowsReachHalfTheBytes) {
  for (const char* k : {"a", "b", "c", "d"}) put(k, R"({"x":1})");  // 8 bytes each
  EXPECT_EQ(split_key().value(), "b");  // a + b: 16 of 32
  const std::string heavy = R"({"x":")" + std::string(84, 'y') + "\"}";  // 1 + 92 bytes
  put("c", heavy);
  EXPECT_EQ(split_key().value(), "c");  // 16 + 93 reach half of 117
  put("c", R"({"x":1})");
  put("e", heavy);
  EXPECT_EQ(split_key().value(), "e");  // only the last row reaches half
  put("a", heavy);
  put("e", R"({"x":1})");
  EXPECT_EQ(split_key().value(), "b");  // never the first row: both halves hold rows
}

TEST_F(TabletSplitTest, SplitKeyCountsOnlyTheRangesRows) {
  ASSERT_TRUE(init(identity("b", "m"), nullptr, kNewShard).is_ok());
  ASSERT_TRUE(write("b", {put_op(R"({"x":1})")}, nullptr, kNewShard).is_ok());
  put_stray(kNewShard, {"a", "m", "z"});  // outside [b, m): not counted
  Status one = split_key(kNewShard).status();
  EXPECT_EQ(one.code(), kFailedPrecondition);
  EXPECT_EQ(one.message(), "/t tablet b..m: holds 1 row, a split needs at least 2");
  ASSERT_TRUE(write("c", {put_op(R"({"x":1})")}, nullptr, kNewShard).is_ok());
  EXPECT_EQ(split_key(kNewShard).value(), "c");  // counting "a" would make it "b"
}

TEST_F(TabletSplitTest, SplitKeyNeedsTwoRowsAndNoSplit) {
  Status empty = split_key().status();
  EXPECT_EQ(empty.code(), kFailedPrecondition);
  EXPECT_EQ(empty.message(), "/t tablet ..: holds 0 rows, a split needs at least 2");
  put("a");
  EXPECT_EQ(split_key().status().message(), "/t tablet ..: holds 1 row, a split needs at least 2");
  put("b");
  EXPECT_EQ(split_key().value(), "b");
  ASSERT_TRUE(split("b").is_ok());
  Status busy = split_key().status();
  EXPECT_EQ(busy.code(), kFailedPrecondition);
  EXPECT_EQ(busy.message(), "/t tablet ..: a split at b to shard 6 is in progress");
  ASSERT_TRUE(trim("b").is_ok());
  EXPECT_EQ(split_key().status().code(), kFailedPrecondition);  // trimming
}

TEST_F(TabletSplitTest, RowsFromHonoursMaxBytesButReturnsAtLeastOne) {
  for (const char* k : {"a", "b", "c", "d"}) put(k, R"({"x":1})");  // 8 bytes each
  auto one = rows_from("b", 1);
  ASSERT_TRUE(one.is_ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].key(), "b");
  EXPECT_EQ((*one)[0].value().document(), R"({"x":1})");
  EXPECT_EQ(rows_from("b", 16)->size(), 2u);
  EXPECT_EQ(rows_from("b", 23)->size(), 2u);
  EXPECT_EQ(rows_from("", 0)->size(), 4u);
  EXPECT_EQ(rows_from("bb", 0)->front().key(), "c");
  EXPECT_TRUE(rows_from("e", 0)->empty());
}

}  // namespace
}  // namespace tessera::ns::tablet_test
