// Produce: each partition's record batch (exactly one, magic 2, any codec)
// is decoded and appended to its partition shard as one raft proposal, so
// acks=1 and acks=all both answer once a majority has the batch fsync'd
// (stronger than Kafka's acks=1). Partitions of one request are written
// concurrently. Idempotent batches carry their producer id, epoch and
// sequence to the partition shard, which drops resends and refuses gaps.
#include <future>

#include "gateway/kafka/protocol/produce.h"
#include "gateway/kafka/protocol/records.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"
#include "namespace/permissions.h"
#include "server/backend.h"
#include "server/stream_router.h"

namespace tessera::kafka {
namespace {

constexpr int kWrite = static_cast<int>(ns::Access::write);

ProducePartitionResponse refuse(int32_t index, KafkaError e, std::string message) {
  ProducePartitionResponse p;
  p.index = index;
  p.error_code = code(e);
  p.base_offset = -1;
  p.error_message = std::move(message);
  return p;
}

// Kafka records → Tessera records. A null key or value becomes empty.
std::vector<tessera::v1::Record> to_records(RecordBatch& batch) {
  std::vector<tessera::v1::Record> out;
  out.reserve(batch.records.size());
  for (auto& r : batch.records) {
    tessera::v1::Record rec;
    if (r.key) rec.set_key(std::move(*r.key));
    if (r.value) rec.set_value(std::move(*r.value));
    for (auto& hd : r.headers) {
      auto* h = rec.add_headers();
      h->set_key(std::move(hd.key));
      if (hd.value) h->set_value(std::move(*hd.value));
    }
    const int64_t ts = batch.base_timestamp + r.timestamp_delta;
    rec.set_timestamp_ms(ts > 0 ? ts : 0);  // 0: the partition stamps its clock
    out.push_back(std::move(rec));
  }
  return out;
}

ProducePartitionResponse produce_partition(Broker& b, const internal::Principal& who,
                                           const ResolvedTopic& t, const ProducePartitionDataView& pd) {
  if (pd.index < 0 || pd.index >= t.topic.topic.partitions_size()) {
    return refuse(pd.index, KafkaError::unknown_topic_or_partition,
                  t.topic.subject + " has no partition " + std::to_string(pd.index));
  }
  if (!pd.records || pd.records->empty()) {
    return refuse(pd.index, KafkaError::invalid_record, "produce without a record batch");
  }
  auto batches = decode_record_batches(*pd.records, DecodeLimits{}, false);
  if (!batches.is_ok()) {
    return refuse(pd.index, batches.status().code() == Errc::too_large ? KafkaError::record_list_too_large
                                                                        : KafkaError::corrupt_message,
                  batches.status().message());
  }
  if (batches->size() != 1) {
    return refuse(pd.index, KafkaError::invalid_record,
                  "a produce request must carry exactly one record batch per partition, not " +
                      std::to_string(batches->size()));
  }
  RecordBatch& batch = batches->front();
  if (batch.is_transactional() || batch.is_control()) {
    return refuse(pd.index, KafkaError::invalid_record, "transactional batches are not supported");
  }
  if (batch.records.empty()) return refuse(pd.index, KafkaError::invalid_record, "empty record batch");
  server::StreamRouter::Idempotence idem{batch.producer_id, batch.producer_epoch, batch.base_sequence};
  const bool idempotent = batch.producer_id >= 0;
  auto r = b.backend().streams().produce_partition(who, t.topic, t.name.stream,
                                                   static_cast<uint32_t>(pd.index), to_records(batch),
                                                   idempotent ? &idem : nullptr);
  if (!r.is_ok()) return refuse(pd.index, produce_error_for(r.status()), r.status().message());
  ProducePartitionResponse p;
  p.index = pd.index;
  p.base_offset = r->produce().offsets_size() > 0 ? static_cast<int64_t>(r->produce().offsets(0)) : -1;
  p.log_start_offset = static_cast<int64_t>(r->partition().start_offset());
  return p;
}

}  // namespace

HandlerResult handle_produce(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_produce_request_view(body, h.api_version));
  Broker& b = s.broker();
  const auto& who = *s.principal();
  const bool acks_ok = req.acks == 0 || req.acks == 1 || req.acks == -1;
  // Topics first (sized up front: the work below refers into it).
  std::vector<Result<ResolvedTopic>> topics;
  topics.reserve(req.topic_data.size());
  for (const auto& td : req.topic_data) {
    if (!acks_ok) {
      topics.emplace_back(Status(Errc::invalid_argument, "acks must be 0, 1 or -1, not " +
                                                             std::to_string(req.acks)));
    } else if (req.transactional_id) {
      topics.emplace_back(Status(Errc::invalid_argument, "transactions are not supported"));
    } else {
      topics.push_back(b.resolve(who, td.name, kWrite, false));
    }
  }
  ProduceResponse resp;
  struct Work {
    size_t topic;
    size_t slot;
  };
  std::vector<Work> work;
  for (size_t t = 0; t < req.topic_data.size(); ++t) {
    const auto& td = req.topic_data[t];
    ProduceTopicResponse tr;
    tr.name = std::string(td.name);
    for (const auto& pd : td.partition_data) {
      if (!topics[t].is_ok()) {
        const Status& bad = topics[t].status();
        KafkaError e = !acks_ok                 ? KafkaError::invalid_required_acks
                       : req.transactional_id ? KafkaError::transactional_id_authorization_failed
                                              : error_for(bad);
        tr.partition_responses.push_back(refuse(pd.index, e, bad.message()));
        continue;
      }
      work.push_back(Work{t, tr.partition_responses.size()});
      tr.partition_responses.emplace_back();
    }
    resp.responses.push_back(std::move(tr));
  }
  auto run = [&](const Work& w) {
    const auto& pd = req.topic_data[w.topic].partition_data[w.slot];
    resp.responses[w.topic].partition_responses[w.slot] = produce_partition(b, who, *topics[w.topic], pd);
  };
  // Partitions of one request go to their shards concurrently.
  std::vector<std::future<void>> running;
  for (size_t i = 1; i < work.size(); ++i) running.push_back(std::async(std::launch::async, run, work[i]));
  if (!work.empty()) run(work[0]);
  for (auto& r : running) r.get();
  if (req.acks == 0) return std::optional<std::string>();
  return std::optional<std::string>(encode_produce_response(resp, h.api_version));
}

}  // namespace tessera::kafka
