// Seeds for the data-path targets: Metadata, Produce, Fetch, ListOffsets,
// InitProducerId. Values fill every field some version has, so each version's
// seed reaches all of its fields.
#include <string>

#include "gateway/kafka/protocol/fetch.h"
#include "gateway/kafka/protocol/fuzz/seed_corpus.h"
#include "gateway/kafka/protocol/init_producer_id.h"
#include "gateway/kafka/protocol/list_offsets.h"
#include "gateway/kafka/protocol/metadata.h"
#include "gateway/kafka/protocol/produce.h"
#include "gateway/kafka/protocol/records.h"

namespace tessera::kafka::fuzz {
namespace {

std::string small_batch(int64_t base_offset) {
  RecordBatch b;
  b.base_offset = base_offset;
  b.base_timestamp = 1'700'000'000'000;
  b.max_timestamp = b.base_timestamp + 1;
  Record r;
  r.key = "k";
  r.value = "value";
  r.headers = {RecordHeader{"h", "v"}};
  b.records = {r};
  r.offset_delta = 1;
  r.timestamp_delta = 1;
  r.key.reset();
  b.records.push_back(r);
  return encode_record_batch(b, Compression::none);
}

void metadata(SeedWriter& w) {
  MetadataRequest req;
  req.topics = std::vector<std::string>{"orders", "payments"};
  req.allow_auto_topic_creation = false;
  req.include_cluster_authorized_operations = true;
  req.include_topic_authorized_operations = true;
  MetadataResponse resp;
  resp.throttle_time_ms = 5;
  resp.brokers = {{1, "broker-1", 9092, "rack-a"}, {2, "broker-2", 9092, std::nullopt}};
  resp.cluster_id = "cluster";
  resp.controller_id = 1;
  MetadataPartition p{0, 0, 1, 3, {1, 2}, {1}, {2}};
  resp.topics = {{0, "orders", false, {p, p}, 8}, {3, "gone", true, {}, 0}};
  resp.cluster_authorized_operations = 0x7f;
  w.add_api("fuzz_metadata", kMetadataMinVersion, kMetadataMaxVersion, req, encode_metadata_request,
            resp, encode_metadata_response);
  req.topics.reset();
  w.add("fuzz_metadata", selector_for(1, kMetadataMinVersion, false),
        encode_metadata_request(req, 1));
}

void produce(SeedWriter& w) {
  ProduceRequest req;
  req.transactional_id = "tx";
  req.acks = -1;
  req.timeout_ms = 30000;
  req.topic_data = {{"orders", {{0, small_batch(0)}, {1, std::nullopt}}}, {"empty", {}}};
  ProduceResponse resp;
  ProducePartitionResponse p{0, 0, 42, -1, 0, {{0, "bad"}, {1, std::nullopt}}, "error"};
  resp.responses = {{"orders", {p, p}}};
  resp.throttle_time_ms = 1;
  w.add_api("fuzz_produce", kProduceMinVersion, kProduceMaxVersion, req, encode_produce_request,
            resp, encode_produce_response);
}

void fetch(SeedWriter& w) {
  FetchRequest req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.isolation_level = 1;
  req.session_id = 7;
  req.session_epoch = 2;
  req.topics = {{"orders", {{0, 3, 100, 0, 1 << 20}, {1, -1, 0, -1, 4096}}}};
  req.forgotten_topics_data = {{"old", {0, 1}}};
  req.rack_id = "rack-a";
  FetchResponse resp;
  resp.session_id = 7;
  FetchPartitionResponse p;
  p.high_watermark = 10;
  p.last_stable_offset = 10;
  p.log_start_offset = 0;
  p.aborted_transactions = std::vector<FetchAbortedTransaction>{{5, 3}};
  p.preferred_read_replica = 2;
  p.records = small_batch(8);
  FetchPartitionResponse q;
  q.partition_index = 1;
  resp.responses = {{"orders", {p, q}}};
  w.add_api("fuzz_fetch", kFetchMinVersion, kFetchMaxVersion, req, encode_fetch_request, resp,
            static_cast<Encoder<FetchResponse>>(encode_fetch_response));
}

void list_offsets(SeedWriter& w) {
  ListOffsetsRequest req;
  req.isolation_level = 1;
  req.topics = {{"orders", {{0, 3, kListOffsetsLatest, 1}, {1, -1, kListOffsetsEarliest, 5}}}};
  ListOffsetsResponse resp;
  resp.throttle_time_ms = 2;
  resp.topics = {{"orders", {{0, 0, {10, 0}, 1'700'000'000'000, 10, 3}}}};
  w.add_api("fuzz_list_offsets", kListOffsetsMinVersion, kListOffsetsMaxVersion, req,
            encode_list_offsets_request, resp, encode_list_offsets_response);
}

void init_producer_id(SeedWriter& w) {
  InitProducerIdRequest req{"tx", 60000};
  InitProducerIdResponse resp{0, 0, 1000, 1};
  w.add_api("fuzz_init_producer_id", kInitProducerIdMinVersion, kInitProducerIdMaxVersion, req,
            encode_init_producer_id_request, resp, encode_init_producer_id_response);
  req.transactional_id.reset();
  w.add("fuzz_init_producer_id", selector_for(0, kInitProducerIdMinVersion, false),
        encode_init_producer_id_request(req, 0));
}

}  // namespace

void add_data_seeds(SeedWriter& w) {
  metadata(w);
  produce(w);
  fetch(w);
  list_offsets(w);
  init_producer_id(w);
}

}  // namespace tessera::kafka::fuzz
