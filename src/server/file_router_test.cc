// FileRouter on a one-node cluster in process whose root volume keeps file
// bytes in 4 data shards: appends from many streams to one file stay whole
// and in order; reservations that will never commit are dropped; a hole
// never shows bytes an unfinished write left past the end; a write whose
// data epoch moves under it (a truncate) is written again.

#include "server/file_router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "cluster/meta_keys.h"
#include "namespace/chunk_ops.h"
#include "namespace/keys.h"
#include "namespace/volume_store.h"
#include "server/test_node.h"

namespace tessera::server {
namespace {

namespace v1 = tessera::v1;
using internal::Command;

class FileRouterTest : public ::testing::Test {
 protected:
  TestNode node_{"file_router"};
  shard::ShardHost& host_ = node_.host;
  Backend& backend_ = node_.backend;
  FileRouter& files_ = backend_.files();
  internal::Principal admin_ = backend_.node_principal();

  void SetUp() override {
    backend_.set_data_shards(4);
    ASSERT_TRUE(backend_.bootstrap("test", "127.0.0.1:1", {}).is_ok());
    ASSERT_TRUE(backend_.start(10000).is_ok());
    ASSERT_TRUE(FileRouter::sharded(backend_.route("/f")));
  }

  // One write stream of one message.
  Result<v1::WriteResponse> write(const std::string& path, uint64_t offset, const std::string& data,
                                  bool append = false) {
    FileRouter::Writer w(files_, admin_, path);
    v1::WriteRequest msg;
    msg.set_path(path);
    msg.set_create(true);
    msg.set_offset(offset);
    msg.set_append(append);
    msg.set_data(data);
    TESSERA_TRY(w.write(msg));
    return w.finish();
  }
  std::string read(const std::string& path) {
    std::string out;
    Status st = files_.read(admin_, path, 0, 0, [&](uint64_t at, std::string_view piece) {
      EXPECT_EQ(at, out.size());
      out.append(piece);
      return true;
    });
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return out;
  }
  internal::Inode inode(const std::string& path) {
    const Route route = backend_.route(path);
    auto snap = backend_.snapshot();
    storage::SnapshotReader sr(*snap, route.shard);
    auto r = ns::VolumeView(sr).resolve(path, admin_);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? r->inode : internal::Inode();
  }
  // An append reservation of `length` bytes that nobody will commit, as
  // made by node `node`'s process `incarnation`.
  void orphan_reservation(const std::string& path, uint64_t length, uint64_t node, uint64_t incarnation) {
    Command cmd;
    auto* w = cmd.mutable_write();
    w->set_path(path);
    w->set_data_elsewhere(true);
    w->set_create(true);
    w->set_append(true);
    w->set_length(length);
    w->set_node(node);
    w->set_incarnation(incarnation);
    auto r = backend_.propose_ok(backend_.route(path).shard, cmd, admin_);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->inode().reservations_size(), 1);
  }
  // Bytes an unfinished write left in a data shard: at `offset` of `path`,
  // at the file's current data epoch, never committed.
  void plant(const std::string& path, uint64_t offset, const std::string& data) {
    const Route route = backend_.route(path);
    const uint64_t n = static_cast<uint64_t>(route.volume.data_shards_size());
    const internal::Inode file = inode(path);
    Command cmd;
    auto* w = cmd.mutable_chunk_write();
    w->set_ino(file.id());
    w->set_epoch(file.data_epoch());
    w->set_offset(offset);
    w->set_data(data);
    const ShardId shard(route.volume.data_shards(
        static_cast<int>(ns::data_shard_index(w->ino(), offset / ns::kChunkBytes, static_cast<uint32_t>(n)))));
    ASSERT_TRUE(backend_.propose_ok(shard, cmd, admin_).is_ok());
  }
};

std::string record(int writer, int seq) {
  // Lengths vary so that reservations straddle chunk edges.
  std::string r = "<" + std::to_string(writer) + ":" + std::to_string(seq) + ":";
  r.append(static_cast<size_t>(100 + (writer * 7919 + seq * 104729) % 40000), 'a' + static_cast<char>(writer));
  return r + ">";
}

TEST_F(FileRouterTest, ConcurrentAppendsToOneFileStayWholeAndInOrder) {
  constexpr int kWriters = 4, kAppends = 40;
  std::atomic<uint64_t> bytes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        auto r = write("/log", 0, record(t, i), true);
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        EXPECT_EQ(r->bytes_written(), record(t, i).size());
        bytes += record(t, i).size();
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string got = read("/log");
  ASSERT_EQ(got.size(), bytes.load());
  std::map<int, int> next;  // writer -> next seq
  for (size_t at = 0; at < got.size();) {
    const size_t colon = got.find(':', at);
    ASSERT_TRUE(got[at] == '<' && colon != std::string::npos && colon - at <= 3)
        << "no record at byte " << at << " of " << got.size() << ": "
        << testing::PrintToString(got.substr(at > 20 ? at - 20 : 0, 60));
    const int t = std::stoi(got.substr(at + 1, colon - at - 1));
    const int seq = std::stoi(got.substr(colon + 1, got.find(':', colon + 1) - colon - 1));
    ASSERT_EQ(seq, next[t]) << "writer " << t << " at byte " << at;
    const std::string want = record(t, seq);
    ASSERT_EQ(got.compare(at, want.size(), want), 0) << "record " << t << ":" << seq << " at byte " << at;
    ++next[t];
    at += want.size();
  }
  for (int t = 0; t < kWriters; ++t) EXPECT_EQ(next[t], kAppends);
}

TEST_F(FileRouterTest, AReservationOfAnEarlierProcessIsDroppedAtOnce) {
  ASSERT_TRUE(write("/log", 0, "first", true).is_ok());
  orphan_reservation("/log", 1000, 1, 12345);  // this node, a process before this one
  auto r = write("/log", 0, "second", true);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->size(), 11u);
  EXPECT_EQ(read("/log"), "firstsecond");
}

TEST_F(FileRouterTest, AnotherNodesStalledReservationIsDroppedAfterAWhile) {
  orphan_reservation("/log", 1000, 2, 777);  // node 2 went away mid-append
  auto r = write("/log", 0, "after", true);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(read("/log"), "after");
}

TEST_F(FileRouterTest, AHoleNeverShowsBytesOfUnfinishedWrites) {
  ASSERT_TRUE(write("/f", 0, std::string(100, 'x')).is_ok());
  plant("/f", 100, std::string(5000, 'G'));  // past the end, never committed
  ASSERT_TRUE(write("/f", 8000, "end").is_ok());
  std::string want = std::string(100, 'x') + std::string(7900, '\0') + "end";
  EXPECT_EQ(read("/f"), want);
  // Extending by truncate too.
  plant("/f", 8003, std::string(3000, 'G'));
  auto st = files_.truncate(admin_, "/f", 10000);
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  want.resize(10000, '\0');
  EXPECT_EQ(read("/f"), want);
}

TEST_F(FileRouterTest, AWriteRacedByATruncateIsWrittenAgain) {
  ASSERT_TRUE(write("/f", 0, std::string(3 << 20, 'o')).is_ok());
  // The first commit of the next write finds the file truncated: the data
  // shards dropped its bytes (older epoch), so it writes them again.
  std::atomic<bool> fired{false};
  files_.set_commit_hook([&] {
    if (fired.exchange(true)) return;
    auto t = files_.truncate(admin_, "/f", 1000);
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  });
  const std::string data(2 << 20, 'n');
  auto r = write("/f", 1 << 20, data);
  files_.set_commit_hook(nullptr);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(fired.load());
  const std::string got = read("/f");
  ASSERT_EQ(got.size(), 3u << 20);
  EXPECT_EQ(got.substr(0, 1000), std::string(1000, 'o'));
  EXPECT_EQ(got.substr(1000, (1 << 20) - 1000), std::string((1 << 20) - 1000, '\0'));
  EXPECT_EQ(got.substr(1 << 20), data);
}

}  // namespace
}  // namespace tessera::server
