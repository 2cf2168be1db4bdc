#include "namespace/partition_ops.h"

#include <string>

#include "namespace/data_shard.h"
#include "namespace/keys.h"
#include "namespace/stream_ops.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::PartitionInfo;
using tessera::v1::Record;

namespace {

constexpr uint64_t kFetchBytesDefault = 1u << 20;  // max_bytes == 0
constexpr int kFetchRecordsMax = 100000;           // per fetch, whatever max_bytes says

// "PATH:TOPIC partition N (volume V, stream inode I)": a partition's identity.
std::string identity(const PartitionInfo& p) {
  return partition_subject(p) + " (volume " + std::to_string(p.volume_id()) + ", stream inode " +
         std::to_string(p.stream_ino()) + ")";
}

bool same_partition(const PartitionInfo& a, const PartitionInfo& b) {
  return a.volume_id() == b.volume_id() && a.stream_ino() == b.stream_ino() &&
         a.topic() == b.topic() && a.partition() == b.partition();
}

// A command names its topic and partition; they must be this shard's.
Status check_target(const PartitionInfo& info, std::string_view topic, int64_t partition,
                    std::string_view what) {
  if (topic == info.topic() && partition == static_cast<int64_t>(info.partition())) {
    return Status::ok();
  }
  return Status(Errc::invalid_argument, partition_subject(info) + ": " + std::string(what) +
                                            " for topic " + std::string(topic) + " partition " +
                                            std::to_string(partition) +
                                            " sent to this partition shard");
}

// Count and per-record size limits; the total of record_bytes on success.
Result<uint64_t> check_records(const internal::ProduceOp& op, const std::string& subject) {
  if (op.records_size() == 0) {
    return Status(Errc::invalid_argument, subject + ": produce without records");
  }
  if (static_cast<size_t>(op.records_size()) > kProduceRecordsMax) {
    return Status(Errc::too_large, subject + ": " + std::to_string(op.records_size()) +
                                       " records in one produce, at most " +
                                       std::to_string(kProduceRecordsMax));
  }
  uint64_t total = 0;
  for (int i = 0; i < op.records_size(); ++i) {
    const uint64_t n = record_bytes(op.records(i));
    if (n > kRecordBytesMax) {
      return Status(Errc::too_large, subject + ": record " + std::to_string(i) + " holds " +
                                         std::to_string(n) + " bytes, at most " +
                                         std::to_string(kRecordBytesMax));
    }
    total += n;
  }
  return total;
}

Status out_of_range(const PartitionInfo& info, uint64_t offset) {
  const bool before = offset < info.start_offset();
  return Status(Errc::out_of_range,
                partition_subject(info) + ": offset " + std::to_string(offset) + " is " +
                    (before ? "before the start offset " + std::to_string(info.start_offset())
                            : "after the end offset " + std::to_string(info.end_offset())));
}

// The sequence number of a batch's last record (sequences wrap at INT32_MAX).
int32_t last_sequence(const internal::ProduceOp& op) {
  int64_t last = static_cast<int64_t>(op.base_sequence()) + op.records_size() - 1;
  if (last > INT32_MAX) last -= static_cast<int64_t>(INT32_MAX) + 1;
  return static_cast<int32_t>(last);
}

int32_t next_sequence(int32_t seq) { return seq == INT32_MAX ? 0 : seq + 1; }

// KIP-98's checks of an idempotent producer's batch against what this
// partition last stored from it. Returns the producer state to update when
// the batch is to be appended; nullopt when it is a resend of one of the
// last kProducerBatchesKept batches (result.produce then holds the offsets
// it was stored at); an error for a gap or a fenced epoch.
Result<std::optional<internal::ProducerState>> check_sequence(const storage::StateReader& state,
                                                              const internal::ProduceOp& op,
                                                              const PartitionInfo& info,
                                                              CommandResult& result) {
  const std::string subject = partition_subject(info);
  if (op.producer_id() < 0 || op.base_sequence() < 0 || op.producer_epoch() < 0) {
    return Status(Errc::invalid_argument, subject + ": idempotent batch without producer id, "
                                                    "epoch or sequence");
  }
  TESSERA_ASSIGN_OR_RETURN(
      auto have, load_record<internal::ProducerState>(
                     state, partition_producer_key(static_cast<uint64_t>(op.producer_id())),
                     "producer state"));
  internal::ProducerState p = have.value_or(internal::ProducerState());
  const std::string who = "producer " + std::to_string(op.producer_id());
  if (have && op.producer_epoch() < p.epoch()) {
    return Status(Errc::version_mismatch, subject + ": " + who + " epoch " +
                                              std::to_string(op.producer_epoch()) +
                                              " is fenced by epoch " + std::to_string(p.epoch()));
  }
  if (!have || op.producer_epoch() > p.epoch()) {
    // A new producer (or a new epoch of one) starts its sequence at 0.
    if (op.base_sequence() != 0) {
      return Status(Errc::failed_precondition,
                    subject + ": out of order sequence number: " + who + " epoch " +
                        std::to_string(op.producer_epoch()) + " must start at sequence 0, not " +
                        std::to_string(op.base_sequence()));
    }
    p.clear_batches();
    return std::optional<internal::ProducerState>(std::move(p));
  }
  for (const auto& b : p.batches()) {
    if (b.first_sequence() == op.base_sequence() && b.last_sequence() == last_sequence(op)) {
      auto* out = result.mutable_produce();
      for (int i = 0; i < op.records_size(); ++i) {
        out->add_partitions(info.partition());
        out->add_offsets(b.base_offset() + static_cast<uint64_t>(i));
      }
      *result.mutable_partition() = info;
      return std::optional<internal::ProducerState>();
    }
  }
  const int32_t expected =
      p.batches_size() == 0 ? 0 : next_sequence(p.batches(p.batches_size() - 1).last_sequence());
  if (op.base_sequence() != expected) {
    return Status(Errc::failed_precondition,
                  subject + ": out of order sequence number: " + who + " sent " +
                      std::to_string(op.base_sequence()) + ", expected " +
                      std::to_string(expected));
  }
  return std::optional<internal::ProducerState>(std::move(p));
}

}  // namespace

std::string partition_subject(const PartitionInfo& info) {
  return info.subject() + " partition " + std::to_string(info.partition());
}

Result<PartitionInfo> partition_info(const storage::StateReader& state) {
  TESSERA_ASSIGN_OR_RETURN(
      auto info, load_record<PartitionInfo>(state, partition_info_key(), "partition record"));
  if (!info) return Status(Errc::not_found, "partition shard not initialised");
  return *std::move(info);
}

Status apply_init_partition(storage::StateWriter& state, const Command& cmd,
                            CommandResult& result) {
  PartitionInfo want = cmd.init_partition().partition();
  if (want.topic().empty() || want.subject().empty()) {
    return Status(Errc::invalid_argument,
                  "partition shard: InitPartitionOp without a topic or subject");
  }
  TESSERA_ASSIGN_OR_RETURN(
      auto have, load_record<PartitionInfo>(state, partition_info_key(), "partition record"));
  if (have) {
    *result.mutable_partition() = *have;
    return init_conflict("partition", same_partition(*have, want), identity(*have),
                         identity(want));
  }
  want.set_start_offset(0);
  want.set_end_offset(0);
  want.set_bytes(0);
  want.set_created_ms(cmd.now_ms());
  state.put(partition_info_key(), want.SerializeAsString());
  *result.mutable_partition() = want;
  return Status::ok();
}

Status apply_partition_produce(storage::StateWriter& state, const Command& cmd,
                               CommandResult& result) {
  const auto& op = cmd.produce();
  TESSERA_ASSIGN_OR_RETURN(auto info, partition_info(state));
  TESSERA_TRY(check_target(info, op.topic(), op.partition(), "produce"));
  TESSERA_ASSIGN_OR_RETURN(const uint64_t total, check_records(op, partition_subject(info)));
  std::optional<internal::ProducerState> producer;
  if (op.idempotent()) {
    TESSERA_ASSIGN_OR_RETURN(producer, check_sequence(state, op, info, result));
    if (!producer) return Status::ok();  // a resent batch: answered with its offsets
  }

  if (Status st = check_grant(partition_subject(info), info.bytes(), info.grant(), total); !st) {
    *result.mutable_partition() = info;
    return st;
  }

  auto* out = result.mutable_produce();
  const uint64_t base_offset = info.end_offset();
  internal::RecordGroup group;
  uint64_t group_bytes = 0;
  auto put_group = [&] {
    const uint64_t last = group.records(group.records_size() - 1).offset();
    state.put(partition_record_key(last), group.SerializeAsString());
    group.Clear();
    group_bytes = 0;
  };
  for (const Record& in : op.records()) {
    const uint64_t n = record_bytes(in);
    if (group.records_size() > 0 && group_bytes + n > kRecordGroupBytesMax) put_group();
    Record& stored = *group.add_records();
    stored = in;
    stored.set_offset(info.end_offset());
    stored.set_partition(info.partition());
    // Kafka producers send -1 for "no timestamp"; proto3 callers send 0.
    if (stored.timestamp_ms() <= 0) stored.set_timestamp_ms(cmd.now_ms());
    group_bytes += n;
    info.set_end_offset(info.end_offset() + 1);
    out->add_partitions(info.partition());
    out->add_offsets(stored.offset());
  }
  put_group();
  info.set_bytes(info.bytes() + total);
  state.put(partition_info_key(), info.SerializeAsString());
  *result.mutable_partition() = info;
  if (producer) {
    auto* b = producer->add_batches();
    b->set_first_sequence(op.base_sequence());
    b->set_last_sequence(last_sequence(op));
    b->set_base_offset(base_offset);
    while (producer->batches_size() > static_cast<int>(kProducerBatchesKept)) {
      producer->mutable_batches()->DeleteSubrange(0, 1);
    }
    producer->set_epoch(op.producer_epoch());
    producer->set_last_ms(cmd.now_ms());
    state.put(partition_producer_key(static_cast<uint64_t>(op.producer_id())),
              producer->SerializeAsString());
  }
  return Status::ok();
}

Status apply_partition_grant(storage::StateWriter& state, const Command& cmd,
                             CommandResult& result) {
  const auto& op = cmd.partition_grant();
  TESSERA_ASSIGN_OR_RETURN(auto info, partition_info(state));
  info.set_grant(next_grant(info.grant(), info.bytes(), op.grant(), op.shrink()));
  state.put(partition_info_key(), info.SerializeAsString());
  *result.mutable_partition() = info;
  return Status::ok();
}

Status apply_partition_commit(storage::StateWriter& state, const Command& cmd,
                              CommandResult& /*result*/) {
  const auto& op = cmd.commit_offset();
  TESSERA_ASSIGN_OR_RETURN(auto info, partition_info(state));
  TESSERA_TRY(check_target(info, op.topic(), op.partition(), "offset commit"));
  TESSERA_TRY(check_group(op.group(), partition_subject(info)));
  std::string value;
  put_be64(value, op.offset());
  state.put(partition_group_key(op.group()), value);
  return Status::ok();
}

Status scan_record_groups(const storage::StateReader& state, uint64_t offset,
                          std::string_view subject, const RecordGroupFn& fn) {
  const std::string what(subject);
  const size_t prefix_bytes = partition_records_prefix().size();
  auto bad = [&](std::string_view k, const std::string& why) {
    const std::string at = k.size() == prefix_bytes + 8
                               ? "at offset " + std::to_string(get_be64(k.substr(prefix_bytes)))
                               : "at a key of " + std::to_string(k.size()) + " bytes";
    return Status(Errc::corruption, what + ": record group " + at + " " + why);
  };
  Status inner;
  TESSERA_TRY(state.scan(
      partition_record_key(offset), prefix_successor(partition_records_prefix()),
      [&](std::string_view k, std::string_view v) {
        auto group = parse_record<internal::RecordGroup>(v, what);
        if (!group.is_ok()) {
          inner = group.status();
          return false;
        }
        if (group->records_size() == 0) {
          // Stored before groups: one Record at its own offset.
          auto legacy = parse_record<Record>(v, what);
          if (!legacy.is_ok()) {
            inner = legacy.status();
            return false;
          }
          *group->add_records() = std::move(legacy).value();
        }
        const uint64_t first = group->records(0).offset();
        for (int i = 1; i < group->records_size(); ++i) {
          if (group->records(i).offset() != first + static_cast<uint64_t>(i)) {
            inner = bad(k, "has a gap at offset " + std::to_string(first + i));
            return false;
          }
        }
        const uint64_t last = group->records(group->records_size() - 1).offset();
        if (k != partition_record_key(last)) {
          inner = bad(k, "ends at offset " + std::to_string(last));
          return false;
        }
        return fn(k, *group);
      }));
  return inner;
}

Result<tessera::v1::FetchResponse> partition_fetch(const storage::StateReader& state,
                                                   uint64_t offset, uint64_t max_bytes) {
  TESSERA_ASSIGN_OR_RETURN(auto info, partition_info(state));
  if (offset < info.start_offset() || offset > info.end_offset()) {
    return out_of_range(info, offset);
  }
  tessera::v1::FetchResponse resp;
  resp.set_start_offset(info.start_offset());
  resp.set_end_offset(info.end_offset());
  if (offset == info.end_offset()) return resp;

  // max_bytes bounds the serialized size of the records returned.
  const uint64_t budget = max_bytes == 0 ? kFetchBytesDefault : max_bytes;
  const std::string subject = partition_subject(info);
  auto missing = [&](uint64_t at) {
    return Status(Errc::corruption, subject + ": record at offset " + std::to_string(at) +
                                        " missing");
  };
  uint64_t used = 0;
  uint64_t expect = offset;
  bool gap = false;
  TESSERA_TRY(scan_record_groups(
      state, offset, subject, [&](std::string_view, internal::RecordGroup& group) {
        for (Record& rec : *group.mutable_records()) {
          if (rec.offset() < offset && resp.records_size() == 0) continue;  // first group
          if (resp.records_size() >= kFetchRecordsMax) return false;
          if (rec.offset() != expect) {
            gap = true;
            return false;
          }
          const uint64_t n = rec.ByteSizeLong();
          if (resp.records_size() > 0 && used + n > budget) return false;
          used += n;
          ++expect;
          *resp.add_records() = std::move(rec);
        }
        return true;
      }));
  if (gap || resp.records_size() == 0) return missing(expect);
  return resp;
}

Result<std::optional<uint64_t>> partition_committed(const storage::StateReader& state,
                                                    std::string_view group) {
  TESSERA_ASSIGN_OR_RETURN(auto info, partition_info(state));
  const std::string subject = partition_subject(info);
  TESSERA_TRY(check_group(group, subject));
  TESSERA_ASSIGN_OR_RETURN(auto raw, state.get(partition_group_key(group)));
  if (!raw) return std::optional<uint64_t>();
  if (raw->size() != 8) {
    return Status(Errc::corruption, subject + ": committed offset of group " +
                                        std::string(group) + " has the wrong size");
  }
  return std::optional<uint64_t>(get_be64(*raw));
}

}  // namespace tessera::ns

namespace tessera::ns {

Result<std::optional<TimedOffset>> partition_offset_for_time(const storage::StateReader& state,
                                                            int64_t timestamp_ms) {
  TESSERA_ASSIGN_OR_RETURN(auto info, partition_info(state));
  const std::string subject = partition_subject(info);
  // The group last loaded: bisection probes near its end fall inside it.
  internal::RecordGroup group;
  auto holds = [&](uint64_t offset) {
    return group.records_size() > 0 && group.records(0).offset() <= offset &&
           offset <= group.records(group.records_size() - 1).offset();
  };
  // The timestamp of the record at `offset`.
  auto load = [&](uint64_t offset) -> Result<int64_t> {
    if (!holds(offset)) {
      group.Clear();
      TESSERA_TRY(scan_record_groups(state, offset, subject,
                                     [&](std::string_view, internal::RecordGroup& g) {
                                       group.Swap(&g);
                                       return false;
                                     }));
      if (!holds(offset)) {
        return Status(Errc::corruption, subject + ": record at offset " +
                                            std::to_string(offset) + " missing");
      }
    }
    return group.records(static_cast<int>(offset - group.records(0).offset())).timestamp_ms();
  };
  // The first offset whose timestamp is >= timestamp_ms, by bisection over
  // [start, end): exact when timestamps do not decrease along the log.
  uint64_t lo = info.start_offset();
  uint64_t hi = info.end_offset();
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    TESSERA_ASSIGN_OR_RETURN(const int64_t ts, load(mid));
    if (ts < timestamp_ms) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo >= info.end_offset()) return std::optional<TimedOffset>();
  TESSERA_ASSIGN_OR_RETURN(const int64_t ts, load(lo));
  return std::optional<TimedOffset>(TimedOffset{lo, ts});
}

}  // namespace tessera::ns
