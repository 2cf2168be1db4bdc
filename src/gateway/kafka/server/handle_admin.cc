// CreateTopics and DescribeConfigs. A Kafka topic is a topic of a stream;
// replication is the volume's (a requested replication factor is accepted
// but not used), retention is the stream's, shared by its topics:
// retention.ms and retention.bytes describe it (-1 = no limit).
#include "gateway/kafka/protocol/create_topics.h"
#include "gateway/kafka/protocol/describe_configs.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"
#include "namespace/stream_ops.h"

namespace tessera::kafka {

// handle_admin_alter.cc: checks (and unless validate_only, applies) topic
// configs: retention.ms / retention.bytes set the stream's retention.
Status apply_stream_configs(Broker& b, const internal::Principal& who, const std::string& name,
                            const std::vector<std::pair<std::string, std::optional<std::string>>>& configs,
                            bool validate_only);

namespace {

constexpr int8_t kResourceTopic = 2;
constexpr int8_t kSourceTopic = 1;    // DYNAMIC_TOPIC_CONFIG
constexpr int8_t kSourceDefault = 5;  // DEFAULT_CONFIG
constexpr int8_t kTypeString = 2;
constexpr int8_t kTypeLong = 5;

CreatableTopicResult create_one(Broker& b, const internal::Principal& who, const CreatableTopic& t,
                                bool validate_only) {
  CreatableTopicResult r;
  r.name = t.name;
  auto fail = [&](KafkaError e, std::string msg) {
    r.error_code = code(e);
    r.error_message = std::move(msg);
    return r;
  };
  if (t.num_partitions == 0 || t.num_partitions < -1 ||
      t.num_partitions > static_cast<int32_t>(ns::kPartitionsMax)) {
    return fail(KafkaError::invalid_partitions,
                "partitions must be 1.." + std::to_string(ns::kPartitionsMax));
  }
  if (t.replication_factor == 0 || t.replication_factor < -1) {
    return fail(KafkaError::invalid_replication_factor, "replication factor must be positive");
  }
  if (!t.assignments.empty()) {
    return fail(KafkaError::invalid_request,
                "manual replica assignment is not supported: placement is Tessera's");
  }
  {
    std::vector<std::pair<std::string, std::optional<std::string>>> configs;
    for (const auto& c : t.configs) configs.emplace_back(c.name, c.value);
    if (Status st = apply_stream_configs(b, who, t.name, configs, true); !st.is_ok()) {
      return fail(KafkaError::invalid_config, st.message());
    }
  }
  auto parsed = parse_topic_name(t.name, b.options().default_stream);
  if (!parsed.is_ok()) return fail(KafkaError::invalid_topic_exception, parsed.status().message());
  if (Status st = ns::check_topic_name(parsed->topic, t.name); !st.is_ok()) {
    return fail(KafkaError::invalid_topic_exception, st.message());
  }
  if (validate_only) return r;
  Status st = b.create_topic(who, t.name, t.num_partitions);
  if (!st.is_ok()) {
    return fail(st.code() == Errc::invalid_argument ? KafkaError::invalid_request : error_for(st),
                st.message());
  }
  if (!t.configs.empty()) {
    std::vector<std::pair<std::string, std::optional<std::string>>> configs;
    for (const auto& c : t.configs) configs.emplace_back(c.name, c.value);
    if (Status rs = apply_stream_configs(b, who, t.name, configs, false); !rs.is_ok()) {
      return fail(rs.code() == Errc::invalid_argument ? KafkaError::invalid_config : error_for(rs),
                  rs.message());
    }
  }
  return r;
}

DescribeConfigsResourceResult config(std::string name, std::optional<std::string> value, bool set,
                                     int8_t type, bool read_only, const std::string& doc) {
  DescribeConfigsResourceResult c;
  c.name = std::move(name);
  c.value = std::move(value);
  c.read_only = read_only;
  c.is_default = !set;
  c.config_source = set ? kSourceTopic : kSourceDefault;
  c.config_type = type;
  c.documentation = doc;
  return c;
}

DescribeConfigsResult describe_topic(Broker& b, const internal::Principal& who,
                                     const DescribeConfigsResource& res) {
  DescribeConfigsResult out;
  out.resource_type = res.resource_type;
  out.resource_name = res.resource_name;
  if (res.resource_type != kResourceTopic) return out;  // brokers: nothing configurable here
  auto t = b.resolve(who, res.resource_name, 0, false);
  if (!t.is_ok()) {
    out.error_code = code(error_for(t.status()));
    out.error_message = t.status().message();
    return out;
  }
  const auto& inode = t->topic.stream.inode;
  const int64_t age = inode.retention_age_ms();
  const uint64_t bytes = inode.retention_bytes();
  std::vector<DescribeConfigsResourceResult> all{
      config("retention.ms", std::to_string(age > 0 ? age : -1), age > 0, kTypeLong, false,
             "The stream's retention age (all its topics); -1 keeps records forever"),
      config("retention.bytes", std::to_string(bytes > 0 ? static_cast<int64_t>(bytes) : -1), bytes > 0,
             kTypeLong, false, "The stream's retention size per partition; -1 is no limit"),
      config("cleanup.policy", "delete", false, kTypeString, true, "Records are deleted, never compacted"),
      config("max.message.bytes", std::to_string(ns::kRecordBytesMax), false, kTypeLong, true,
             "The largest record"),
      config("message.timestamp.type", "CreateTime", false, kTypeString, true,
             "Timestamps are the producer's (the broker's clock when none is given)"),
  };
  for (auto& c : all) {
    if (!res.configuration_keys ||
        std::find(res.configuration_keys->begin(), res.configuration_keys->end(), c.name) !=
            res.configuration_keys->end()) {
      out.configs.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace

HandlerResult handle_create_topics(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_create_topics_request(body, h.api_version));
  CreateTopicsResponse resp;
  for (const auto& t : req.topics) {
    resp.topics.push_back(create_one(s.broker(), *s.principal(), t, req.validate_only));
  }
  return std::optional<std::string>(encode_create_topics_response(resp, h.api_version));
}

HandlerResult handle_describe_configs(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_describe_configs_request(body, h.api_version));
  DescribeConfigsResponse resp;
  for (const auto& r : req.resources) resp.results.push_back(describe_topic(s.broker(), *s.principal(), r));
  return std::optional<std::string>(encode_describe_configs_response(resp, h.api_version));
}

}  // namespace tessera::kafka
