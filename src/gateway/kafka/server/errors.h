#pragma once
// Kafka error codes (protocol guide, "Error Codes") and the one place where
// Tessera's errors become them. Every handler answers through error_for().

#include <cstdint>

#include "base/status.h"

namespace tessera::kafka {

enum class KafkaError : int16_t {
  unknown_server_error = -1,
  none = 0,
  offset_out_of_range = 1,
  corrupt_message = 2,
  unknown_topic_or_partition = 3,
  leader_not_available = 5,
  not_leader_or_follower = 6,
  request_timed_out = 7,
  message_too_large = 10,
  coordinator_not_available = 15,
  not_coordinator = 16,
  invalid_topic_exception = 17,
  record_list_too_large = 18,
  invalid_required_acks = 21,
  illegal_generation = 22,
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,
  unknown_member_id = 25,
  invalid_session_timeout = 26,
  rebalance_in_progress = 27,
  topic_authorization_failed = 29,
  group_authorization_failed = 30,
  cluster_authorization_failed = 31,
  invalid_timestamp = 32,
  unsupported_sasl_mechanism = 33,
  illegal_sasl_state = 34,
  unsupported_version = 35,
  topic_already_exists = 36,
  invalid_partitions = 37,
  invalid_replication_factor = 38,
  invalid_config = 40,
  invalid_request = 42,
  policy_violation = 44,
  out_of_order_sequence_number = 45,
  invalid_producer_epoch = 47,
  transactional_id_authorization_failed = 53,
  sasl_authentication_failed = 58,
  unknown_producer_id = 59,
  group_id_not_found = 69,
  member_id_required = 79,
  group_max_size_reached = 81,
  fenced_instance_id = 82,
  invalid_record = 87,
};

inline int16_t code(KafkaError e) { return static_cast<int16_t>(e); }

// What a Kafka client should be told for a failed Tessera operation on a
// topic or partition: not_found → UNKNOWN_TOPIC_OR_PARTITION, denied →
// TOPIC_AUTHORIZATION_FAILED, a leader change → NOT_LEADER_OR_FOLLOWER, an
// election or an unknown outcome → LEADER_NOT_AVAILABLE / REQUEST_TIMED_OUT
// (retriable), too large → MESSAGE_TOO_LARGE, quota → POLICY_VIOLATION, ...
KafkaError error_for(const Status& st);
// The same for a produce, where two refusals of the partition shard mean
// KIP-98 sequence errors: failed_precondition → OUT_OF_ORDER_SEQUENCE_NUMBER,
// version_mismatch → INVALID_PRODUCER_EPOCH.
KafkaError produce_error_for(const Status& st);

}  // namespace tessera::kafka
