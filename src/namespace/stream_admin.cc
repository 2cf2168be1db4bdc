#include "namespace/stream_admin.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "namespace/keys.h"
#include "namespace/permissions.h"
#include "namespace/stream_ops.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::TopicState;
using tessera::v1::ObjectKind;

namespace {

constexpr int kWrite = static_cast<int>(Access::write);
constexpr int kAdmin = static_cast<int>(Access::admin);

// A topic of a stream resolved with the wanted right, with its key.
struct LoadedTopic {
  Resolved stream;
  std::string key;
  TopicState topic;
  std::string subject;  // "PATH:TOPIC"
};

Result<LoadedTopic> load_topic(const VolumeView& view, const internal::Principal& who,
                               std::string_view path, std::string_view topic, int want) {
  LoadedTopic t;
  TESSERA_ASSIGN_OR_RETURN(t.stream, view.resolve_kind(path, who, ObjectKind::KIND_STREAM, want));
  t.subject = std::string(path) + ":" + std::string(topic);
  t.key = topic_key(t.stream.inode.id(), topic);
  TESSERA_ASSIGN_OR_RETURN(auto raw, view.state().get(t.key));
  if (!raw) return Status(Errc::not_found, t.subject + ": no such topic");
  TESSERA_ASSIGN_OR_RETURN(t.topic, parse_record<TopicState>(*raw, t.subject));
  return t;
}

// The stream's metadata changed at now_ms.
void touch(Inode& node, int64_t now_ms) {
  node.set_version(node.version() + 1);
  node.set_mtime_ms(now_ms);
  node.set_ctime_ms(now_ms);
}

}  // namespace

Status apply_remove_topic(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.remove_topic();
  TESSERA_ASSIGN_OR_RETURN(auto t, load_topic(txn, cmd.principal(), op.path(), op.topic(), kWrite));
  uint64_t bytes = 0;
  uint64_t granted = 0;
  for (const auto& ps : t.topic.partitions()) {
    bytes += ps.bytes();
    granted += ps.grant();
    if (ps.shard() != 0) result.add_shards(ps.shard());
  }
  txn.writer().del(t.key);
  auto& vol = txn.vol();
  vol.set_streams_granted(vol.streams_granted() - std::min(vol.streams_granted(), granted));
  txn.account(UsageKind::streams, -static_cast<int64_t>(bytes));

  Inode& node = t.stream.inode;
  resize_reported(node, bytes, 0, cmd.now_ms());
  node.set_topics(node.topics() - std::min<uint32_t>(node.topics(), 1));
  node.set_mtime_ms(cmd.now_ms());
  node.set_ctime_ms(cmd.now_ms());
  txn.put_inode(node);
  *result.mutable_inode() = node;
  return Status::ok();
}

Status apply_add_partitions(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.add_partitions();
  TESSERA_ASSIGN_OR_RETURN(auto t, load_topic(txn, cmd.principal(), op.path(), op.topic(), kWrite));
  const auto have = static_cast<uint64_t>(t.topic.partitions_size());
  const uint64_t total = uint64_t{op.current()} + static_cast<uint64_t>(op.shards_size());
  if (op.shards_size() == 0 || total > kPartitionsMax) {
    return Status(Errc::invalid_argument, t.subject + ": partitions must grow to " +
                                              std::to_string(uint64_t{op.current()} + 1) + ".." +
                                              std::to_string(kPartitionsMax) + ", not " +
                                              std::to_string(total));
  }
  if (have != op.current()) {
    return Status(kFailedPrecondition, t.subject + ": has " + std::to_string(have) +
                                           " partitions now, not " +
                                           std::to_string(op.current()));
  }
  for (uint64_t shard : op.shards()) t.topic.add_partitions()->set_shard(shard);
  txn.writer().put(t.key, t.topic.SerializeAsString());

  Inode& node = t.stream.inode;
  touch(node, cmd.now_ms());
  txn.put_inode(node);
  *result.mutable_inode() = node;
  return Status::ok();
}

Status apply_set_retention(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.set_retention();
  TESSERA_ASSIGN_OR_RETURN(auto s, txn.resolve_kind(op.path(), cmd.principal(),
                                                    ObjectKind::KIND_STREAM, kAdmin));
  if (op.set_age() && op.retention_age_ms() < 0) {
    return Status(Errc::invalid_argument, op.path() + ": negative retention age");
  }
  Inode& node = s.inode;
  if (op.set_age()) node.set_retention_age_ms(op.retention_age_ms());
  if (op.set_bytes()) node.set_retention_bytes(op.retention_bytes());
  if (op.set_age() || op.set_bytes()) {
    node.set_version(node.version() + 1);
    node.set_ctime_ms(cmd.now_ms());
    txn.put_inode(node);
  }
  *result.mutable_inode() = node;
  return Status::ok();
}

}  // namespace tessera::ns
