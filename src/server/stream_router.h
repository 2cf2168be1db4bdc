#pragma once
// StreamRouter: streams over partition shards.
//
// Every partition of a topic is its own raft shard (a *partition shard*,
// namespace/partition_ops.h), placed and healed like any shard, so the
// partitions of one topic have their leaders and replicas on different
// nodes. The stream's volume shard (its *name shard*) holds the stream inode
// — permissions, retention settings — and each topic's partition → shard map.
//
//   create topic   check the stream on the name shard → allocate one shard
//                  id per partition in the meta shard → bootstrap each here,
//                  grow it to the volume's replication (learner, catch up,
//                  promote), hand leadership round the nodes → record the
//                  topic with its shard ids in the name shard.
//   delete topic   the name shard forgets the topic (write on the stream)
//                  and answers its shard ids → their meta records go.
//   add partitions check the topic on the name shard → allocate, bring up
//                  and mark ready one shard per new partition as for create
//                  → append them in the name shard, refused (and the new
//                  shards released) when the count changed meanwhile.
//   retention      set on the stream inode (admin right); name shard leaders
//                  send it to the partition shards every retention run.
//   produce        permission and partition map from this node's replica of
//                  the name shard (read barrier only when it misses) → the
//                  partition is chosen (explicit, key hash, round robin) →
//                  one proposal per partition touched, to its shard's leader.
//                  A request spanning partitions is not atomic across them.
//   fetch, offsets permission after a read barrier on the name shard → the
//                  partition shard is read here when this node holds it
//                  (read barrier, long poll on its applied index), else on
//                  its leader ("partition_read" peer call).
//   quota          a partition shard may hold up to its *grant* of bytes;
//                  beyond that its produce is refused and the router asks the
//                  name shard for a larger grant (which checks the volume
//                  quota, counting grants) before retrying. Grants grow name
//                  shard first and shrink partition shard first, so the sum
//                  of partitions' bytes never exceeds the quota.
//   periodic       partition shard leaders report their bytes to the name
//                  shard (usage, quota, the stream's size) and shrink unused
//                  grants; name shard leaders apply retention to the
//                  partitions of their streams; a partition shard no topic
//                  refers to any more is released (its meta record removed,
//                  its replicas dropped).
//
// Thread safety: every method may be called from any request thread.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tessera/internal/state.pb.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::ns {
struct StreamTopic;
}

namespace tessera::server {

class Backend;
struct Route;

class StreamRouter {
 public:
  explicit StreamRouter(Backend& backend);

  // Paths are normalised by the caller.
  Status create_topic(const internal::Principal& who, const std::string& path,
                      const std::string& topic, uint32_t partitions);
  Result<tessera::v1::ProduceResponse> produce(const internal::Principal& who,
                                               const tessera::v1::ProduceRequest& req);
  Result<tessera::v1::FetchResponse> fetch(const internal::Principal& who,
                                           const tessera::v1::FetchRequest& req,
                                           const std::function<bool()>& cancelled);
  Status commit_offset(const internal::Principal& who, const tessera::v1::CommitOffsetRequest& req);
  Result<tessera::v1::GetOffsetResponse> get_offset(const internal::Principal& who,
                                                    const tessera::v1::GetOffsetRequest& req);
  Result<tessera::v1::ListTopicsResponse> list_topics(const internal::Principal& who,
                                                      const std::string& path);

  // Removes topic `topic` of the stream at `path` (write on the stream): the
  // name shard forgets it and its partition shards are released. not_found
  // when the stream has no such topic.
  Status delete_topic(const internal::Principal& who, const std::string& path, const std::string& topic);
  // Grows topic `topic` to `total` partitions (write on the stream); records
  // keep their partitions. invalid_argument when total is not larger than the
  // current count or above ns::kPartitionsMax.
  Status add_partitions(const internal::Principal& who, const std::string& path, const std::string& topic, uint32_t total);
  // Sets the stream's retention (admin right on the stream, like chmod): a
  // field left nullopt keeps its value; 0 means no limit. Applies to every
  // topic of the stream; partition shards pick it up at the next retention run.
  Status set_retention(const internal::Principal& who, const std::string& path, std::optional<int64_t> age_ms, std::optional<uint64_t> bytes);

  // --- For the Kafka gateway (gateway/kafka/server). ---
  // The topic at `path` with its partition shards, `want` (ns::Access bits)
  // checked on this node's replica of the name shard (a barrier on a miss).
  Result<ns::StreamTopic> open_topic(const internal::Principal& who, const std::string& path,
                                     const std::string& topic, int want);
  // A Kafka idempotent producer's batch identity.
  struct Idempotence {
    int64_t producer_id = -1;
    int16_t epoch = -1;
    int32_t base_sequence = -1;
  };
  // Appends `records` to partition `part` of `t` as one proposal (checked
  // against the producer's sequence when `idem` is set). result.produce
  // holds the offsets, result.partition the partition's info after.
  Result<internal::CommandResult> produce_partition(const internal::Principal& who,
                                                    const ns::StreamTopic& t, const std::string& path,
                                                    uint32_t part,
                                                    std::vector<tessera::v1::Record> records,
                                                    const Idempotence* idem);
  // Reads a partition shard here or on a node holding it.
  Result<internal::PartitionReadReply> read_partition(uint64_t shard, const internal::PartitionRead& req,
                                                      const std::function<bool()>& cancelled) {
    return read(shard, req, cancelled);
  }

  // Reads a partition shard this node holds, after a read barrier; waits up
  // to max_wait_ms for records past the end. The "partition_read" peer call.
  Result<internal::PartitionReadReply> read_local(const internal::PartitionRead& req,
                                                  const std::function<bool()>& cancelled = {});

  // Usage reports, grant shrinking, orphan release and, when `retention`,
  // retention (see above).
  void run_periodic(bool retention);

 private:
  Result<ns::StreamTopic> open(const internal::Principal& who, const std::string& path,
                               const std::string& topic, int want, bool barrier);
  // Reads a partition shard here or on a node holding it.
  Result<internal::PartitionReadReply> read(uint64_t shard, const internal::PartitionRead& req,
                                            const std::function<bool()>& cancelled);
  Status bring_up_partition(uint64_t shard, const internal::PartitionInfo& info);
  // Allocates one partition shard per partition first.. first + count - 1
  // of topic `topic` of stream `stream_ino`, brings each up and marks them
  // ready; their ids, in partition order. Releases them on failure.
  Result<std::vector<uint64_t>> make_partitions(const Route& route, uint64_t stream_ino,
                                                const std::string& subject, const std::string& topic,
                                                uint32_t first, uint32_t count);
  // Releases `shards` made for a name shard command that failed with `st`,
  // unless its outcome is unknown.
  void release_if_refused(const Status& st, const std::vector<uint64_t>& shards);
  // Produces `records` to one partition, asking for a larger grant once
  // when the partition shard refuses for want of one.
  Result<internal::CommandResult> produce_to(const internal::Principal& who,
                                             const ns::StreamTopic& t, uint64_t stream_shard,
                                             uint32_t part, internal::Command cmd);
  void report_usage(uint64_t shard);
  void apply_retention(uint64_t name_shard);

  Backend& b_;
  std::atomic<uint32_t> round_robin_{0};
  std::mutex mu_;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> reported_;  // shard → (bytes, grant) reported
};

}  // namespace tessera::server
