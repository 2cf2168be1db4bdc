#pragma once
// Kafka topic names in Tessera's namespace. A topic name that starts with
// '/' names a stream by path and one of its topics after the last ':'
// ("/apps/clicks:views" is topic "views" of the stream at /apps/clicks);
// any other name is a topic of the default stream (`--kafka-default-stream`).

#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::kafka {

struct TopicName {
  std::string stream;  // absolute path, as written (the caller normalises it)
  std::string topic;
};

// invalid_argument naming `name` when it is empty, a path without ":topic",
// or a path whose topic or stream part is empty. The topic's own characters
// are checked where topics are created (Kafka's legal names).
Result<TopicName> parse_topic_name(std::string_view name, std::string_view default_stream);

// The name a client sees for `topic` of the stream at `stream`: the bare
// topic in the default stream, else "PATH:TOPIC".
std::string kafka_topic_name(std::string_view stream, std::string_view topic,
                             std::string_view default_stream);

}  // namespace tessera::kafka
