#include "namespace/stream_ops.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/paths.h"
#include "namespace/permissions.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::PartitionState;
using internal::Principal;
using internal::TopicState;
using tessera::v1::ObjectKind;
using tessera::v1::Record;

namespace {

constexpr size_t kTopicBytesMax = 249;  // Kafka's topic name limit
constexpr int kRead = static_cast<int>(Access::read);
constexpr int kWrite = static_cast<int>(Access::write);

std::string topic_subject(std::string_view path, std::string_view topic) {
  std::string s(path);
  s += ':';
  s += topic;
  return s;
}

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), so keyed
// records land on the partition a Java producer's default partitioner picks.
uint32_t murmur2(std::string_view data) {
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(data[i])); };
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(data.size());
  const size_t words = data.size() / 4;
  for (size_t i = 0; i < words; ++i) {
    const size_t o = i * 4;
    uint32_t k = byte(o) | (byte(o + 1) << 8) | (byte(o + 2) << 16) | (byte(o + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = words * 4;
  switch (data.size() % 4) {
    case 3: h ^= byte(tail + 2) << 16; [[fallthrough]];
    case 2: h ^= byte(tail + 1) << 8; [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

// Calls fn(key, topic) for every topic of stream `ino`, in name order.
Status for_each_topic(const storage::StateReader& state, uint64_t ino,
                      const std::function<void(std::string_view, TopicState&&)>& fn) {
  const std::string prefix = topic_prefix(ino);
  return scan_parsed<TopicState>(
      state, prefix, prefix_successor(prefix),
      [&](std::string_view k) {
        return "topic " + std::string(k.substr(prefix.size())) + " of stream inode " +
               std::to_string(ino);
      },
      [&](std::string_view k, TopicState&& topic) {
        fn(k, std::move(topic));
        return true;
      });
}

void append_shards(const TopicState& topic, std::vector<uint64_t>& out) {
  for (const auto& ps : topic.partitions()) {
    if (ps.shard() != 0) out.push_back(ps.shard());
  }
}

}  // namespace

Status check_topic_name(std::string_view topic, std::string_view subject) {
  TESSERA_TRY(check_name(topic, subject));
  if (topic.size() > kTopicBytesMax) {
    return Status(Errc::invalid_argument, std::string(subject) + ": topic name longer than " +
                                              std::to_string(kTopicBytesMax) + " bytes");
  }
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status(Errc::invalid_argument,
                    std::string(subject) +
                        ": topic name may hold only ASCII letters, digits, '.', '_' and '-'");
    }
  }
  return Status::ok();
}

// Consumer group ids are opaque to Kafka; we only bound them.
Status check_group(std::string_view group, std::string_view subject) {
  if (group.empty() || group.size() > kNameBytesMax || group.find('\0') != std::string_view::npos) {
    return Status(Errc::invalid_argument,
                  std::string(subject) + ": group name must be 1.." +
                      std::to_string(kNameBytesMax) + " bytes without NUL");
  }
  return Status::ok();
}

uint64_t record_bytes(const Record& record) {
  uint64_t n = record.key().size() + record.value().size();
  for (const auto& h : record.headers()) n += h.key().size() + h.value().size();
  return n;
}

uint32_t choose_partition(const Record& record, uint32_t partitions, uint32_t& round_robin) {
  TESSERA_ASSERT(partitions > 0);
  if (!record.key().empty()) return (murmur2(record.key()) & 0x7fffffff) % partitions;
  const uint32_t part = round_robin % partitions;
  round_robin = (part + 1) % partitions;
  return part;
}

Result<StreamTopic> open_stream_topic(const VolumeView& view, const Principal& who,
                                      std::string_view path, std::string_view topic, int want) {
  StreamTopic t;
  TESSERA_ASSIGN_OR_RETURN(t.stream, view.resolve_kind(path, who, ObjectKind::KIND_STREAM, want));
  t.subject = topic_subject(path, topic);
  TESSERA_ASSIGN_OR_RETURN(auto raw, view.state().get(topic_key(t.stream.inode.id(), topic)));
  if (!raw) return error(Errc::not_found, t.subject);
  TESSERA_ASSIGN_OR_RETURN(t.topic, parse_record<TopicState>(*raw, t.subject));
  return t;
}

Status check_partition_index(const StreamTopic& t, uint64_t part) {
  if (part >= static_cast<uint64_t>(t.topic.partitions_size())) {
    return error(Errc::not_found, t.subject + " partition " + std::to_string(part));
  }
  return Status::ok();
}

Status apply_create_topic(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.create_topic();
  TESSERA_ASSIGN_OR_RETURN(auto stream, txn.resolve_kind(op.path(), cmd.principal(),
                                                         ObjectKind::KIND_STREAM, kWrite));
  const std::string subject = topic_subject(op.path(), op.topic());
  TESSERA_TRY(check_topic_name(op.topic(), subject));
  if (op.partitions() < 1 || op.partitions() > kPartitionsMax) {
    return Status(Errc::invalid_argument, subject + ": partitions must be 1.." +
                                              std::to_string(kPartitionsMax) + ", not " +
                                              std::to_string(op.partitions()));
  }
  if (static_cast<uint64_t>(op.shards_size()) != op.partitions()) {
    return Status(Errc::invalid_argument, subject + ": " + std::to_string(op.partitions()) +
                                              " partitions but " +
                                              std::to_string(op.shards_size()) +
                                              " partition shards");
  }
  const std::string key = topic_key(stream.inode.id(), op.topic());
  TESSERA_ASSIGN_OR_RETURN(auto existing, txn.state().get(key));
  if (existing) return error(Errc::already_exists, subject);

  TopicState topic;
  topic.set_name(op.topic());
  topic.set_created_ms(cmd.now_ms());
  for (uint64_t shard : op.shards()) topic.add_partitions()->set_shard(shard);
  txn.writer().put(key, topic.SerializeAsString());

  Inode& node = stream.inode;
  node.set_topics(node.topics() + 1);
  node.set_version(node.version() + 1);
  node.set_mtime_ms(cmd.now_ms());
  node.set_ctime_ms(cmd.now_ms());
  txn.put_inode(node);
  *result.mutable_inode() = node;
  return Status::ok();
}

// Trusted: the node proposes it for a partition shard it leads; there is no
// principal to check. Only a change of the reported bytes writes anything.
namespace {

// The topic and partition a usage report or grant request names.
struct NamedPartition {
  std::string key;  // the topic's key
  TopicState topic;
  std::string subject;
};

// `shard` non-zero: the shard that asks; a partition another shard holds
// now (the topic removed and made again, or grown by someone else) is
// not_found to it.
Result<NamedPartition> load_partition(VolumeTxn& txn, uint64_t ino, const std::string& topic,
                                      uint32_t part, uint64_t shard) {
  NamedPartition np;
  np.subject = "stream inode " + std::to_string(ino) + " topic " + topic + " partition " +
               std::to_string(part);
  TESSERA_ASSIGN_OR_RETURN(auto node, txn.inode(ino));
  if (!node || node->kind() != ObjectKind::KIND_STREAM) return error(Errc::not_found, np.subject);
  np.key = topic_key(ino, topic);
  TESSERA_ASSIGN_OR_RETURN(auto raw, txn.state().get(np.key));
  if (!raw) return error(Errc::not_found, np.subject);
  TESSERA_ASSIGN_OR_RETURN(np.topic, parse_record<TopicState>(*raw, np.subject));
  if (part >= static_cast<uint32_t>(np.topic.partitions_size())) {
    return error(Errc::not_found, np.subject);
  }
  if (shard != 0 && np.topic.partitions(static_cast<int>(part)).shard() != shard) {
    return Status(Errc::not_found, np.subject + ": not held by shard " + std::to_string(shard));
  }
  return np;
}

}  // namespace

Status apply_stream_usage(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.stream_usage();
  TESSERA_ASSIGN_OR_RETURN(
      auto np, load_partition(txn, op.stream_ino(), op.topic(), op.partition(), op.shard()));
  PartitionState& ps = *np.topic.mutable_partitions(static_cast<int>(op.partition()));
  TESSERA_ASSIGN_OR_RETURN(auto node, txn.inode_or_corrupt(op.stream_ino()));
  Inode& stream = node;
  bool changed = false;
  if (op.grant() != 0 && op.grant() < ps.grant()) {
    // The partition shard shrank its grant first: give the rest back.
    auto& vol = txn.vol();
    vol.set_streams_granted(vol.streams_granted() - std::min(vol.streams_granted(), ps.grant() - op.grant()));
    ps.set_grant(op.grant());
    changed = true;
  }
  if (ps.bytes() != op.bytes()) {
    const int64_t delta = static_cast<int64_t>(op.bytes()) - static_cast<int64_t>(ps.bytes());
    resize_reported(stream, ps.bytes(), op.bytes(), cmd.now_ms());
    txn.put_inode(stream);
    txn.account(UsageKind::streams, delta);
    ps.set_bytes(op.bytes());
    changed = true;
  }
  if (changed) txn.writer().put(np.key, np.topic.SerializeAsString());
  *result.mutable_inode() = stream;
  return Status::ok();
}

Status apply_stream_grant(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.stream_grant();
  TESSERA_ASSIGN_OR_RETURN(
      auto np, load_partition(txn, op.stream_ino(), op.topic(), op.partition(), op.shard()));
  PartitionState& ps = *np.topic.mutable_partitions(static_cast<int>(op.partition()));
  auto& vol = txn.vol();
  if (vol.quota_bytes() == 0) {
    result.mutable_partition()->set_grant(std::numeric_limits<uint64_t>::max());
    return Status::ok();
  }
  // What the quota must hold besides this partition's grant: tables over
  // tablets count by their grants, as in quota_used.
  const uint64_t tables = vol.tables_bytes() - std::min(vol.tables_bytes(), vol.tablets_bytes()) +
                          std::max(vol.tablets_bytes(), vol.tablets_granted());
  const uint64_t others = vol.files_bytes() + tables +
                          (vol.streams_granted() - std::min(vol.streams_granted(), ps.grant()));
  TESSERA_ASSIGN_OR_RETURN(
      const uint64_t grant,
      next_volume_grant(vol, others, ps.grant(), op.held(), op.want(), np.subject));
  result.mutable_partition()->set_grant(grant);
  if (grant == ps.grant()) return Status::ok();
  vol.set_streams_granted(vol.streams_granted() - std::min(vol.streams_granted(), ps.grant()) + grant);
  ps.set_grant(grant);
  txn.writer().put(np.key, np.topic.SerializeAsString());
  return Status::ok();
}

Status purge_stream(VolumeTxn& txn, const Inode& stream, std::vector<uint64_t>* released) {
  std::vector<std::string> keys;
  uint64_t granted = 0;
  TESSERA_TRY(for_each_topic(txn.state(), stream.id(), [&](std::string_view k, TopicState&& t) {
    if (released) append_shards(t, *released);
    for (const auto& ps : t.partitions()) granted += ps.grant();
    keys.emplace_back(k);
  }));
  auto& vol = txn.vol();
  vol.set_streams_granted(vol.streams_granted() - std::min(vol.streams_granted(), granted));
  for (const auto& k : keys) txn.writer().del(k);
  return txn.charge(UsageKind::streams, -static_cast<int64_t>(stream.size()), "purge");
}

Result<std::vector<TopicState>> stream_topics(const VolumeView& view, const Principal& who,
                                              std::string_view path) {
  TESSERA_ASSIGN_OR_RETURN(auto stream,
                           view.resolve_kind(path, who, ObjectKind::KIND_STREAM, kRead));
  std::vector<TopicState> topics;
  const uint64_t ino = stream.inode.id();
  TESSERA_TRY(for_each_topic(view.state(), ino, [&](std::string_view, TopicState&& t) {
    topics.push_back(std::move(t));
  }));
  return topics;
}

Result<std::vector<RetainedStream>> streams_with_retention(const VolumeView& view) {
  std::vector<RetainedStream> streams;
  const std::string prefix = "I";
  Status inner;
  TESSERA_TRY(view.state().scan(prefix, prefix_successor(prefix),
                                [&](std::string_view k, std::string_view v) {
    auto node = parse_record<Inode>(v, "inode " + std::to_string(get_be64(k.substr(1))));
    if (!node.is_ok()) {
      inner = node.status();
      return false;
    }
    if (node->kind() == ObjectKind::KIND_STREAM &&
        (node->retention_age_ms() > 0 || node->retention_bytes() > 0)) {
      streams.push_back({node->id(), node->retention_age_ms(), node->retention_bytes(), {}});
    }
    return true;
  }));
  TESSERA_TRY(inner);
  for (auto& s : streams) {
    TESSERA_TRY(for_each_topic(view.state(), s.ino, [&](std::string_view, TopicState&& t) {
      append_shards(t, s.shards);
    }));
  }
  return streams;
}

Result<tessera::v1::ListTopicsResponse> list_topics(const VolumeView& view, const Principal& who,
                                                    const tessera::v1::ListTopicsRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto topics, stream_topics(view, who, req.stream()));
  tessera::v1::ListTopicsResponse resp;
  for (const auto& topic : topics) {
    auto* info = resp.add_topics();
    info->set_name(topic.name());
    info->set_partitions(static_cast<uint32_t>(topic.partitions_size()));
  }
  return resp;
}

}  // namespace tessera::ns
