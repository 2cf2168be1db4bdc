#pragma once
// Partition shards: a raft shard holding one partition of one topic of a
// stream — its PartitionInfo, its records (an append-only sequence addressed
// by offset) and the committed offsets of consumer groups. Key layout:
// keys.h. The stream itself (name, permissions, retention settings, quota)
// lives in the volume's name shard (stream_ops.h).
//
// Records are stored in record groups (internal::RecordGroup): one produce
// is one group (more when its records exceed kRecordGroupBytesMax), stored
// at partition_record_key(offset of its last record). Groups hold contiguous
// offsets and follow each other without gaps, so a forward scan from
// partition_record_key(x) finds first the group holding offset x. A value
// stored before groups — one tessera.v1.Record at its own offset — fits the
// same rule and reads as a group of one (scan_record_groups).
//
// These commands are trusted: the server checked permissions (and, before a
// produce, the volume quota) on the name shard before proposing here, so
// nothing in this file checks a principal. Apply runs on the shard host's
// writer thread; the read functions run on request threads over snapshots.
// Messages name the partition "PATH:TOPIC partition N" (PartitionInfo.subject).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "storage/state_view.h"
#include "tessera/internal/state.pb.h"

namespace tessera::ns {

// Batches of each idempotent producer remembered for duplicate detection
// (Kafka keeps 5, the most a producer has in flight).
inline constexpr size_t kProducerBatchesKept = 5;

// Records deleted by one PartitionRetentionOp; the next one continues.
inline constexpr size_t kRetentionRecordsMax = 100000;

// record_bytes of the records of one stored group: a produce larger than
// this is stored as several groups. Bounds what a fetch from the middle of a
// group, a ListOffsets probe and retention read and parse for one group, and
// how much more than the rest retention keeps for a group it may not split.
// A 1 MiB Kafka batch (librdkafka's batch.size) is one group.
inline constexpr uint64_t kRecordGroupBytesMax = 1u << 20;

// Stores cmd.init_partition().partition() with zero offsets and bytes and
// created_ms = cmd.now_ms. Initialising again with the same (volume_id,
// stream_ino, topic, partition) is already_exists (the caller treats it as
// done); with another one, invalid_argument. result.partition: the stored info.
Status apply_init_partition(storage::StateWriter& state, const internal::Command& cmd,
                            internal::CommandResult& result);
// Appends cmd.produce().records from the end offset on: op.topic and
// op.partition must be this shard's. A timestamp <= 0 becomes cmd.now_ms.
// All records are checked (count, kRecordBytesMax, the quota grant) before
// any is written; beyond the grant the refusal is quota_exceeded with
// result.partition set, and the caller asks the name shard for more.
// result.produce: each record's partition and offset, in request order;
// result.partition: the info after.
// An idempotent batch (op.idempotent) is appended only when its
// base_sequence follows the producer's last batch here (0 for a new producer
// or a new epoch); a resend of one of its last kProducerBatchesKept batches
// is answered with the offsets it got then and appends nothing; an older
// epoch is version_mismatch (Kafka's INVALID_PRODUCER_EPOCH); any other
// sequence failed_precondition (OUT_OF_ORDER_SEQUENCE_NUMBER).
Status apply_partition_produce(storage::StateWriter& state, const internal::Command& cmd,
                               internal::CommandResult& result);
// Stores cmd.commit_offset().offset as the group's committed offset.
// PartitionGrantOp: grows the grant (never lowers it), or with shrink lowers
// it, never below the bytes held. result.partition is the record after.
Status apply_partition_grant(storage::StateWriter& state, const internal::Command& cmd,
                             internal::CommandResult& result);
Status apply_partition_commit(storage::StateWriter& state, const internal::Command& cmd,
                              internal::CommandResult& result);
// Deletes whole record groups from the start while either holds (0 = no
// limit of that kind):
//  - by age: every record of the group is older than now_ms -
//    retention_age_ms (its largest timestamp is, as Kafka's segments);
//  - by bytes: the partition holds more than retention_bytes and the group
//    is not the newest one (as Kafka never deletes its active segment for
//    size), so a partition stays within retention_bytes unless its newest
//    group alone exceeds it.
// At most kRetentionRecordsMax records per command (the first group always
// goes when due); the next command continues. start_offset moves to the
// first record kept (end_offset when none is) and bytes drops by the
// record_bytes of the records deleted. result.partition: the info after (its
// bytes are what the leader reports to the name shard).
Status apply_partition_retention(storage::StateWriter& state, const internal::Command& cmd,
                                 internal::CommandResult& result);

// This shard's PartitionInfo; not_found when it was never initialised.
Result<internal::PartitionInfo> partition_info(const storage::StateReader& state);
// "PATH:TOPIC partition N", for messages.
std::string partition_subject(const internal::PartitionInfo& info);

// Records from `offset` on, while their serialized size stays within
// max_bytes (0 = 1 MiB), at least one, at most 100000. offset == end offset
// gives no records (the caller long-polls); an offset outside [start, end] is
// out_of_range. start_offset and end_offset are always set.
Result<tessera::v1::FetchResponse> partition_fetch(const storage::StateReader& state,
                                                   uint64_t offset, uint64_t max_bytes);
// Kafka ListOffsets by time: the first offset whose record's timestamp is
// >= timestamp_ms, and that timestamp; nullopt when no record is that late.
// Bisects the log over offsets, so it is exact while timestamps do not
// decrease (server stamped, or producers with steady clocks); each probe
// loads the group holding it, and probes inside the group last loaded read
// it again from memory, so it loads about log2(groups) + 1 groups.
struct TimedOffset {
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
};
Result<std::optional<TimedOffset>> partition_offset_for_time(const storage::StateReader& state,
                                                            int64_t timestamp_ms);
// The group's committed offset, nullopt when it has none.
Result<std::optional<uint64_t>> partition_committed(const storage::StateReader& state,
                                                    std::string_view group);

// Calls fn(key, group) for the stored record groups from the one holding
// `offset` on (the first may start before it), in offset order, while fn
// returns true. A value stored before groups comes as a group of one record.
// corruption naming `subject` for a value that does not parse, a group
// without records or with a gap inside, or one not stored at the offset of
// its last record. The reader of partition records for fetch, ListOffsets
// and retention.
using RecordGroupFn = std::function<bool(std::string_view key, internal::RecordGroup& group)>;
Status scan_record_groups(const storage::StateReader& state, uint64_t offset,
                          std::string_view subject, const RecordGroupFn& fn);

}  // namespace tessera::ns
