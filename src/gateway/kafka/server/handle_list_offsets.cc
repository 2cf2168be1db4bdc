// ListOffsets: latest (-1) is the partition's end offset, earliest (-2) its
// start offset, any other timestamp the first offset whose record is at
// least that late (the end offset when none is).
#include "gateway/kafka/protocol/list_offsets.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"
#include "namespace/permissions.h"
#include "server/backend.h"
#include "server/stream_router.h"

namespace tessera::kafka {
namespace {

constexpr int kRead = static_cast<int>(ns::Access::read);

ListOffsetsPartitionResponse list_partition(Broker& b, const Result<ResolvedTopic>& topic,
                                            const ListOffsetsPartition& lp, int16_t version) {
  ListOffsetsPartitionResponse out;
  out.partition_index = lp.partition_index;
  if (!topic.is_ok()) {
    out.error_code = code(error_for(topic.status()));
    return out;
  }
  if (lp.partition_index < 0 || lp.partition_index >= topic->topic.topic.partitions_size()) {
    out.error_code = code(KafkaError::unknown_topic_or_partition);
    return out;
  }
  internal::PartitionRead read;
  read.set_shard(topic->topic.topic.partitions(lp.partition_index).shard());
  const bool by_time = lp.timestamp != kListOffsetsLatest && lp.timestamp != kListOffsetsEarliest;
  if (by_time) {
    read.set_by_time(true);
    read.set_timestamp_ms(lp.timestamp);
  }
  auto got = b.backend().streams().read_partition(read.shard(), read, [&b] { return b.stopping(); });
  if (!got.is_ok()) {
    out.error_code = code(error_for(got.status()));
    return out;
  }
  int64_t offset = static_cast<int64_t>(got->fetch().end_offset());
  int64_t timestamp = -1;
  if (lp.timestamp == kListOffsetsEarliest) offset = static_cast<int64_t>(got->fetch().start_offset());
  if (by_time && got->time_found()) {
    offset = static_cast<int64_t>(got->time_offset());
    timestamp = got->time_timestamp_ms();
  } else if (by_time) {
    offset = -1;  // no record that late (Kafka answers -1)
  }
  if (version == 0) {
    out.old_style_offsets.push_back(offset);
  } else {
    out.offset = offset;
    out.timestamp = timestamp;
  }
  return out;
}

}  // namespace

HandlerResult handle_list_offsets(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_list_offsets_request(body, h.api_version));
  Broker& b = s.broker();
  ListOffsetsResponse resp;
  for (const auto& lt : req.topics) {
    ListOffsetsTopicResponse tr;
    tr.name = lt.name;
    auto topic = b.resolve(*s.principal(), lt.name, kRead, false);
    for (const auto& lp : lt.partitions) tr.partitions.push_back(list_partition(b, topic, lp, h.api_version));
    resp.topics.push_back(std::move(tr));
  }
  return std::optional<std::string>(encode_list_offsets_response(resp, h.api_version));
}

}  // namespace tessera::kafka
