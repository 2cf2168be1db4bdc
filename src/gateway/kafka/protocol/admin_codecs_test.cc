// Codecs of the admin and SASL APIs: every version round-trips, the bytes
// match hand-assembled protocol-guide layouts, every truncation and trailing
// byte is refused, versions out of range are refused, and fields a version
// lacks decode as their defaults.
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "gateway/kafka/protocol/alter_configs.h"
#include "gateway/kafka/protocol/create_partitions.h"
#include "gateway/kafka/protocol/create_topics.h"
#include "gateway/kafka/protocol/delete_topics.h"
#include "gateway/kafka/protocol/describe_configs.h"
#include "gateway/kafka/protocol/sasl.h"

namespace tessera::kafka {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// For each version in [min, max]: decode(encode(full)) equals
// `at_version(full, v)` (full with the fields v lacks reset), re-encoding
// gives the same bytes, every strict prefix and one trailing byte are
// refused, and min-1 / max+1 are refused with the API's name.
template <typename T>
void check_every_version(const T& full, int16_t min, int16_t max,
                         std::function<std::string(const T&, int16_t)> encode,
                         std::function<Result<T>(std::string_view, int16_t)> decode,
                         std::function<T(T, int16_t)> at_version, const std::string& what) {
  for (int16_t v = min; v <= max; ++v) {
    const std::string body = encode(full, v);
    Result<T> back = decode(body, v);
    ASSERT_TRUE(back.is_ok()) << what << " v" << v << ": " << back.status().to_string();
    EXPECT_EQ(*back, at_version(full, v)) << what << " v" << v;
    EXPECT_EQ(encode(*back, v), body) << what << " v" << v;
    for (size_t cut = 0; cut < body.size(); ++cut) {
      Result<T> partial = decode(std::string_view(body).substr(0, cut), v);
      ASSERT_FALSE(partial.is_ok()) << what << " v" << v << " cut at " << cut;
      EXPECT_EQ(partial.status().code(), Errc::invalid_argument);
    }
    Result<T> trailing = decode(body + bytes({0}), v);
    ASSERT_FALSE(trailing.is_ok()) << what << " v" << v;
    EXPECT_NE(trailing.status().message().find("1 trailing bytes"), std::string::npos);
    // Corrupt each byte in turn: the decoder must not crash, and whatever it
    // accepts must survive a re-encode unchanged.
    for (size_t i = 0; i < body.size(); ++i) {
      for (int b : {0x00, 0x7f, 0x80, 0xff}) {
        std::string mutated = body;
        mutated[i] = static_cast<char>(b);
        Result<T> m = decode(mutated, v);
        if (!m.is_ok()) continue;
        Result<T> again = decode(encode(*m, v), v);
        ASSERT_TRUE(again.is_ok()) << what << " v" << v << " byte " << i;
        EXPECT_EQ(*again, *m) << what << " v" << v << " byte " << i;
      }
    }
  }
  for (int16_t bad : {static_cast<int16_t>(min - 1), static_cast<int16_t>(max + 1)}) {
    Result<T> r = decode(encode(full, max), bad);
    ASSERT_FALSE(r.is_ok()) << what << " v" << bad;
    EXPECT_EQ(r.status().message(),
              "kafka: " + what + " version " + std::to_string(bad) + " is not supported");
  }
}

template <typename T>
T unchanged(T x, int16_t) { return x; }

// ---- CreateTopics ----

CreateTopicsRequest sample_create_topics_request() {
  CreateTopicsRequest r;
  r.topics.push_back({"orders", 6, 3, {}, {{"cleanup.policy", "compact"}, {"x", std::nullopt}}});
  r.topics.push_back({"manual", -1, -1, {{0, {1, 2}}, {1, {2, 3}}}, {}});
  r.timeout_ms = 30000;
  r.validate_only = true;
  return r;
}

CreateTopicsResponse sample_create_topics_response() {
  return {25, {{"orders", 0, std::nullopt}, {"manual", 36, "Topic 'manual' already exists."}}};
}

TEST(KafkaCreateTopics, EveryVersionRoundTrips) {
  check_every_version<CreateTopicsRequest>(
      sample_create_topics_request(), 0, 4, encode_create_topics_request,
      decode_create_topics_request,
      [](CreateTopicsRequest x, int16_t v) {
        if (v < 1) x.validate_only = false;
        return x;
      },
      "CreateTopics request");
  check_every_version<CreateTopicsResponse>(
      sample_create_topics_response(), 0, 4, encode_create_topics_response,
      decode_create_topics_response,
      [](CreateTopicsResponse x, int16_t v) {
        if (v < 2) x.throttle_time_ms = 0;
        if (v < 1) {
          for (CreatableTopicResult& t : x.topics) t.error_message.reset();
        }
        return x;
      },
      "CreateTopics response");
}

TEST(KafkaCreateTopics, RequestBytesMatchTheGuide) {
  CreateTopicsRequest r;
  r.topics.push_back({"t", 3, 1, {{0, {7}}}, {{"k", "v"}}});
  r.timeout_ms = 1000;
  r.validate_only = true;
  // [topics] count 1; name "t"; num_partitions 3; replication_factor 1;
  // [assignments] 1: partition 0, [broker_ids] 1: 7; [configs] 1: "k" "v";
  // timeout_ms 1000; validate_only (v1+) true.
  const std::string v0 = bytes({0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0,
                                0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 'v', 0, 0,
                                3, 0xe8});
  EXPECT_EQ(encode_create_topics_request(r, 0), v0);
  EXPECT_EQ(encode_create_topics_request(r, 1), v0 + bytes({1}));
  Result<CreateTopicsRequest> back = decode_create_topics_request(v0, 0);
  ASSERT_TRUE(back.is_ok());
  EXPECT_FALSE(back->validate_only);  // absent in v0
  EXPECT_EQ(back->timeout_ms, 1000);
}

TEST(KafkaCreateTopics, ResponseBytesMatchTheGuide) {
  CreateTopicsResponse r{100, {{"t", 36, std::nullopt}}};
  const std::string topic = bytes({0, 1, 't', 0, 36});
  EXPECT_EQ(encode_create_topics_response(r, 0), bytes({0, 0, 0, 1}) + topic);
  EXPECT_EQ(encode_create_topics_response(r, 1), bytes({0, 0, 0, 1}) + topic + bytes({0xff, 0xff}));
  EXPECT_EQ(encode_create_topics_response(r, 2),
            bytes({0, 0, 0, 100, 0, 0, 0, 1}) + topic + bytes({0xff, 0xff}));
}

TEST(KafkaCreateTopics, HostileInputIsRefusedWithTheFieldName) {
  // 1,000,000 topics claimed in a 4-byte body.
  Result<CreateTopicsRequest> huge = decode_create_topics_request(bytes({0, 0x0f, 0x42, 0x40}), 0);
  ASSERT_FALSE(huge.is_ok());
  EXPECT_EQ(huge.status().message(),
            "kafka: CreateTopics request v0: topics: ARRAY length 1000000 exceeds what the 0 "
            "bytes left can hold");
  Result<CreateTopicsRequest> null_topics =
      decode_create_topics_request(bytes({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}), 0);
  ASSERT_FALSE(null_topics.is_ok());
  EXPECT_EQ(null_topics.status().message(), "kafka: CreateTopics request v0: topics: is null");
  // A topic name of negative length.
  Result<CreateTopicsRequest> bad_name = decode_create_topics_request(
      bytes({0, 0, 0, 1, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0);
  ASSERT_FALSE(bad_name.is_ok());
  EXPECT_NE(bad_name.status().message().find("topics.name: STRING at byte 4"), std::string::npos)
      << bad_name.status().message();
}

// ---- DeleteTopics ----

TEST(KafkaDeleteTopics, EveryVersionRoundTrips) {
  check_every_version<DeleteTopicsRequest>({{"a", "orders", ""}, 15000}, 0, 3,
                                           encode_delete_topics_request,
                                           decode_delete_topics_request,
                                           unchanged<DeleteTopicsRequest>, "DeleteTopics request");
  check_every_version<DeleteTopicsResponse>(
      {7, {{"a", 0}, {"orders", 3}}}, 0, 3, encode_delete_topics_response,
      decode_delete_topics_response,
      [](DeleteTopicsResponse x, int16_t v) {
        if (v < 1) x.throttle_time_ms = 0;
        return x;
      },
      "DeleteTopics response");
}

TEST(KafkaDeleteTopics, BytesMatchTheGuide) {
  const std::string req = bytes({0, 0, 0, 2, 0, 1, 'a', 0, 2, 'b', 'c', 0, 0, 0x13, 0x88});
  Result<DeleteTopicsRequest> r = decode_delete_topics_request(req, 3);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, (DeleteTopicsRequest{{"a", "bc"}, 5000}));
  DeleteTopicsResponse resp{9, {{"bc", 41}}};
  const std::string results = bytes({0, 0, 0, 1, 0, 2, 'b', 'c', 0, 41});
  EXPECT_EQ(encode_delete_topics_response(resp, 0), results);
  EXPECT_EQ(encode_delete_topics_response(resp, 1), bytes({0, 0, 0, 9}) + results);
  // The error names the field that ran out.
  Result<DeleteTopicsRequest> cut = decode_delete_topics_request(req.substr(0, 13), 0);
  ASSERT_FALSE(cut.is_ok());
  EXPECT_EQ(cut.status().message(),
            "kafka: DeleteTopics request v0: timeout_ms: truncated INT32 at byte 11");
}

// ---- CreatePartitions ----

TEST(KafkaCreatePartitions, EveryVersionRoundTrips) {
  using Assignments = std::vector<CreatePartitionsAssignment>;
  CreatePartitionsRequest req{{{"auto", 8, std::nullopt},
                               {"placed", 4, Assignments{{{1, 2}}, {{3}}}},
                               {"empty", 2, Assignments{}}},
                              5000,
                              true};
  check_every_version<CreatePartitionsRequest>(req, 0, 1, encode_create_partitions_request,
                                               decode_create_partitions_request,
                                               unchanged<CreatePartitionsRequest>,
                                               "CreatePartitions request");
  check_every_version<CreatePartitionsResponse>(
      {3, {{"auto", 0, std::nullopt}, {"placed", 37, "Number of partitions is invalid."}}}, 0, 1,
      encode_create_partitions_response, decode_create_partitions_response,
      unchanged<CreatePartitionsResponse>, "CreatePartitions response");
}

TEST(KafkaCreatePartitions, NullAndEmptyAssignmentsStayDistinct) {
  CreatePartitionsRequest req{{{"t", 4, std::nullopt}}, 100, false};
  // [topics] 1: "t", count 4, assignments null (-1); timeout 100; validate_only false.
  const std::string null_bytes =
      bytes({0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 100, 0});
  EXPECT_EQ(encode_create_partitions_request(req, 0), null_bytes);
  req.topics[0].assignments = std::vector<CreatePartitionsAssignment>{{{5, 6}}};
  EXPECT_EQ(encode_create_partitions_request(req, 1),
            bytes({0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0,
                   0, 6, 0, 0, 0, 100, 0}));
  Result<CreatePartitionsRequest> back = decode_create_partitions_request(null_bytes, 0);
  ASSERT_TRUE(back.is_ok());
  EXPECT_FALSE(back->topics[0].assignments.has_value());
  // Response: throttle 0, [results] 1: "t", error 0, message null.
  EXPECT_EQ(encode_create_partitions_response({0, {{"t", 0, std::nullopt}}}, 0),
            bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0xff, 0xff}));
}

// ---- DescribeConfigs ----

DescribeConfigsResponse sample_describe_configs_response() {
  DescribeConfigsResourceResult retention{"retention.ms", "604800000", false, true, 5, false,
                                          {{"log.retention.ms", std::nullopt, 4}}, 5,
                                          "How long to keep a log."};
  DescribeConfigsResourceResult secret{"ssl.key.password", std::nullopt, true, false, 4, true,
                                       {}, 9, std::nullopt};
  return {11, {{0, std::nullopt, 2, "orders", {retention, secret}}, {3, "Unknown topic", 2,
               "gone", {}}}};
}

TEST(KafkaDescribeConfigs, EveryVersionRoundTrips) {
  DescribeConfigsRequest req{{{2, "orders", std::nullopt}, {4, "1", std::vector<std::string>{
                                                                        "log.dirs", ""}}},
                             true, true};
  check_every_version<DescribeConfigsRequest>(
      req, 0, 3, encode_describe_configs_request, decode_describe_configs_request,
      [](DescribeConfigsRequest x, int16_t v) {
        if (v < 1) x.include_synonyms = false;
        if (v < 3) x.include_documentation = false;
        return x;
      },
      "DescribeConfigs request");
  check_every_version<DescribeConfigsResponse>(
      sample_describe_configs_response(), 0, 3, encode_describe_configs_response,
      decode_describe_configs_response,
      [](DescribeConfigsResponse x, int16_t v) {
        for (DescribeConfigsResult& r : x.results) {
          for (DescribeConfigsResourceResult& c : r.configs) {
            if (v == 0) {
              c.config_source = -1;
              c.synonyms.clear();
            } else {
              c.is_default = false;
            }
            if (v < 3) {
              c.config_type = 0;
              c.documentation.reset();
            }
          }
        }
        return x;
      },
      "DescribeConfigs response");
}

TEST(KafkaDescribeConfigs, RequestBytesMatchTheGuide) {
  DescribeConfigsRequest req{{{2, "t", std::nullopt}}, true, true};
  const std::string resources = bytes({0, 0, 0, 1, 2, 0, 1, 't', 0xff, 0xff, 0xff, 0xff});
  EXPECT_EQ(encode_describe_configs_request(req, 0), resources);
  EXPECT_EQ(encode_describe_configs_request(req, 2), resources + bytes({1}));
  EXPECT_EQ(encode_describe_configs_request(req, 3), resources + bytes({1, 1}));
}

TEST(KafkaDescribeConfigs, ConfigEntryLayoutPerVersion) {
  DescribeConfigsResourceResult c{"k", "v", true, true, 1, false, {{"s", "w", 5}}, 2, "d"};
  DescribeConfigsResponse resp{0, {{0, std::nullopt, 2, "t", {c}}}};
  // throttle 0, [results] 1: error 0, message null, type 2, name "t", [configs] 1.
  const std::string head =
      bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 2, 0, 1, 't', 0, 0, 0, 1});
  const std::string name_value_ro = bytes({0, 1, 'k', 0, 1, 'v', 1});
  // v0: ... is_default true, is_sensitive false.
  EXPECT_EQ(encode_describe_configs_response(resp, 0), head + name_value_ro + bytes({1, 0}));
  // v1: ... config_source 1, is_sensitive false, [synonyms] 1: "s" "w" source 5.
  const std::string v1 = head + name_value_ro +
                         bytes({1, 0, 0, 0, 0, 1, 0, 1, 's', 0, 1, 'w', 5});
  EXPECT_EQ(encode_describe_configs_response(resp, 1), v1);
  // v3 appends config_type 2 and documentation "d".
  EXPECT_EQ(encode_describe_configs_response(resp, 3), v1 + bytes({2, 0, 1, 'd'}));
  Result<DescribeConfigsResponse> v0 =
      decode_describe_configs_response(head + name_value_ro + bytes({1, 0}), 0);
  ASSERT_TRUE(v0.is_ok());
  EXPECT_EQ(v0->results[0].configs[0].config_source, -1);  // absent in v0
  EXPECT_TRUE(v0->results[0].configs[0].is_default);
}

// ---- AlterConfigs ----

TEST(KafkaAlterConfigs, EveryVersionRoundTrips) {
  AlterConfigsRequest req{{{2, "orders", {{"retention.ms", "1000"}, {"cleanup.policy",
                                                                     std::nullopt}}},
                           {4, "", {}}},
                          true};
  check_every_version<AlterConfigsRequest>(req, 0, 1, encode_alter_configs_request,
                                           decode_alter_configs_request,
                                           unchanged<AlterConfigsRequest>, "AlterConfigs request");
  check_every_version<AlterConfigsResponse>(
      {2, {{0, std::nullopt, 2, "orders"}, {42, "Invalid config", 4, "1"}}}, 0, 1,
      encode_alter_configs_response, decode_alter_configs_response,
      unchanged<AlterConfigsResponse>, "AlterConfigs response");
}

TEST(KafkaAlterConfigs, BytesMatchTheGuide) {
  AlterConfigsRequest req{{{2, "t", {{"k", "v"}}}}, false};
  // [resources] 1: type 2, name "t", [configs] 1: "k" "v"; validate_only false.
  EXPECT_EQ(encode_alter_configs_request(req, 0),
            bytes({0, 0, 0, 1, 2, 0, 1, 't', 0, 0, 0, 1, 0, 1, 'k', 0, 1, 'v', 0}));
  // throttle 5, [responses] 1: error 0, message null, type 2, name "t".
  const std::string resp = bytes({0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 2, 0, 1, 't'});
  Result<AlterConfigsResponse> back = decode_alter_configs_response(resp, 1);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, (AlterConfigsResponse{5, {{0, std::nullopt, 2, "t"}}}));
}

// ---- SaslHandshake / SaslAuthenticate ----

TEST(KafkaSasl, EveryVersionRoundTrips) {
  check_every_version<SaslHandshakeRequest>({"SCRAM-SHA-256"}, 0, 1,
                                            encode_sasl_handshake_request,
                                            decode_sasl_handshake_request,
                                            unchanged<SaslHandshakeRequest>,
                                            "SaslHandshake request");
  check_every_version<SaslHandshakeResponse>({33, {"PLAIN", "SCRAM-SHA-256"}}, 0, 1,
                                             encode_sasl_handshake_response,
                                             decode_sasl_handshake_response,
                                             unchanged<SaslHandshakeResponse>,
                                             "SaslHandshake response");
  check_every_version<SaslAuthenticateRequest>({std::string("\0user\0pencil", 12)}, 0, 1,
                                               encode_sasl_authenticate_request,
                                               decode_sasl_authenticate_request,
                                               unchanged<SaslAuthenticateRequest>,
                                               "SaslAuthenticate request");
  check_every_version<SaslAuthenticateResponse>(
      {58, "Authentication failed", "v=abc", 3600000}, 0, 1, encode_sasl_authenticate_response,
      decode_sasl_authenticate_response,
      [](SaslAuthenticateResponse x, int16_t v) {
        if (v < 1) x.session_lifetime_ms = 0;
        return x;
      },
      "SaslAuthenticate response");
}

TEST(KafkaSasl, BytesMatchTheGuide) {
  Result<SaslHandshakeRequest> hs =
      decode_sasl_handshake_request(bytes({0, 5, 'P', 'L', 'A', 'I', 'N'}), 1);
  ASSERT_TRUE(hs.is_ok());
  EXPECT_EQ(hs->mechanism, "PLAIN");
  EXPECT_EQ(encode_sasl_handshake_response({0, {"PLAIN"}}, 0),
            bytes({0, 0, 0, 0, 0, 1, 0, 5, 'P', 'L', 'A', 'I', 'N'}));
  EXPECT_EQ(encode_sasl_authenticate_request({"abc"}, 0), bytes({0, 0, 0, 3, 'a', 'b', 'c'}));
  // error 0, message null, auth_bytes "", session_lifetime_ms (v1) 3600000.
  SaslAuthenticateResponse ok{0, std::nullopt, "", 3600000};
  const std::string v0 = bytes({0, 0, 0xff, 0xff, 0, 0, 0, 0});
  EXPECT_EQ(encode_sasl_authenticate_response(ok, 0), v0);
  EXPECT_EQ(encode_sasl_authenticate_response(ok, 1),
            v0 + bytes({0, 0, 0, 0, 0, 0x36, 0xee, 0x80}));
  // auth_bytes is BYTES, not nullable: a null is refused and named.
  Result<SaslAuthenticateRequest> null_bytes =
      decode_sasl_authenticate_request(bytes({0xff, 0xff, 0xff, 0xff}), 0);
  ASSERT_FALSE(null_bytes.is_ok());
  EXPECT_EQ(null_bytes.status().message(),
            "kafka: SaslAuthenticate request v0: auth_bytes: BYTES at byte 0 is null");
}

}  // namespace
}  // namespace tessera::kafka
