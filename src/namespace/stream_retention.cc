// Retention and removal of stream data: the parts of stream_ops.h that delete
// records rather than add them.

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/stream_ops.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::PartitionState;
using internal::TopicState;
using tessera::v1::ObjectKind;
using tessera::v1::Record;

namespace {

// Records deleted by one RetentionOp; the next periodic op continues.
constexpr size_t kRetentionRecordsMax = 100000;
// Keys collected per scan while purging, so a large stream never sits in memory.
constexpr size_t kPurgeBatchKeys = 4096;

// Retention settings of one stream, evaluated at one instant.
struct Policy {
  bool by_age = false;
  int64_t cutoff_ms = 0;  // records with timestamp_ms < cutoff_ms are expired
  uint64_t bytes_max = 0;  // 0 = no size limit
};

Policy policy_of(const Inode& stream, int64_t now_ms) {
  Policy p;
  p.bytes_max = stream.retention_bytes();
  const int64_t age = stream.retention_age_ms();
  if (age > 0) {
    p.by_age = true;
    p.cutoff_ms = now_ms < std::numeric_limits<int64_t>::min() + age
                      ? std::numeric_limits<int64_t>::min()
                      : now_ms - age;
  }
  return p;
}

// Deletes records from the start of one partition while they are expired by
// age or the partition holds more than bytes_max, at most `budget` of them.
// Advances ps.start_offset to the first retained offset (end_offset when none
// is left). Adds the bytes dropped to `freed`.
Status trim_partition(VolumeTxn& txn, uint64_t ino, const std::string& topic, uint32_t part,
                      const Policy& policy, PartitionState& ps, size_t& budget, uint64_t& freed) {
  if (ps.start_offset() == ps.end_offset() || budget == 0) return Status::ok();
  const std::string subject = topic + " partition " + std::to_string(part);
  std::vector<std::string> doomed;
  uint64_t bytes = ps.bytes();
  uint64_t next = ps.start_offset();
  Status inner;
  TESSERA_TRY(txn.state().scan(
      record_key(ino, topic, part, ps.start_offset()),
      prefix_successor(partition_prefix(ino, topic, part)),
      [&](std::string_view k, std::string_view v) {
        if (doomed.size() >= budget) return false;
        auto rec = parse_record<Record>(v, subject);
        if (!rec.is_ok()) {
          inner = rec.status();
          return false;
        }
        const bool expired = policy.by_age && rec->timestamp_ms() < policy.cutoff_ms;
        const bool over = policy.bytes_max > 0 && bytes > policy.bytes_max;
        if (!expired && !over) return false;
        bytes -= std::min(bytes, record_bytes(*rec));
        next = rec->offset() + 1;
        doomed.emplace_back(k);
        return true;
      }));
  TESSERA_TRY(inner);
  if (doomed.empty()) return Status::ok();
  for (const auto& k : doomed) txn.writer().del(k);
  freed += ps.bytes() - bytes;
  budget -= doomed.size();
  ps.set_bytes(bytes);
  ps.set_start_offset(std::min(next, ps.end_offset()));
  return Status::ok();
}

// Applies `policy` to every partition of every topic of one stream.
Status trim_stream(VolumeTxn& txn, Inode& stream, const Policy& policy, size_t& budget) {
  const std::string prefix = topic_prefix(stream.id());
  std::vector<TopicState> topics;
  Status inner;
  TESSERA_TRY(txn.state().scan(prefix, prefix_successor(prefix),
                               [&](std::string_view, std::string_view v) {
    auto t = parse_record<TopicState>(v, "topic of inode " + std::to_string(stream.id()));
    if (!t.is_ok()) {
      inner = t.status();
      return false;
    }
    topics.push_back(std::move(t).value());
    return true;
  }));
  TESSERA_TRY(inner);

  uint64_t freed = 0;
  for (auto& topic : topics) {
    const uint64_t before = freed;
    for (int p = 0; p < topic.partitions_size() && budget > 0; ++p) {
      TESSERA_TRY(trim_partition(txn, stream.id(), topic.name(), static_cast<uint32_t>(p), policy,
                                 *topic.mutable_partitions(p), budget, freed));
    }
    if (freed != before) txn.writer().put(topic_key(stream.id(), topic.name()), topic.SerializeAsString());
    if (budget == 0) break;
  }
  if (freed == 0) return Status::ok();
  stream.set_size(stream.size() - std::min(stream.size(), freed));
  stream.set_version(stream.version() + 1);
  txn.put_inode(stream);
  return txn.charge(UsageKind::streams, -static_cast<int64_t>(freed), "retention");
}

// Deletes every key under `prefix`, kPurgeBatchKeys per scan.
Status delete_prefix(VolumeTxn& txn, const std::string& prefix) {
  const std::string end = prefix_successor(prefix);
  std::string start = prefix;
  for (;;) {
    std::vector<std::string> keys;
    TESSERA_TRY(txn.state().scan(start, end, [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return keys.size() < kPurgeBatchKeys;
    }));
    for (const auto& k : keys) txn.writer().del(k);
    if (keys.size() < kPurgeBatchKeys) return Status::ok();
    start = keys.back() + std::string(1, '\0');
  }
}

}  // namespace

// The node proposes RetentionOp as itself; it only enforces settings the
// streams' owners chose, so there is no permission check.
Status apply_retention(VolumeTxn& txn, const Command& cmd, CommandResult& /*result*/) {
  std::vector<Inode> streams;
  const std::string prefix = "I";
  Status inner;
  TESSERA_TRY(txn.state().scan(prefix, prefix_successor(prefix),
                               [&](std::string_view k, std::string_view v) {
    auto node = parse_record<Inode>(v, "inode " + std::to_string(get_be64(k.substr(1))));
    if (!node.is_ok()) {
      inner = node.status();
      return false;
    }
    if (node->kind() == ObjectKind::KIND_STREAM &&
        (node->retention_age_ms() > 0 || node->retention_bytes() > 0)) {
      streams.push_back(std::move(node).value());
    }
    return true;
  }));
  TESSERA_TRY(inner);

  size_t budget = kRetentionRecordsMax;
  for (auto& stream : streams) {
    if (budget == 0) break;
    TESSERA_TRY(trim_stream(txn, stream, policy_of(stream, cmd.now_ms()), budget));
  }
  return Status::ok();
}

Status purge_stream(VolumeTxn& txn, const Inode& stream) {
  TESSERA_TRY(delete_prefix(txn, topic_prefix(stream.id())));
  TESSERA_TRY(delete_prefix(txn, records_prefix(stream.id())));
  TESSERA_TRY(delete_prefix(txn, group_prefix(stream.id())));
  return txn.charge(UsageKind::streams, -static_cast<int64_t>(stream.size()), "purge");
}

}  // namespace tessera::ns
