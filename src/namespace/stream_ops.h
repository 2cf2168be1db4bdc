#pragma once
// Streams, name shard side: a stream is an inode of kind STREAM holding
// topics; a topic has N partitions, each in its own partition shard
// (partition_ops.h), which holds its records and consumer offsets.
//   T ino topic                         TopicState (partition shard ids, bytes)
// The name shard keeps the namespace, the stream's permissions and retention
// settings, and per partition the shard id and the bytes that shard last
// reported (StreamUsageOp). Reported bytes count toward the volume's usage
// and the stream's inode size.
//
// The server checks permissions here (open_stream_topic), picks the
// partition (choose_partition) and proposes to the partition shard; the
// volume quota reaches partition shards as grants (apply_stream_grant).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

inline constexpr uint32_t kPartitionsMax = 1024;
inline constexpr size_t kRecordBytesMax = 1u << 20;
inline constexpr size_t kProduceRecordsMax = 100000;

// Kafka's legal topic names (org.apache.kafka.common.internals.Topic):
// [a-zA-Z0-9._-]{1,249}, not "." or "..". invalid_argument naming `subject`.
Status check_topic_name(std::string_view topic, std::string_view subject);
// Consumer group ids: 1..255 bytes without NUL (kNameBytesMax).
Status check_group(std::string_view group, std::string_view subject);

// The bytes a record counts toward quota, inode size and retention: key +
// value + every header's key and value (protobuf framing excluded).
uint64_t record_bytes(const tessera::v1::Record& record);

// Kafka's default partitioner: a keyed record goes to murmur2(key) &
// 0x7fffffff % partitions (as a Java producer's would), a keyless one to
// round_robin % partitions, and round_robin moves on. The caller owns the
// counter. partitions > 0.
uint32_t choose_partition(const tessera::v1::Record& record, uint32_t partitions,
                          uint32_t& round_robin);

// A stream resolved with the wanted right and one of its topics loaded.
struct StreamTopic {
  Resolved stream;
  internal::TopicState topic;
  std::string subject;  // "PATH:TOPIC"
};

// Resolves the stream at `path` (traverse checks on the way, `want` — an
// Access bit set — on the stream) and loads `topic`: not_found "PATH:TOPIC"
// when the stream has no such topic.
Result<StreamTopic> open_stream_topic(const VolumeView& view, const internal::Principal& who,
                                      std::string_view path, std::string_view topic, int want);
// Kafka's UNKNOWN_TOPIC_OR_PARTITION: not_found "PATH:TOPIC partition N".
Status check_partition_index(const StreamTopic& t, uint64_t part);

// Needs write on the stream; op.shards[i] holds partition i.
Status apply_create_topic(VolumeTxn& txn, const internal::Command& cmd,
                          internal::CommandResult& result);
// A partition shard's leader reports the bytes it holds: the change since the
// last report goes to the stream's size and the volume's stream usage,
// without a quota refusal (the bytes are already stored). A stream or topic
// removed meanwhile is not_found, and so is a partition held by another
// shard than op.shard (when set).
Status apply_stream_usage(VolumeTxn& txn, const internal::Command& cmd,
                          internal::CommandResult& result);
// A partition holding `held` bytes needs `want` more: grows its grant as far
// as the volume quota allows, counting every partition's grant (plus up to
// 1 MiB of slack, so small produces do not each ask), or refuses with
// quota_exceeded. result.partition.grant is the grant. A volume without
// quota answers max uint64. Not_found as apply_stream_usage.
Status apply_stream_grant(VolumeTxn& txn, const internal::Command& cmd,
                          internal::CommandResult& result);
// Removes every topic of `stream` and its reported bytes from the usage; the
// ids of the partition shards it held are appended to *released (when not
// null) for the caller to remove.
Status purge_stream(VolumeTxn& txn, const internal::Inode& stream,
                    std::vector<uint64_t>* released);

// The topics of the stream at `path` (read right), sorted by name.
Result<std::vector<internal::TopicState>> stream_topics(const VolumeView& view,
                                                        const internal::Principal& who,
                                                        std::string_view path);
// A stream with retention settings and the partition shards of its topics:
// the server proposes PartitionRetentionOp with these settings to each shard.
struct RetainedStream {
  uint64_t ino = 0;
  int64_t retention_age_ms = 0;
  uint64_t retention_bytes = 0;
  std::vector<uint64_t> shards;
};
// Every stream of the volume with retention_age_ms or retention_bytes set,
// in inode order. No permission check: retention enforces the owners' settings.
Result<std::vector<RetainedStream>> streams_with_retention(const VolumeView& view);
// Names and partition counts; start/end offsets are the partition shards'
// to fill in, so they are left empty here.
Result<tessera::v1::ListTopicsResponse> list_topics(const VolumeView& view,
                                                    const internal::Principal& who,
                                                    const tessera::v1::ListTopicsRequest& req);

}  // namespace tessera::ns
