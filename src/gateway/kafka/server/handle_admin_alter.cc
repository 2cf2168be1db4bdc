// DeleteTopics, CreatePartitions and AlterConfigs: a topic's removal
// releases its partition shards; new partitions are new shards (records
// keep their partitions, as in Kafka); retention.ms and retention.bytes set
// the stream's retention, shared by its topics (admin right on the stream).
#include <charconv>

#include "gateway/kafka/protocol/alter_configs.h"
#include "gateway/kafka/protocol/create_partitions.h"
#include "gateway/kafka/protocol/create_topics.h"
#include "gateway/kafka/protocol/delete_topics.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"
#include "server/backend.h"
#include "server/stream_router.h"

namespace tessera::kafka {
namespace {

constexpr int8_t kResourceTopic = 2;

Result<TopicName> topic_of(Broker& b, std::string_view name) {
  TESSERA_ASSIGN_OR_RETURN(auto tn, parse_topic_name(name, b.options().default_stream));
  TESSERA_ASSIGN_OR_RETURN(tn.stream, server::Backend::normalise(tn.stream));
  return tn;
}

// "-1" is Kafka's "no limit" (0 here); other negatives are refused.
Result<int64_t> limit_value(const std::string& name, const std::optional<std::string>& value) {
  if (!value) return int64_t{0};  // null: back to the default (no limit)
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), v);
  if (ec != std::errc() || end != value->data() + value->size() || v < -1) {
    return Status(Errc::invalid_argument, "config " + name + ": " + *value + " is not -1 or a non-negative integer");
  }
  return v < 0 ? 0 : v;
}

}  // namespace

// Declared in handle_admin.cc (CreateTopics with configs).
Status apply_stream_configs(Broker& b, const internal::Principal& who, const std::string& name,
                            const std::vector<std::pair<std::string, std::optional<std::string>>>& configs,
                            bool validate_only) {
  std::optional<int64_t> age;
  std::optional<uint64_t> bytes;
  for (const auto& [key, value] : configs) {
    if (key == "retention.ms") {
      TESSERA_ASSIGN_OR_RETURN(age, limit_value(key, value));
    } else if (key == "retention.bytes") {
      TESSERA_ASSIGN_OR_RETURN(auto v, limit_value(key, value));
      bytes = static_cast<uint64_t>(v);
    } else if (key == "cleanup.policy" && value == "delete") {
      // What Tessera does anyway.
    } else {
      return Status(Errc::invalid_argument, "config " + key + " is not supported (retention.ms, "
                                            "retention.bytes and cleanup.policy=delete are)");
    }
  }
  if (validate_only || (!age && !bytes)) return Status::ok();
  TESSERA_ASSIGN_OR_RETURN(auto tn, topic_of(b, name));
  return b.backend().streams().set_retention(who, tn.stream, age, bytes);
}

HandlerResult handle_delete_topics(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_delete_topics_request(body, h.api_version));
  Broker& b = s.broker();
  DeleteTopicsResponse resp;
  for (const auto& name : req.topic_names) {
    DeletableTopicResult r{name, 0};
    auto tn = topic_of(b, name);
    Status st = tn.is_ok() ? b.backend().streams().delete_topic(*s.principal(), tn->stream, tn->topic)
                           : tn.status();
    if (!st.is_ok()) {
      r.error_code = st.code() == Errc::invalid_argument ? code(KafkaError::invalid_topic_exception)
                                                         : code(error_for(st));
    }
    resp.responses.push_back(std::move(r));
  }
  return std::optional<std::string>(encode_delete_topics_response(resp, h.api_version));
}

HandlerResult handle_create_partitions(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_create_partitions_request(body, h.api_version));
  Broker& b = s.broker();
  CreatePartitionsResponse resp;
  for (const auto& t : req.topics) {
    CreatePartitionsTopicResult r{t.name, 0, std::nullopt};
    auto fail = [&](KafkaError e, std::string msg) {
      r.error_code = code(e);
      r.error_message = std::move(msg);
    };
    auto tn = topic_of(b, t.name);
    if (!tn.is_ok()) {
      fail(KafkaError::invalid_topic_exception, tn.status().message());
    } else if (t.assignments && !t.assignments->empty()) {
      fail(KafkaError::invalid_request, "manual replica assignment is not supported: placement is Tessera's");
    } else if (auto cur = b.resolve(*s.principal(), t.name, 0, false); !cur.is_ok()) {
      fail(error_for(cur.status()), cur.status().message());
    } else if (t.count <= cur->topic.topic.partitions_size()) {
      fail(KafkaError::invalid_partitions, t.name + " has " +
                                              std::to_string(cur->topic.topic.partitions_size()) +
                                              " partitions; the new count must be larger, not " +
                                              std::to_string(t.count));
    } else if (!req.validate_only) {
      Status st = b.backend().streams().add_partitions(*s.principal(), tn->stream, tn->topic,
                                                       static_cast<uint32_t>(t.count));
      if (!st.is_ok()) {
        fail(st.code() == Errc::invalid_argument ? KafkaError::invalid_partitions : error_for(st),
             st.message());
      }
    }
    resp.results.push_back(std::move(r));
  }
  return std::optional<std::string>(encode_create_partitions_response(resp, h.api_version));
}

HandlerResult handle_alter_configs(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_alter_configs_request(body, h.api_version));
  Broker& b = s.broker();
  AlterConfigsResponse resp;
  for (const auto& res : req.resources) {
    AlterConfigsResourceResponse r;
    r.resource_type = res.resource_type;
    r.resource_name = res.resource_name;
    if (res.resource_type != kResourceTopic) {
      r.error_code = code(KafkaError::invalid_request);
      r.error_message = "only topic configs can be altered";
    } else {
      std::vector<std::pair<std::string, std::optional<std::string>>> configs;
      for (const auto& c : res.configs) configs.emplace_back(c.name, c.value);
      // AlterConfigs replaces the whole set: what is not named goes back to
      // its default (no limit).
      if (std::none_of(configs.begin(), configs.end(), [](auto& c) { return c.first == "retention.ms"; })) {
        configs.emplace_back("retention.ms", std::nullopt);
      }
      if (std::none_of(configs.begin(), configs.end(), [](auto& c) { return c.first == "retention.bytes"; })) {
        configs.emplace_back("retention.bytes", std::nullopt);
      }
      auto exists = b.resolve(*s.principal(), res.resource_name, 0, false);
      Status st = exists.is_ok() ? apply_stream_configs(b, *s.principal(), res.resource_name, configs,
                                                        req.validate_only)
                                 : exists.status();
      if (!st.is_ok()) {
        r.error_code = st.code() == Errc::invalid_argument ? code(KafkaError::invalid_config)
                                                           : code(error_for(st));
        r.error_message = st.message();
      }
    }
    resp.responses.push_back(std::move(r));
  }
  return std::optional<std::string>(encode_alter_configs_response(resp, h.api_version));
}

}  // namespace tessera::kafka
