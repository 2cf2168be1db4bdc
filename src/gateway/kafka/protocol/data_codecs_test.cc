// Codecs of the data-path APIs: Metadata, Produce, Fetch, ListOffsets,
// InitProducerId. Every supported version of every request and response is
// round-tripped, truncated at every byte, extended by a trailing byte and
// mutated byte by byte; each API also has a hand-assembled byte sequence from
// the protocol guide's BNF.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "gateway/kafka/protocol/fetch.h"
#include "gateway/kafka/protocol/init_producer_id.h"
#include "gateway/kafka/protocol/list_offsets.h"
#include "gateway/kafka/protocol/metadata.h"
#include "gateway/kafka/protocol/produce.h"

namespace tessera::kafka {
namespace {

// Big-endian builders for hand-assembled frames, independent of Writer.
std::string be(uint64_t v, int n) {
  std::string s;
  for (int i = n - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
std::string i8(int v) { return be(static_cast<uint8_t>(v), 1); }
std::string i16(int v) { return be(static_cast<uint16_t>(v), 2); }
std::string i32(int64_t v) { return be(static_cast<uint32_t>(v), 4); }
std::string i64(int64_t v) { return be(static_cast<uint64_t>(v), 8); }
std::string str(std::string_view s) { return i16(static_cast<int>(s.size())) + std::string(s); }

// Round trip at `v` (decode(encode(full)) == expected), then: every strict
// prefix fails, a trailing byte fails, and any mutation that still decodes
// re-encodes to something that decodes to the same value (no crash either way).
template <typename T, typename Enc, typename Dec>
void check_codec(const T& full, const T& expected, int16_t v, Enc enc, Dec dec) {
  SCOPED_TRACE("version " + std::to_string(v));
  const std::string body = enc(full, v);
  auto back = dec(body, v);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, expected);
  EXPECT_EQ(enc(*back, v), enc(expected, v));
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(dec(body.substr(0, cut), v).is_ok()) << "prefix " << cut;
  }
  auto trailing = dec(body + '\0', v);
  ASSERT_FALSE(trailing.is_ok());
  EXPECT_NE(trailing.status().message().find("1 trailing bytes after"), std::string::npos);
  for (size_t i = 0; i < body.size(); ++i) {
    for (int b : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string m = body;
      m[i] = static_cast<char>(b);
      auto mutated = dec(m, v);
      if (!mutated.is_ok()) continue;
      auto again = dec(enc(*mutated, v), v);
      ASSERT_TRUE(again.is_ok()) << "byte " << i << " = " << b;
      EXPECT_EQ(*again, *mutated) << "byte " << i << " = " << b;
    }
  }
}

template <typename R>
void expect_error(const R& r, const std::string& message) {
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), message);
}

template <typename Dec>
void expect_unsupported(Dec dec, const std::string& what, std::initializer_list<int> versions) {
  for (int v : versions) {
    expect_error(dec(std::string_view(), static_cast<int16_t>(v)),
                 "kafka: " + what + " version " + std::to_string(v) + " is not supported");
  }
}

// ---- Metadata ----

MetadataRequest full_metadata_request() {
  return MetadataRequest{std::vector<std::string>{"orders", "logs"}, false, true, true};
}

MetadataResponse full_metadata_response() {
  MetadataResponse r;
  r.throttle_time_ms = 25;
  r.brokers = {{1, "b1.local", 9092, "rack-a"}, {2, "b2.local", 9093, std::nullopt}};
  r.cluster_id = "tessera-1";
  r.controller_id = 1;
  r.topics = {{0, "orders", true,
               {{0, 0, 1, 5, {1, 2}, {1}, {2}}, {6, 1, 2, 7, {2, 1}, {2, 1}, {}}}, 0x0f8},
              {3, "gone", false, {}, 0}};
  r.cluster_authorized_operations = 0x100;
  return r;
}

MetadataResponse metadata_response_at(MetadataResponse r, int16_t v) {
  if (v < 3) r.throttle_time_ms = 0;
  if (v < 2) r.cluster_id.reset();
  if (v < 1) r.controller_id = -1;
  if (v < 8) r.cluster_authorized_operations = kAuthorizedOperationsUnknown;
  for (MetadataBroker& b : r.brokers) {
    if (v < 1) b.rack.reset();
  }
  for (MetadataTopic& t : r.topics) {
    if (v < 1) t.is_internal = false;
    if (v < 8) t.topic_authorized_operations = kAuthorizedOperationsUnknown;
    for (MetadataPartition& p : t.partitions) {
      if (v < 5) p.offline_replicas.clear();
      if (v < 7) p.leader_epoch = -1;
    }
  }
  return r;
}

TEST(KafkaMetadata, RoundTripsAtEveryVersion) {
  for (int16_t v = kMetadataMinVersion; v <= kMetadataMaxVersion; ++v) {
    MetadataRequest expected = full_metadata_request();
    if (v < 4) expected.allow_auto_topic_creation = true;
    if (v < 8) expected.include_cluster_authorized_operations = false;
    if (v < 8) expected.include_topic_authorized_operations = false;
    check_codec(full_metadata_request(), expected, v, encode_metadata_request,
                decode_metadata_request);
    check_codec(MetadataRequest{}, MetadataRequest{}, v, encode_metadata_request,
                decode_metadata_request);
    check_codec(full_metadata_response(), metadata_response_at(full_metadata_response(), v), v,
                encode_metadata_response, decode_metadata_response);
  }
}

TEST(KafkaMetadata, AllTopicsIsAnEmptyArrayInV0AndNullLater) {
  EXPECT_EQ(encode_metadata_request(MetadataRequest{}, 0), i32(0));
  EXPECT_EQ(encode_metadata_request(MetadataRequest{}, 1), i32(-1));
  EXPECT_FALSE(decode_metadata_request(i32(0), 0)->topics.has_value());
  EXPECT_EQ(decode_metadata_request(i32(0), 1)->topics, std::vector<std::string>{});
  expect_error(decode_metadata_request(i32(-1), 0),
               "kafka: Metadata request v0 topics: ARRAY is null (not nullable in v0)");
  // v8: one topic "t", allow_auto_topic_creation false, both include flags true.
  std::string v8 = i32(1) + str("t") + i8(0) + i8(1) + i8(1);
  Result<MetadataRequest> r = decode_metadata_request(v8, 8);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (MetadataRequest{std::vector<std::string>{"t"}, false, true, true}));
  EXPECT_EQ(encode_metadata_request(*r, 8), v8);
}

TEST(KafkaMetadata, ResponseV0AndV1Bytes) {
  MetadataResponse r;
  r.brokers = {{1, "h", 9092, "r1"}};
  r.controller_id = 1;
  r.topics = {{0, "t", true, {{0, 0, 1, 5, {1}, {1}, {}}}, 0}};
  std::string v0 = i32(1) + i32(1) + str("h") + i32(9092) +    // brokers
                   i32(1) + i16(0) + str("t") +                // topics
                   i32(1) + i16(0) + i32(0) + i32(1) +         // partition 0, leader 1
                   i32(1) + i32(1) + i32(1) + i32(1);          // replicas [1] isr [1]
  EXPECT_EQ(encode_metadata_response(r, 0), v0);
  std::string v1 = i32(1) + i32(1) + str("h") + i32(9092) + str("r1") + i32(1) +
                   i32(1) + i16(0) + str("t") + i8(1) + i32(1) + i16(0) + i32(0) + i32(1) +
                   i32(1) + i32(1) + i32(1) + i32(1);
  EXPECT_EQ(encode_metadata_response(r, 1), v1);
  // Three of the port's four bytes: the field is named, with its offset.
  expect_error(decode_metadata_response(i32(1) + i32(1) + str("h") + i16(0) + i8(0x23), 0),
               "kafka: Metadata response v0 brokers.port: truncated INT32 at byte 11");
  expect_error(decode_metadata_response(i32(1) + i32(1) + str("h"), 0),
               "kafka: Metadata response v0 brokers: ARRAY length 1 exceeds what the 7 bytes "
               "left can hold");
}

// ---- Produce ----

ProduceRequest full_produce_request() {
  return ProduceRequest{"tx-1",
                        -1,
                        1500,
                        {{"orders", {{0, std::string("batch-0\0\1", 9)}, {1, std::nullopt}}},
                         {"logs", {{3, ""}}}}};
}

ProduceResponse full_produce_response() {
  ProducePartitionResponse ok{0, 0, 100, -1, 10, {}, std::nullopt};
  ProducePartitionResponse bad{1, 87, -1, 1700000000000, 0,
                               {{0, "bad key"}, {2, std::nullopt}}, "invalid record"};
  return ProduceResponse{{{"orders", {ok, bad}}, {"logs", {}}}, 30};
}

TEST(KafkaProduce, RoundTripsAtEveryVersion) {
  for (int16_t v = kProduceMinVersion; v <= kProduceMaxVersion; ++v) {
    check_codec(full_produce_request(), full_produce_request(), v, encode_produce_request,
                decode_produce_request);
    ProduceResponse expected = full_produce_response();
    for (ProduceTopicResponse& t : expected.responses) {
      for (ProducePartitionResponse& p : t.partition_responses) {
        if (v < 5) p.log_start_offset = -1;
        if (v < 8) p.record_errors.clear();
        if (v < 8) p.error_message.reset();
      }
    }
    check_codec(full_produce_response(), expected, v, encode_produce_response,
                decode_produce_response);
  }
}

TEST(KafkaProduce, RequestV3BytesAndZeroCopyView) {
  std::string body = i16(-1) + i16(-1) + i32(1500) + i32(1) + str("t") + i32(1) + i32(0) +
                     i32(3) + "abc";
  ProduceRequest expected{std::nullopt, -1, 1500, {{"t", {{0, "abc"}}}}};
  EXPECT_EQ(encode_produce_request(expected, 3), body);
  Result<ProduceRequestView> view = decode_produce_request_view(body, 3);
  ASSERT_TRUE(view.is_ok()) << view.status().to_string();
  const std::string_view records = *view->topic_data[0].partition_data[0].records;
  EXPECT_EQ(records, "abc");
  EXPECT_EQ(records.data(), body.data() + body.size() - 3);  // a view, not a copy
  EXPECT_EQ(view->topic_data[0].name.data(), body.data() + 14);
  EXPECT_EQ(to_owned(*view), expected);
  expect_error(decode_produce_request(body.substr(0, body.size() - 1), 3),
               "kafka: Produce request v3 topic_data.partition_data.records: "
               "NULLABLE_BYTES length 3 exceeds the 2 bytes left");
  expect_error(decode_produce_request(i16(-1) + i16(1) + i32(0) + i32(-1), 3),
               "kafka: Produce request v3 topic_data: ARRAY is null");
}

TEST(KafkaProduce, ResponseV8Bytes) {
  ProduceResponse r{{{"t", {{2, 0, 16, -1, 0, {{1, "x"}}, std::nullopt}}}}, 0};
  std::string v8 = i32(1) + str("t") + i32(1) + i32(2) + i16(0) + i64(16) + i64(-1) + i64(0) +
                   i32(1) + i32(1) + str("x") + i16(-1) + i32(0);
  EXPECT_EQ(encode_produce_response(r, 8), v8);
  std::string v5 = i32(1) + str("t") + i32(1) + i32(2) + i16(0) + i64(16) + i64(-1) + i64(0) +
                   i32(0);
  EXPECT_EQ(encode_produce_response(r, 5), v5);
}

// ---- Fetch ----

FetchRequest full_fetch_request() {
  FetchRequest r;
  r.replica_id = -1;
  r.max_wait_ms = 500;
  r.min_bytes = 1;
  r.max_bytes = 52428800;
  r.isolation_level = 1;
  r.session_id = 77;
  r.session_epoch = 3;
  r.topics = {{"orders", {{0, 4, 100, 5, 1048576}, {1, 4, 0, -1, 65536}}}, {"logs", {}}};
  r.forgotten_topics_data = {{"old", {0, 2}}};
  r.rack_id = "rack-a";
  return r;
}

FetchResponse full_fetch_response() {
  using Aborted = std::vector<FetchAbortedTransaction>;
  FetchPartitionResponse data{0, 0, 120, 110, 10, Aborted{{9, 105}, {11, 107}}, 2,
                              std::string("RECORDS\0", 8)};
  FetchPartitionResponse error{1, 1, -1, -1, -1, std::nullopt, -1, std::nullopt};
  FetchPartitionResponse empty{2, 0, 0, 0, 0, Aborted{}, -1, ""};
  return FetchResponse{5, 0, 77, {{"orders", {data, error, empty}}, {"logs", {}}}};
}

TEST(KafkaFetch, RoundTripsAtEveryVersion) {
  for (int16_t v = kFetchMinVersion; v <= kFetchMaxVersion; ++v) {
    FetchRequest request = full_fetch_request();
    if (v < 7) request = FetchRequest{-1, 500, 1, 52428800, 1, 0, -1, request.topics, {}, ""};
    if (v < 11) request.rack_id.clear();
    for (FetchTopic& t : request.topics) {
      for (FetchPartition& p : t.partitions) {
        if (v < 9) p.current_leader_epoch = -1;
        if (v < 5) p.log_start_offset = -1;
      }
    }
    check_codec(full_fetch_request(), request, v, encode_fetch_request, decode_fetch_request);

    FetchResponse response = full_fetch_response();
    response.error_code = 58;
    FetchResponse expected = response;
    if (v < 7) expected.error_code = 0;
    if (v < 7) expected.session_id = 0;
    for (FetchPartitionResponse& p : expected.responses[0].partitions) {
      if (v < 5) p.log_start_offset = -1;
      if (v < 11) p.preferred_read_replica = -1;
    }
    auto enc = [](const FetchResponse& r, int16_t ver) { return encode_fetch_response(r, ver); };
    check_codec(response, expected, v, enc, decode_fetch_response);
    EXPECT_EQ(fetch_response_size(response, v), enc(response, v).size());
  }
}

TEST(KafkaFetch, RequestV4Bytes) {
  FetchRequest r;
  r.max_wait_ms = 500;
  r.min_bytes = 1;
  r.topics = {{"t", {{0, -1, 5, -1, 1048576}}}};
  std::string v4 = i32(-1) + i32(500) + i32(1) + i32(0x7fffffff) + i8(0) + i32(1) + str("t") +
                   i32(1) + i32(0) + i64(5) + i32(1048576);
  EXPECT_EQ(encode_fetch_request(r, 4), v4);
  Result<FetchRequest> back = decode_fetch_request(v4, 4);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->session_epoch, -1);  // absent before v7: the schema default
  EXPECT_EQ(*back, r);
  // A hostile topic count is refused before anything is allocated.
  expect_error(decode_fetch_request(v4.substr(0, 17) + i32(0x7fffffff), 4),
               "kafka: Fetch request v4 topics: ARRAY length 2147483647 exceeds what the 0 "
               "bytes left can hold");
}

TEST(KafkaFetch, ResponseAppendsToAnExistingBuffer) {
  FetchResponse r{0, 3, 9, {{"t", {{0, 0, 8, 8, -1, std::nullopt, -1, "xy"}}}}};
  std::string v4 = i32(0) + i32(1) + str("t") + i32(1) + i32(0) + i16(0) + i64(8) + i64(8) +
                   i32(-1) + i32(2) + "xy";
  std::string out = "HEAD";
  encode_fetch_response(r, 4, &out);
  EXPECT_EQ(out, "HEAD" + v4);
  std::string v11 = i32(0) + i16(3) + i32(9) + i32(1) + str("t") + i32(1) + i32(0) + i16(0) +
                    i64(8) + i64(8) + i64(-1) + i32(-1) + i32(-1) + i32(2) + "xy";
  EXPECT_EQ(encode_fetch_response(r, 11), v11);
  expect_error(decode_fetch_response(v4.substr(0, v4.size() - 1), 4),
               "kafka: Fetch response v4 responses.partitions.records: NULLABLE_BYTES length 2 "
               "exceeds the 1 bytes left");
}

// ---- ListOffsets ----

ListOffsetsRequest full_list_offsets_request() {
  return ListOffsetsRequest{
      -1, 1, {{"orders", {{0, 3, kListOffsetsLatest, 5}, {1, -1, 1700000000000, 1}}}}};
}

ListOffsetsResponse full_list_offsets_response() {
  return ListOffsetsResponse{
      10, {{"orders", {{0, 0, {42, 0}, 1700000000000, 42, 3}, {1, 3, {}, -1, -1, -1}}}}};
}

TEST(KafkaListOffsets, RoundTripsAtEveryVersion) {
  for (int16_t v = kListOffsetsMinVersion; v <= kListOffsetsMaxVersion; ++v) {
    ListOffsetsRequest request = full_list_offsets_request();
    if (v < 2) request.isolation_level = 0;
    for (ListOffsetsPartition& p : request.topics[0].partitions) {
      if (v < 4) p.current_leader_epoch = -1;
      if (v > 0) p.max_num_offsets = 1;
    }
    check_codec(full_list_offsets_request(), request, v, encode_list_offsets_request,
                decode_list_offsets_request);
    ListOffsetsResponse response = full_list_offsets_response();
    if (v < 2) response.throttle_time_ms = 0;
    for (ListOffsetsPartitionResponse& p : response.topics[0].partitions) {
      if (v == 0) p.timestamp = p.offset = -1;
      if (v > 0) p.old_style_offsets.clear();
      if (v < 4) p.leader_epoch = -1;
    }
    check_codec(full_list_offsets_response(), response, v, encode_list_offsets_response,
                decode_list_offsets_response);
  }
}

TEST(KafkaListOffsets, V0AndV1Bytes) {
  ListOffsetsRequest request{-1, 0, {{"t", {{0, -1, kListOffsetsLatest, 1}}}}};
  std::string v0 = i32(-1) + i32(1) + str("t") + i32(1) + i32(0) + i64(-1) + i32(1);
  EXPECT_EQ(encode_list_offsets_request(request, 0), v0);
  EXPECT_EQ(encode_list_offsets_request(request, 1), v0.substr(0, v0.size() - 4));
  ListOffsetsResponse response{0, {{"t", {{0, 0, {42}, 7, 42, -1}}}}};
  EXPECT_EQ(encode_list_offsets_response(response, 0),
            i32(1) + str("t") + i32(1) + i32(0) + i16(0) + i32(1) + i64(42));
  EXPECT_EQ(encode_list_offsets_response(response, 1),
            i32(1) + str("t") + i32(1) + i32(0) + i16(0) + i64(7) + i64(42));
  // An old_style_offsets count of 2 with 8 bytes left is refused by name.
  expect_error(decode_list_offsets_response(
                   i32(1) + str("t") + i32(1) + i32(0) + i16(0) + i32(2) + i64(42), 0),
               "kafka: ListOffsets response v0 topics.partitions.old_style_offsets: ARRAY "
               "length 2 exceeds what the 8 bytes left can hold");
}

// ---- InitProducerId ----

TEST(KafkaInitProducerId, RoundTripsAndBytes) {
  for (int16_t v = kInitProducerIdMinVersion; v <= kInitProducerIdMaxVersion; ++v) {
    InitProducerIdRequest tx{"tx-1", 60000};
    check_codec(tx, tx, v, encode_init_producer_id_request, decode_init_producer_id_request);
    InitProducerIdRequest idempotent{std::nullopt, 2147483647};
    check_codec(idempotent, idempotent, v, encode_init_producer_id_request,
                decode_init_producer_id_request);
    InitProducerIdResponse response{20, 0, 4000, 2};
    check_codec(response, response, v, encode_init_producer_id_response,
                decode_init_producer_id_response);
    EXPECT_EQ(encode_init_producer_id_request(InitProducerIdRequest{std::nullopt, 60000}, v),
              i16(-1) + i32(60000));
    EXPECT_EQ(encode_init_producer_id_response(response, v),
              i32(20) + i16(0) + i64(4000) + i16(2));
  }
  expect_error(decode_init_producer_id_request(i16(-1) + i16(0), 0),
               "kafka: InitProducerId request v0 transaction_timeout_ms: truncated INT32 at "
               "byte 2");
  EXPECT_EQ(InitProducerIdResponse{}.producer_id, -1);
}

// ---- Version thresholds: the bytes each version adds, per the guide ----

template <typename T, typename Enc>
std::vector<int> growth(const T& value, int16_t lo, int16_t hi, Enc enc) {
  std::vector<int> out;
  for (int16_t v = lo; v < hi; ++v) {
    out.push_back(static_cast<int>(enc(value, v + 1).size()) -
                  static_cast<int>(enc(value, v).size()));
  }
  return out;
}

TEST(KafkaDataCodecs, EachVersionAddsTheGuidesFields) {
  MetadataResponse md;
  md.brokers = {{1, "h", 9092, "r1"}};
  md.cluster_id = "c";
  md.topics = {{0, "t", false, {{0, 0, 1, 5, {1}, {1}, {2}}}, 0}};
  // v1 rack+controller+is_internal, v2 cluster_id, v3 throttle, v5 offline, v7 epoch, v8 ops.
  EXPECT_EQ(growth(md, 0, 8, encode_metadata_response), (std::vector<int>{9, 3, 4, 0, 8, 0, 4, 8}));
  EXPECT_EQ(growth(MetadataRequest{}, 0, 8, encode_metadata_request),
            (std::vector<int>{0, 0, 0, 1, 0, 0, 0, 2}));
  FetchRequest fr;
  fr.topics = {{"t", {{0, -1, 0, -1, 1}}}};
  fr.forgotten_topics_data = {{"f", {1}}};
  fr.rack_id = "r";
  // v5 log_start_offset, v7 session (8) + forgotten (4 + 3 + 8), v9 epoch, v11 rack_id.
  EXPECT_EQ(growth(fr, 4, 11, encode_fetch_request), (std::vector<int>{8, 0, 23, 0, 4, 0, 3}));
  FetchResponse fs{0, 0, 0, {{"t", {{}}}}};
  auto enc = [](const FetchResponse& r, int16_t v) { return encode_fetch_response(r, v); };
  EXPECT_EQ(growth(fs, 4, 11, enc), (std::vector<int>{8, 0, 6, 0, 0, 0, 4}));
  ProduceResponse pr{{{"t", {{0, 0, 0, -1, -1, {{0, "x"}}, std::nullopt}}}}, 0};
  EXPECT_EQ(growth(pr, 3, 8, encode_produce_response), (std::vector<int>{0, 8, 0, 0, 13}));
  ListOffsetsRequest lr{-1, 0, {{"t", {{0, -1, -1, 1}}}}};
  EXPECT_EQ(growth(lr, 0, 5, encode_list_offsets_request), (std::vector<int>{-4, 1, 0, 4, 0}));
  ListOffsetsResponse ls{0, {{"t", {{0, 0, {1}, -1, -1, -1}}}}};
  EXPECT_EQ(growth(ls, 0, 5, encode_list_offsets_response), (std::vector<int>{4, 4, 0, 4, 0}));
}

// ---- Versions outside the served ranges ----

TEST(KafkaDataCodecs, VersionsOutsideTheRangeAreRefused) {
  expect_error(decode_produce_request("", 9), "kafka: Produce request version 9 is not supported");
  expect_unsupported(decode_produce_request, "Produce request", {-1, 2, 9});
  expect_unsupported(decode_produce_request_view, "Produce request", {2, 9});
  expect_unsupported(decode_produce_response, "Produce response", {2, 9});
  expect_unsupported(decode_fetch_request, "Fetch request", {3, 12});
  expect_unsupported(decode_fetch_response, "Fetch response", {3, 12});
  expect_unsupported(decode_metadata_request, "Metadata request", {-1, 9});
  expect_unsupported(decode_metadata_response, "Metadata response", {-1, 9});
  expect_unsupported(decode_list_offsets_request, "ListOffsets request", {-1, 6});
  expect_unsupported(decode_list_offsets_response, "ListOffsets response", {-1, 6});
  expect_unsupported(decode_init_producer_id_request, "InitProducerId request", {-1, 2});
  expect_unsupported(decode_init_producer_id_response, "InitProducerId response", {-1, 2});
}

}  // namespace
}  // namespace tessera::kafka
