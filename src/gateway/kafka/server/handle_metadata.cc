// Metadata: brokers are the nodes with a Kafka listener, a topic's
// partitions are its partition shards, the leader is the shard's raft
// leader, replicas its members and the ISR the voters the leader knows to
// be caught up. Topics missing from a request are created when
// auto-creation is on (and the request allows it, v4+).
#include "gateway/kafka/protocol/metadata.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"

namespace tessera::kafka {
namespace {

MetadataTopic describe_topic(Broker& b, const internal::Principal& who, const std::string& name,
                             bool create) {
  MetadataTopic t;
  t.name = name;
  auto r = b.resolve(who, name, 0, create);
  if (!r.is_ok()) {
    t.error_code = r.status().code() == Errc::invalid_argument
                       ? code(KafkaError::invalid_topic_exception)
                       : code(error_for(r.status()));
    return t;
  }
  const auto& parts = r->topic.topic.partitions();
  for (int i = 0; i < parts.size(); ++i) {
    PartitionPlacement p = b.placement(parts[i].shard());
    MetadataPartition mp;
    mp.partition_index = i;
    mp.leader_id = p.leader;
    mp.error_code = p.leader < 0 ? code(KafkaError::leader_not_available) : 0;
    mp.replica_nodes = std::move(p.replicas);
    mp.isr_nodes = std::move(p.isr);
    t.partitions.push_back(std::move(mp));
  }
  return t;
}

}  // namespace

HandlerResult handle_metadata(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_metadata_request(body, h.api_version));
  Broker& b = s.broker();
  const auto& who = *s.principal();
  MetadataResponse resp;
  for (auto& n : b.brokers()) {
    resp.brokers.push_back(MetadataBroker{n.node_id, std::move(n.host), n.port, std::move(n.rack)});
  }
  resp.cluster_id = b.cluster_id();
  resp.controller_id = b.coordinator_id();
  std::vector<std::string> names;
  bool create = false;
  if (req.topics) {
    names = *req.topics;
    create = h.api_version < 4 || req.allow_auto_topic_creation;
  } else if (auto listed = b.list_topics(who); listed.is_ok()) {
    names = *std::move(listed);
  }
  for (const auto& name : names) resp.topics.push_back(describe_topic(b, who, name, create));
  return std::optional<std::string>(encode_metadata_response(resp, h.api_version));
}

}  // namespace tessera::kafka
