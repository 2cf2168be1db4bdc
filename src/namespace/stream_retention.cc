// Retention of stream records: apply_partition_retention (partition_ops.h),
// the one command that deletes records from a partition shard. The server
// proposes it periodically with the stream's settings and its clock in now_ms.

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/partition_ops.h"
#include "namespace/stream_ops.h"

namespace tessera::ns {

using internal::PartitionInfo;
using tessera::v1::Record;

namespace {

// Retention settings of one stream, evaluated at one instant.
struct Policy {
  bool by_age = false;
  int64_t cutoff_ms = 0;   // records with timestamp_ms < cutoff_ms are expired
  uint64_t bytes_max = 0;  // 0 = no size limit
};

Policy policy_of(const internal::PartitionRetentionOp& op, int64_t now_ms) {
  Policy p;
  p.bytes_max = op.retention_bytes();
  const int64_t age = op.retention_age_ms();
  if (age > 0) {
    p.by_age = true;
    p.cutoff_ms = now_ms < std::numeric_limits<int64_t>::min() + age
                      ? std::numeric_limits<int64_t>::min()
                      : now_ms - age;
  }
  return p;
}

// Deletes records from the start of the partition while they are expired by
// age or it holds more than bytes_max, at most kRetentionRecordsMax of them.
// Advances info.start_offset to the first retained offset (end_offset when
// none is left) and lowers info.bytes. False when nothing was deleted.
Result<bool> trim(storage::StateWriter& state, const Policy& policy, PartitionInfo& info) {
  if (info.start_offset() == info.end_offset()) return false;
  const std::string subject = partition_subject(info);
  std::vector<std::string> doomed;
  uint64_t bytes = info.bytes();
  uint64_t next = info.start_offset();
  Status inner;
  TESSERA_TRY(state.scan(
      partition_record_key(info.start_offset()), prefix_successor(partition_records_prefix()),
      [&](std::string_view k, std::string_view v) {
        if (doomed.size() >= kRetentionRecordsMax) return false;
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
  if (doomed.empty()) return false;
  for (const auto& k : doomed) state.del(k);
  info.set_bytes(bytes);
  info.set_start_offset(std::min(next, info.end_offset()));
  return true;
}

}  // namespace

Status apply_partition_retention(storage::StateWriter& state, const internal::Command& cmd,
                                 internal::CommandResult& result) {
  TESSERA_ASSIGN_OR_RETURN(auto info, partition_info(state));
  const Policy policy = policy_of(cmd.partition_retention(), cmd.now_ms());
  if (policy.by_age || policy.bytes_max > 0) {
    TESSERA_ASSIGN_OR_RETURN(const bool trimmed, trim(state, policy, info));
    if (trimmed) state.put(partition_info_key(), info.SerializeAsString());
  }
  *result.mutable_partition() = info;
  return Status::ok();
}

}  // namespace tessera::ns
