#pragma once
// Streams: a stream is an inode of kind STREAM holding topics; a topic has N
// partitions, each an append-only sequence of records addressed by offset.
//   T ino topic                         TopicState (partition start/end offsets, bytes)
//   S ino topic-len topic part offset   tessera.v1.Record
//   G ino topic-len topic part group    committed offset (be64)
// Record bytes (key + value + headers) count toward the volume quota and the
// stream's inode size. Retention (by age and by bytes per partition, from the
// stream inode's settings) is applied by RetentionOp, which the node proposes
// periodically with its clock in now_ms.

#include "base/status.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

inline constexpr uint32_t kPartitionsMax = 1024;
inline constexpr size_t kRecordBytesMax = 1u << 20;
inline constexpr size_t kProduceRecordsMax = 100000;

// The bytes a record counts toward quota, inode size and retention: key +
// value + every header's key and value (protobuf framing excluded).
uint64_t record_bytes(const tessera::v1::Record& record);

Status apply_create_topic(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
// Records go to op.partition, or when it is < 0, keyed records to
// murmur2(key) & 0x7fffffff % partitions (Kafka's default partitioner) and
// keyless ones round-robin. A timestamp <= 0 becomes cmd.now_ms. All records
// are checked (count, kRecordBytesMax, quota) before any is written.
// result.produce gets each record's partition and offset, in request order.
Status apply_produce(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
Status apply_commit_offset(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);
// Deletes records from the start of each partition of every stream with
// retention settings while they are older than now_ms - retention_age_ms or
// the partition holds more than retention_bytes; start_offset moves to the
// first record kept (end_offset when none is). At most 100000 records per
// command; the next RetentionOp continues.
Status apply_retention(VolumeTxn& txn, const internal::Command& cmd, internal::CommandResult& result);

// Removes every topic, record and committed offset of `stream`.
Status purge_stream(VolumeTxn& txn, const internal::Inode& stream);

// Records from req.offset on, while their serialized size stays within
// max_bytes (0 = 1 MiB), at least one. offset == end offset gives no records
// (the caller long-polls); an offset outside [start, end] is out_of_range.
Result<tessera::v1::FetchResponse> fetch(const VolumeView& view, const internal::Principal& who,
                                         const tessera::v1::FetchRequest& req);
Result<tessera::v1::ListTopicsResponse> list_topics(const VolumeView& view,
                                                    const internal::Principal& who,
                                                    const tessera::v1::ListTopicsRequest& req);
Result<tessera::v1::GetOffsetResponse> get_offset(const VolumeView& view,
                                                  const internal::Principal& who,
                                                  const tessera::v1::GetOffsetRequest& req);

}  // namespace tessera::ns
