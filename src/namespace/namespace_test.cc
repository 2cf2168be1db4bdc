#include <gtest/gtest.h>

#include "storage/test_engine.h"

#include <filesystem>

#include "namespace/file_ops.h"
#include "namespace/keys.h"
#include "namespace/ns_ops.h"
#include "namespace/paths.h"
#include "namespace/permissions.h"
#include "namespace/volume_machine.h"
#include "shard/shard_host.h"

namespace tessera::ns {
namespace {

using tessera::v1::ObjectKind;

internal::Principal user(uint32_t uid, bool admin = false) {
  internal::Principal p;
  p.set_uid(uid);
  p.add_gids(uid);
  p.set_admin(admin);
  return p;
}

TEST(Paths, SplitsAndRejectsBadPaths) {
  EXPECT_EQ(split_path("/")->size(), 0u);
  EXPECT_EQ(*split_path("/a/b/"), (std::vector<std::string>{"a", "b"}));
  for (const char* bad : {"", "a/b", "/a//b", "/a/../b", "/./a"}) {
    auto r = split_path(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), Errc::invalid_argument) << bad;
  }
  EXPECT_FALSE(split_path("/" + std::string(256, 'x')).is_ok());
  EXPECT_TRUE(path_within("/a/b", "/a"));
  EXPECT_FALSE(path_within("/ab", "/a"));
  EXPECT_EQ(split_topic("/s/t:clicks")->second, "clicks");
}

TEST(Permissions, AclDenyWinsAndModeFallsBack) {
  internal::Inode n;
  n.set_uid(10);
  n.set_gid(20);
  n.set_mode(0640);
  auto owner = user(10), member = user(11), other = user(12);
  member.add_gids(20);
  EXPECT_TRUE(allowed(n, owner, Access::write));
  EXPECT_TRUE(allowed(n, member, Access::read));
  EXPECT_FALSE(allowed(n, member, Access::write));
  EXPECT_FALSE(allowed(n, other, Access::read));
  EXPECT_FALSE(allowed(n, other, Access::admin));
  auto* e = n.add_acl();
  e->set_id(12);
  e->set_read(true);
  EXPECT_TRUE(allowed(n, other, Access::read));
  auto* d = n.add_acl();
  d->set_is_group(true);
  d->set_id(20);
  d->set_deny(true);
  d->set_read(true);
  EXPECT_FALSE(allowed(n, member, Access::read));
  EXPECT_TRUE(allowed(n, user(99, true), Access::admin));
}

class VolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = std::make_unique<shard::ShardHost>(
        *engine_, shard::ShardHostOptions{},
        [](ShardId) -> std::unique_ptr<shard::StateMachine> {
          return std::make_unique<VolumeMachine>();
        });
    ASSERT_TRUE(host_->add_shard(ShardId(1), {raft::NodeId(1)}).is_ok());
    internal::Command c;
    *c.mutable_principal() = user(0, true);
    c.mutable_init_volume()->set_mount_path("/");
    c.mutable_init_volume()->set_mode(0777);
    c.mutable_init_volume()->set_quota_bytes(3u << 20);
    ASSERT_EQ(host_->propose_wait(ShardId(1), c).errc(), 0u);
  }
  void TearDown() override {
    host_.reset();
  }

  internal::CommandResult run(internal::Command c, const internal::Principal& who) {
    *c.mutable_principal() = who;
    c.set_now_ms(1000);
    return host_->propose_wait(ShardId(1), c);
  }
  internal::CommandResult create(const std::string& path, ObjectKind kind, uint32_t uid,
                                 uint32_t mode = 0) {
    internal::Command c;
    c.mutable_create()->set_path(path);
    c.mutable_create()->set_kind(kind);
    c.mutable_create()->set_mode(mode);
    return run(c, user(uid));
  }
  internal::CommandResult write(const std::string& path, uint64_t off, const std::string& data,
                                uint32_t uid) {
    internal::Command c;
    c.mutable_write()->set_path(path);
    c.mutable_write()->set_offset(off);
    c.mutable_write()->set_data(data);
    c.mutable_write()->set_create(true);
    return run(c, user(uid));
  }
  std::string read(const std::string& path, uint64_t off = 0, uint64_t len = 0) {
    auto snap = host_->snapshot();
    storage::SnapshotReader r(*snap, ShardId(1));
    VolumeView view(r);
    std::string out;
    Status st = read_file(view, user(0, true), path, off, len, [&](uint64_t, std::string_view d) {
      out.append(d);
      return true;
    });
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return out;
  }
  Result<internal::Inode> stat(const std::string& path, uint32_t uid = 0) {
    auto snap = host_->snapshot();
    storage::SnapshotReader r(*snap, ShardId(1));
    return stat_path(VolumeView(r), user(uid, uid == 0), path);
  }

  storage::TestEngine engine_{"ns"};
  std::unique_ptr<shard::ShardHost> host_;
};

Errc code(const internal::CommandResult& r) { return static_cast<Errc>(r.errc()); }

TEST_F(VolumeTest, CreateListRemove) {
  EXPECT_EQ(code(create("/d", ObjectKind::KIND_DIRECTORY, 5)), Errc::ok);
  EXPECT_EQ(code(create("/d/t", ObjectKind::KIND_TABLE, 5)), Errc::ok);
  EXPECT_EQ(code(create("/d/t", ObjectKind::KIND_TABLE, 5)), Errc::already_exists);
  EXPECT_EQ(code(create("/nope/t", ObjectKind::KIND_TABLE, 5)), Errc::not_found);
  EXPECT_EQ(code(create("/d/t/x", ObjectKind::KIND_FILE, 5)), Errc::not_a_directory);
  EXPECT_EQ(stat("/d")->entries(), 1u);
  internal::Command rm;
  rm.mutable_remove()->set_path("/d");
  EXPECT_EQ(code(run(rm, user(5))), Errc::not_empty);
  rm.mutable_remove()->set_recursive(true);
  EXPECT_EQ(code(run(rm, user(5))), Errc::ok);
  EXPECT_EQ(stat("/d").status().code(), Errc::not_found);
}

TEST_F(VolumeTest, WriteReadTruncateAcrossChunks) {
  std::string a(kChunkBytes + 100, 'a');
  EXPECT_EQ(code(write("/f", 0, a, 5)), Errc::ok);
  EXPECT_EQ(code(write("/f", kChunkBytes - 2, "XYZW", 5)), Errc::ok);
  std::string expect = a;
  expect.replace(kChunkBytes - 2, 4, "XYZW");
  EXPECT_EQ(read("/f"), expect);
  EXPECT_EQ(read("/f", kChunkBytes - 3, 6), expect.substr(kChunkBytes - 3, 6));
  // A hole reads as zeros.
  EXPECT_EQ(code(write("/g", 10, "x", 5)), Errc::ok);
  EXPECT_EQ(read("/g"), std::string(10, '\0') + "x");
  internal::Command t;
  t.mutable_set_attr()->set_path("/f");
  t.mutable_set_attr()->set_set_size(true);
  t.mutable_set_attr()->set_size(5);
  EXPECT_EQ(code(run(t, user(5))), Errc::ok);
  EXPECT_EQ(read("/f"), "aaaaa");
  t.mutable_set_attr()->set_size(8);
  EXPECT_EQ(code(run(t, user(5))), Errc::ok);
  EXPECT_EQ(read("/f"), std::string("aaaaa") + std::string(3, '\0'));
}

TEST_F(VolumeTest, QuotaRefusesAndKeepsData) {
  EXPECT_EQ(code(write("/f", 0, std::string(2u << 20, 'a'), 5)), Errc::ok);
  EXPECT_EQ(code(write("/f", 2u << 20, std::string(2u << 20, 'b'), 5)), Errc::quota_exceeded);
  EXPECT_EQ(stat("/f")->size(), 2u << 20);
  EXPECT_EQ(read("/f", (2u << 20) - 1, 0), "a");
}

TEST_F(VolumeTest, PermissionsGuardWritesAndAdmin) {
  EXPECT_EQ(code(create("/private", ObjectKind::KIND_DIRECTORY, 5, 0700)), Errc::ok);
  EXPECT_EQ(code(create("/private/x", ObjectKind::KIND_FILE, 6)), Errc::permission_denied);
  EXPECT_EQ(code(write("/f", 0, "hello", 5)), Errc::ok);
  EXPECT_EQ(code(write("/f", 0, "HELLO", 6)), Errc::permission_denied);
  internal::Command chmod;
  chmod.mutable_set_attr()->set_path("/f");
  chmod.mutable_set_attr()->set_set_mode(true);
  chmod.mutable_set_attr()->set_mode(0666);
  EXPECT_EQ(code(run(chmod, user(6))), Errc::permission_denied);
  EXPECT_EQ(code(run(chmod, user(5))), Errc::ok);
  EXPECT_EQ(code(write("/f", 0, "HELLO", 6)), Errc::ok);
  EXPECT_EQ(read("/f"), "HELLO");
}

TEST_F(VolumeTest, RenameMovesAndRefusesCycles) {
  EXPECT_EQ(code(create("/a", ObjectKind::KIND_DIRECTORY, 5)), Errc::ok);
  EXPECT_EQ(code(create("/a/b", ObjectKind::KIND_DIRECTORY, 5)), Errc::ok);
  EXPECT_EQ(code(write("/a/f", 0, "x", 5)), Errc::ok);
  internal::Command mv;
  mv.mutable_rename()->set_src("/a");
  mv.mutable_rename()->set_dst("/a/b/c");
  EXPECT_EQ(code(run(mv, user(5))), Errc::invalid_argument);
  mv.mutable_rename()->set_src("/a/f");
  mv.mutable_rename()->set_dst("/g");
  EXPECT_EQ(code(run(mv, user(5))), Errc::ok);
  EXPECT_EQ(read("/g"), "x");
  EXPECT_EQ(stat("/a/f").status().code(), Errc::not_found);
  EXPECT_EQ(stat("/a")->entries(), 1u);
}

}  // namespace
}  // namespace tessera::ns
