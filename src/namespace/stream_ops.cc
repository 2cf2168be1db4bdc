#include "namespace/stream_ops.h"

#include <string>

#include "namespace/keys.h"
#include "namespace/paths.h"
#include "namespace/permissions.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::PartitionState;
using internal::TopicState;
using tessera::v1::ObjectKind;
using tessera::v1::Record;

namespace {

constexpr size_t kTopicBytesMax = 249;              // Kafka's topic name limit
constexpr uint64_t kFetchBytesDefault = 1u << 20;   // FetchRequest.max_bytes == 0
constexpr int kFetchRecordsMax = 100000;            // per fetch, whatever max_bytes says
constexpr int kRead = static_cast<int>(Access::read);
constexpr int kWrite = static_cast<int>(Access::write);

std::string topic_subject(std::string_view path, std::string_view topic) {
  std::string s(path);
  s += ':';
  s += topic;
  return s;
}

std::string partition_subject(std::string_view topic_subject, uint32_t part) {
  return std::string(topic_subject) + " partition " + std::to_string(part);
}

// Kafka's legal topic names (org.apache.kafka.common.internals.Topic):
// [a-zA-Z0-9._-]{1,249}, not "." or "..".
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

// A stream resolved with the wanted right and one of its topics loaded.
struct OpenTopic {
  Resolved stream;
  TopicState topic;
  std::string subject;  // "PATH:TOPIC"
};

Result<OpenTopic> open_topic(const VolumeView& view, const internal::Principal& who,
                             std::string_view path, std::string_view topic, int want) {
  OpenTopic t;
  TESSERA_ASSIGN_OR_RETURN(t.stream, view.resolve_kind(path, who, ObjectKind::KIND_STREAM, want));
  t.subject = topic_subject(path, topic);
  TESSERA_ASSIGN_OR_RETURN(auto raw, view.state().get(topic_key(t.stream.inode.id(), topic)));
  if (!raw) return error(Errc::not_found, t.subject);
  TESSERA_ASSIGN_OR_RETURN(t.topic, parse_record<TopicState>(*raw, t.subject));
  return t;
}

// Kafka's UNKNOWN_TOPIC_OR_PARTITION is a not_found here.
Status check_partition(const OpenTopic& t, uint64_t part) {
  if (part >= static_cast<uint64_t>(t.topic.partitions_size())) {
    return error(Errc::not_found, t.subject + " partition " + std::to_string(part));
  }
  return Status::ok();
}

}  // namespace

uint64_t record_bytes(const Record& record) {
  uint64_t n = record.key().size() + record.value().size();
  for (const auto& h : record.headers()) n += h.key().size() + h.value().size();
  return n;
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
  const std::string key = topic_key(stream.inode.id(), op.topic());
  TESSERA_ASSIGN_OR_RETURN(auto existing, txn.state().get(key));
  if (existing) return error(Errc::already_exists, subject);

  TopicState topic;
  topic.set_name(op.topic());
  topic.set_created_ms(cmd.now_ms());
  for (uint32_t i = 0; i < op.partitions(); ++i) topic.add_partitions();
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

Status apply_produce(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.produce();
  TESSERA_ASSIGN_OR_RETURN(auto t, open_topic(txn, cmd.principal(), op.path(), op.topic(), kWrite));
  if (op.records_size() == 0) {
    return Status(Errc::invalid_argument, t.subject + ": produce without records");
  }
  if (static_cast<size_t>(op.records_size()) > kProduceRecordsMax) {
    return Status(Errc::too_large, t.subject + ": " + std::to_string(op.records_size()) +
                                       " records in one produce, at most " +
                                       std::to_string(kProduceRecordsMax));
  }
  if (op.partition() >= 0) TESSERA_TRY(check_partition(t, static_cast<uint32_t>(op.partition())));
  uint64_t total = 0;
  for (int i = 0; i < op.records_size(); ++i) {
    const uint64_t n = record_bytes(op.records(i));
    if (n > kRecordBytesMax) {
      return Status(Errc::too_large, t.subject + ": record " + std::to_string(i) + " holds " +
                                         std::to_string(n) + " bytes, at most " +
                                         std::to_string(kRecordBytesMax));
    }
    total += n;
  }
  TESSERA_TRY(txn.charge(UsageKind::streams, static_cast<int64_t>(total), t.subject));

  const uint64_t ino = t.stream.inode.id();
  const auto parts = static_cast<uint32_t>(t.topic.partitions_size());
  auto* out = result.mutable_produce();
  for (const Record& in : op.records()) {
    uint32_t part;
    if (op.partition() >= 0) {
      part = static_cast<uint32_t>(op.partition());
    } else if (!in.key().empty()) {
      part = (murmur2(in.key()) & 0x7fffffff) % parts;
    } else {
      part = t.topic.round_robin() % parts;
      t.topic.set_round_robin((part + 1) % parts);
    }
    PartitionState* ps = t.topic.mutable_partitions(static_cast<int>(part));
    Record stored = in;
    stored.set_offset(ps->end_offset());
    stored.set_partition(part);
    // Kafka producers send -1 for "no timestamp"; proto3 callers send 0.
    if (stored.timestamp_ms() <= 0) stored.set_timestamp_ms(cmd.now_ms());
    txn.writer().put(record_key(ino, t.topic.name(), part, stored.offset()),
                     stored.SerializeAsString());
    ps->set_end_offset(ps->end_offset() + 1);
    ps->set_bytes(ps->bytes() + record_bytes(in));
    out->add_partitions(part);
    out->add_offsets(stored.offset());
  }
  txn.writer().put(topic_key(ino, t.topic.name()), t.topic.SerializeAsString());

  Inode& node = t.stream.inode;
  node.set_size(node.size() + total);
  node.set_version(node.version() + 1);
  node.set_mtime_ms(cmd.now_ms());
  node.set_ctime_ms(cmd.now_ms());
  txn.put_inode(node);
  *result.mutable_inode() = node;
  return Status::ok();
}

Status apply_commit_offset(VolumeTxn& txn, const Command& cmd, CommandResult& /*result*/) {
  const auto& op = cmd.commit_offset();
  TESSERA_ASSIGN_OR_RETURN(auto t, open_topic(txn, cmd.principal(), op.path(), op.topic(), kRead));
  TESSERA_TRY(check_partition(t, op.partition()));
  TESSERA_TRY(check_group(op.group(), t.subject));
  std::string value;
  put_be64(value, op.offset());
  txn.writer().put(group_key(t.stream.inode.id(), t.topic.name(), op.partition(), op.group()), value);
  return Status::ok();
}

Result<tessera::v1::FetchResponse> fetch(const VolumeView& view, const internal::Principal& who,
                                         const tessera::v1::FetchRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto t, open_topic(view, who, req.stream(), req.topic(), kRead));
  TESSERA_TRY(check_partition(t, req.partition()));
  const PartitionState& ps = t.topic.partitions(static_cast<int>(req.partition()));
  const std::string subject = partition_subject(t.subject, req.partition());
  if (req.offset() < ps.start_offset()) {
    return Status(Errc::out_of_range, subject + ": offset " + std::to_string(req.offset()) +
                                          " is before the start offset " +
                                          std::to_string(ps.start_offset()));
  }
  if (req.offset() > ps.end_offset()) {
    return Status(Errc::out_of_range, subject + ": offset " + std::to_string(req.offset()) +
                                          " is after the end offset " +
                                          std::to_string(ps.end_offset()));
  }
  tessera::v1::FetchResponse resp;
  resp.set_start_offset(ps.start_offset());
  resp.set_end_offset(ps.end_offset());
  if (req.offset() == ps.end_offset()) return resp;

  // max_bytes bounds the serialized size of the records returned.
  const uint64_t budget = req.max_bytes() == 0 ? kFetchBytesDefault : req.max_bytes();
  const uint64_t ino = t.stream.inode.id();
  uint64_t used = 0;
  uint64_t expect = req.offset();
  Status inner;
  TESSERA_TRY(view.state().scan(
      record_key(ino, t.topic.name(), req.partition(), req.offset()),
      prefix_successor(partition_prefix(ino, t.topic.name(), req.partition())),
      [&](std::string_view, std::string_view v) {
        if (resp.records_size() >= kFetchRecordsMax) return false;
        if (resp.records_size() > 0 && used + v.size() > budget) return false;
        auto rec = parse_record<Record>(v, subject);
        if (!rec.is_ok()) {
          inner = rec.status();
          return false;
        }
        if (rec->offset() != expect) {
          inner = Status(Errc::corruption,
                         subject + ": record at offset " + std::to_string(expect) + " missing");
          return false;
        }
        used += v.size();
        ++expect;
        *resp.add_records() = std::move(rec).value();
        return true;
      }));
  TESSERA_TRY(inner);
  if (resp.records_size() == 0) {
    return Status(Errc::corruption,
                  subject + ": record at offset " + std::to_string(req.offset()) + " missing");
  }
  return resp;
}

Result<tessera::v1::ListTopicsResponse> list_topics(const VolumeView& view,
                                                    const internal::Principal& who,
                                                    const tessera::v1::ListTopicsRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto stream,
                           view.resolve_kind(req.stream(), who, ObjectKind::KIND_STREAM, kRead));
  tessera::v1::ListTopicsResponse resp;
  const std::string prefix = topic_prefix(stream.inode.id());
  Status inner;
  // Keys sort by topic name, so the listing comes out sorted.
  TESSERA_TRY(view.state().scan(prefix, prefix_successor(prefix),
                                [&](std::string_view k, std::string_view v) {
    auto topic = parse_record<TopicState>(v, topic_subject(req.stream(), k.substr(prefix.size())));
    if (!topic.is_ok()) {
      inner = topic.status();
      return false;
    }
    auto* info = resp.add_topics();
    info->set_name(topic->name());
    info->set_partitions(static_cast<uint32_t>(topic->partitions_size()));
    for (const auto& ps : topic->partitions()) {
      info->add_start_offsets(ps.start_offset());
      info->add_end_offsets(ps.end_offset());
    }
    return true;
  }));
  TESSERA_TRY(inner);
  return resp;
}

Result<tessera::v1::GetOffsetResponse> get_offset(const VolumeView& view,
                                                  const internal::Principal& who,
                                                  const tessera::v1::GetOffsetRequest& req) {
  TESSERA_ASSIGN_OR_RETURN(auto t, open_topic(view, who, req.stream(), req.topic(), kRead));
  TESSERA_TRY(check_partition(t, req.partition()));
  TESSERA_TRY(check_group(req.group(), t.subject));
  TESSERA_ASSIGN_OR_RETURN(
      auto raw, view.state().get(group_key(t.stream.inode.id(), t.topic.name(), req.partition(),
                                           req.group())));
  tessera::v1::GetOffsetResponse resp;
  if (!raw) return resp;
  if (raw->size() != 8) {
    return Status(Errc::corruption, t.subject + ": committed offset of group " + req.group() +
                                        " has the wrong size");
  }
  resp.set_found(true);
  resp.set_offset(get_be64(*raw));
  return resp;
}

}  // namespace tessera::ns
