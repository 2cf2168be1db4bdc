// OffsetCommit and OffsetFetch: committed offsets live in the partition
// shards (one raft write per partition), so they survive any node and the
// coordinator moving. A commit needs read on the topic and, from a group
// member, the coordinator's consent (current generation); commit metadata
// strings are not kept.
#include <future>

#include "gateway/kafka/protocol/offset_commit.h"
#include "gateway/kafka/protocol/offset_fetch.h"
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

int16_t commit_partition(Broker& b, const internal::Principal& who, const ResolvedTopic& t,
                         const std::string& group, const OffsetCommitRequestPartition& p) {
  if (p.partition_index < 0 || p.partition_index >= t.topic.topic.partitions_size()) {
    return code(KafkaError::unknown_topic_or_partition);
  }
  if (p.committed_offset < 0) return code(KafkaError::offset_out_of_range);
  tessera::v1::CommitOffsetRequest c;
  c.set_stream(t.name.stream);
  c.set_topic(t.name.topic);
  c.set_group(group);
  c.set_partition(static_cast<uint32_t>(p.partition_index));
  c.set_offset(static_cast<uint64_t>(p.committed_offset));
  Status st = b.backend().streams().commit_offset(who, c);
  if (st.code() == Errc::invalid_argument) return code(KafkaError::invalid_group_id);
  return code(error_for(st));
}

}  // namespace

HandlerResult handle_offset_commit(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_offset_commit_request(body, h.api_version));
  Broker& b = s.broker();
  const auto& who = *s.principal();
  int16_t group_error = 0;
  if (!b.is_coordinator()) {
    group_error = code(KafkaError::not_coordinator);
  } else if (req.group_id.empty()) {
    group_error = code(KafkaError::invalid_group_id);
  } else {
    group_error = static_cast<int16_t>(b.groups().check_commit(
        req.group_id, h.api_version >= 1 ? req.generation_id : -1, req.member_id,
        req.group_instance_id, b.now_ms()));
  }
  OffsetCommitResponse resp;
  std::vector<std::future<void>> running;
  for (const auto& t : req.topics) resp.topics.push_back(OffsetCommitResponseTopic{t.name, {}});
  std::vector<Result<ResolvedTopic>> topics;
  topics.reserve(req.topics.size());
  for (const auto& t : req.topics) topics.push_back(b.resolve(who, t.name, kRead, false));
  for (size_t i = 0; i < req.topics.size(); ++i) {
    auto& out = resp.topics[i].partitions;
    out.resize(req.topics[i].partitions.size());
    for (size_t j = 0; j < out.size(); ++j) {
      const auto& p = req.topics[i].partitions[j];
      out[j].partition_index = p.partition_index;
      if (group_error != 0) {
        out[j].error_code = group_error;
      } else if (!topics[i].is_ok()) {
        out[j].error_code = code(error_for(topics[i].status()));
      } else {
        running.push_back(std::async(std::launch::async, [&, i, j] {
          resp.topics[i].partitions[j].error_code =
              commit_partition(b, who, *topics[i], req.group_id, req.topics[i].partitions[j]);
        }));
      }
    }
  }
  for (auto& r : running) r.get();
  return std::optional<std::string>(encode_offset_commit_response(resp, h.api_version));
}

HandlerResult handle_offset_fetch(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_offset_fetch_request(body, h.api_version));
  Broker& b = s.broker();
  const auto& who = *s.principal();
  OffsetFetchResponse resp;
  if (!b.is_coordinator()) {
    // v0-v1 have no top-level error: every partition carries it.
    resp.error_code = code(KafkaError::not_coordinator);
  }
  // All topics (null, v2+) would need an index of the group's commits by
  // topic, which the partition shards do not keep: answered with none.
  for (const auto& t : req.topics.value_or(std::vector<OffsetFetchRequestTopic>{})) {
    OffsetFetchResponseTopic out{t.name, {}};
    auto topic = b.resolve(who, t.name, kRead, false);
    for (int32_t p : t.partition_indexes) {
      OffsetFetchResponsePartition op;
      op.partition_index = p;
      op.metadata = "";
      if (resp.error_code != 0) {
        op.error_code = resp.error_code;
      } else if (!topic.is_ok()) {
        op.error_code = code(error_for(topic.status()));
      } else if (p < 0 || p >= topic->topic.topic.partitions_size()) {
        op.error_code = code(KafkaError::unknown_topic_or_partition);
      } else {
        tessera::v1::GetOffsetRequest g;
        g.set_stream(topic->name.stream);
        g.set_topic(topic->name.topic);
        g.set_group(req.group_id);
        g.set_partition(static_cast<uint32_t>(p));
        auto got = b.backend().streams().get_offset(who, g);
        if (!got.is_ok()) {
          op.error_code = code(error_for(got.status()));
        } else if (got->found()) {
          op.committed_offset = static_cast<int64_t>(got->offset());
        }
      }
      out.partitions.push_back(std::move(op));
    }
    resp.topics.push_back(std::move(out));
  }
  return std::optional<std::string>(encode_offset_fetch_response(resp, h.api_version));
}

}  // namespace tessera::kafka
