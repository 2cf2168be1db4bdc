// Seeds for the admin and authentication targets: CreateTopics, DeleteTopics,
// CreatePartitions, DescribeConfigs, AlterConfigs, SaslHandshake,
// SaslAuthenticate, and the PLAIN and SCRAM-SHA-256 messages.
#include <string>
#include <string_view>

#include "gateway/kafka/protocol/alter_configs.h"
#include "gateway/kafka/protocol/create_partitions.h"
#include "gateway/kafka/protocol/create_topics.h"
#include "gateway/kafka/protocol/delete_topics.h"
#include "gateway/kafka/protocol/describe_configs.h"
#include "gateway/kafka/protocol/fuzz/seed_corpus.h"
#include "gateway/kafka/protocol/sasl.h"

namespace tessera::kafka::fuzz {
namespace {

using namespace std::string_literals;

void create_topics(SeedWriter& w) {
  CreateTopicsRequest req;
  req.topics = {{"orders", 3, 2, {}, {{"retention.ms", "1000"}, {"cleanup.policy", {}}}},
                {"manual", -1, -1, {{0, {1, 2}}, {1, {2, 3}}}, {}}};
  req.timeout_ms = 5000;
  req.validate_only = true;
  CreateTopicsResponse resp{1, {{"orders", 0, std::nullopt}, {"manual", 36, "exists"}}};
  w.add_api("fuzz_create_topics", kCreateTopicsMinVersion, kCreateTopicsMaxVersion, req,
            encode_create_topics_request, resp, encode_create_topics_response);
}

void delete_topics(SeedWriter& w) {
  DeleteTopicsRequest req{{"orders", "payments"}, 5000};
  DeleteTopicsResponse resp{1, {{"orders", 0}, {"payments", 3}}};
  w.add_api("fuzz_delete_topics", kDeleteTopicsMinVersion, kDeleteTopicsMaxVersion, req,
            encode_delete_topics_request, resp, encode_delete_topics_response);
}

void create_partitions(SeedWriter& w) {
  CreatePartitionsRequest req;
  req.topics = {{"orders", 6, std::vector<CreatePartitionsAssignment>{{{1, 2}}, {{2, 3}}}},
                {"payments", 4, std::nullopt}};
  req.timeout_ms = 5000;
  req.validate_only = true;
  CreatePartitionsResponse resp{1, {{"orders", 0, std::nullopt}, {"payments", 37, "bad"}}};
  w.add_api("fuzz_create_partitions", kCreatePartitionsMinVersion, kCreatePartitionsMaxVersion, req,
            encode_create_partitions_request, resp, encode_create_partitions_response);
}

void describe_configs(SeedWriter& w) {
  DescribeConfigsRequest req;
  req.resources = {{2, "orders", std::vector<std::string>{"retention.ms"}}, {4, "1", std::nullopt}};
  req.include_synonyms = true;
  req.include_documentation = true;
  DescribeConfigsResourceResult c;
  c.name = "retention.ms";
  c.value = "1000";
  c.is_default = true;
  c.config_source = 1;
  c.synonyms = {{"log.retention.ms", "1000", 5}, {"x", std::nullopt, 4}};
  c.config_type = 5;
  c.documentation = "how long";
  DescribeConfigsResponse resp;
  resp.throttle_time_ms = 1;
  resp.results = {{0, std::nullopt, 2, "orders", {c, c}}, {3, "unknown", 2, "gone", {}}};
  w.add_api("fuzz_describe_configs", kDescribeConfigsMinVersion, kDescribeConfigsMaxVersion, req,
            encode_describe_configs_request, resp, encode_describe_configs_response);
}

void alter_configs(SeedWriter& w) {
  AlterConfigsRequest req{{{2, "orders", {{"retention.ms", "1000"}, {"segment.ms", {}}}}}, true};
  AlterConfigsResponse resp{1, {{0, std::nullopt, 2, "orders"}, {40, "invalid", 4, "1"}}};
  w.add_api("fuzz_alter_configs", kAlterConfigsMinVersion, kAlterConfigsMaxVersion, req,
            encode_alter_configs_request, resp, encode_alter_configs_response);
}

void sasl_apis(SeedWriter& w) {
  w.add_api("fuzz_sasl_handshake", kSaslHandshakeMinVersion, kSaslHandshakeMaxVersion,
            SaslHandshakeRequest{"SCRAM-SHA-256"}, encode_sasl_handshake_request,
            SaslHandshakeResponse{0, {"PLAIN", "SCRAM-SHA-256"}}, encode_sasl_handshake_response);
  w.add_api("fuzz_sasl_authenticate", kSaslAuthenticateMinVersion, kSaslAuthenticateMaxVersion,
            SaslAuthenticateRequest{"\0user\0pencil"s}, encode_sasl_authenticate_request,
            SaslAuthenticateResponse{58, "bad", "v=xyz", 3'600'000},
            encode_sasl_authenticate_response);
}

void plain(SeedWriter& w) {
  for (std::string m : {"\0user\0pencil"s, "user\0user\0pencil"s, "other\0user\0pencil"s}) {
    w.add("fuzz_sasl_plain", m);
  }
}

// fuzz_sasl_scram's layout: selector, INT16 length, client-first, rest.
void scram(SeedWriter& w, uint8_t selector, std::string_view client_first, std::string_view rest) {
  std::string input(1, static_cast<char>(selector));
  input.push_back(static_cast<char>((client_first.size() >> 8) & 0xff));
  input.push_back(static_cast<char>(client_first.size() & 0xff));
  input += client_first;
  input += rest;
  w.add("fuzz_sasl_scram", input);
}

void scram(SeedWriter& w) {
  const std::string first = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
  const std::string zero_proof(43, 'A');
  scram(w, 0, first, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=" + zero_proof + "=");
  for (std::string_view f : {"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", "y,,n=user,r=abc",
                             "n,a=user,n=user,r=abc", "n,,n=u=2Cs=3Der,r=abc"}) {
    scram(w, 1, f, "");
  }
  scram(w, 3, first, "ext");
}

}  // namespace

void add_admin_seeds(SeedWriter& w) {
  create_topics(w);
  delete_topics(w);
  create_partitions(w);
  describe_configs(w);
  alter_configs(w);
  sasl_apis(w);
  plain(w);
  scram(w);
}

}  // namespace tessera::kafka::fuzz
