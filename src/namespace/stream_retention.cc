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

// Deletes whole record groups from the start of the partition while they
// are expired by age or it holds more than bytes_max and they are not the
// newest, at most kRetentionRecordsMax records (apply_partition_retention in
// partition_ops.h). Advances info.start_offset to the first retained offset
// (end_offset when none is left) and lowers info.bytes. False when nothing
// was deleted.
Result<bool> trim(storage::StateWriter& state, const Policy& policy, PartitionInfo& info) {
  if (info.start_offset() == info.end_offset()) return false;
  std::vector<std::string> doomed;
  size_t records = 0;
  uint64_t bytes = info.bytes();
  uint64_t next = info.start_offset();
  TESSERA_TRY(scan_record_groups(
      state, info.start_offset(), partition_subject(info),
      [&](std::string_view k, internal::RecordGroup& group) {
        uint64_t group_bytes = 0;
        size_t group_records = 0;
        int64_t newest_ms = std::numeric_limits<int64_t>::min();
        for (const Record& rec : group.records()) {
          if (rec.offset() < info.start_offset()) continue;  // not counted in bytes
          group_bytes += record_bytes(rec);
          ++group_records;
          newest_ms = std::max(newest_ms, rec.timestamp_ms());
        }
        if (!doomed.empty() && records + group_records > kRetentionRecordsMax) return false;
        const uint64_t last = group.records(group.records_size() - 1).offset();
        const bool expired = policy.by_age && newest_ms < policy.cutoff_ms;
        const bool over =
            policy.bytes_max > 0 && bytes > policy.bytes_max && last + 1 < info.end_offset();
        if (!expired && !over) return false;
        bytes -= std::min(bytes, group_bytes);
        records += group_records;
        next = last + 1;
        doomed.emplace_back(k);
        return true;
      }));
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
