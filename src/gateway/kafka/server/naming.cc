#include "gateway/kafka/server/naming.h"

namespace tessera::kafka {

Result<TopicName> parse_topic_name(std::string_view name, std::string_view default_stream) {
  if (name.empty()) return Status(Errc::invalid_argument, "kafka: empty topic name");
  if (name.front() != '/') return TopicName{std::string(default_stream), std::string(name)};
  const size_t colon = name.rfind(':');
  if (colon == std::string_view::npos) {
    return Status(Errc::invalid_argument, "kafka: topic name " + std::string(name) +
                                              " names a path but no topic (expected PATH:TOPIC)");
  }
  std::string_view stream = name.substr(0, colon);
  std::string_view topic = name.substr(colon + 1);
  if (topic.empty() || stream.size() < 2) {
    return Status(Errc::invalid_argument, "kafka: topic name " + std::string(name) +
                                              " needs a stream path and a topic (PATH:TOPIC)");
  }
  return TopicName{std::string(stream), std::string(topic)};
}

std::string kafka_topic_name(std::string_view stream, std::string_view topic,
                             std::string_view default_stream) {
  if (stream == default_stream) return std::string(topic);
  return std::string(stream) + ":" + std::string(topic);
}

}  // namespace tessera::kafka
