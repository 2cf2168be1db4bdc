#include "gateway/kafka/server/errors.h"

namespace tessera::kafka {

KafkaError error_for(const Status& st) {
  switch (st.code()) {
    case Errc::ok: return KafkaError::none;
    case Errc::not_found:
    case Errc::wrong_kind:
    case Errc::not_a_directory: return KafkaError::unknown_topic_or_partition;
    case Errc::permission_denied:
    case Errc::unauthenticated: return KafkaError::topic_authorization_failed;
    case Errc::not_leader: return KafkaError::not_leader_or_follower;
    case Errc::unavailable: return KafkaError::request_timed_out;
    case Errc::too_large: return KafkaError::message_too_large;
    case Errc::quota_exceeded:
    case Errc::resource_exhausted: return KafkaError::policy_violation;
    case Errc::out_of_range: return KafkaError::offset_out_of_range;
    case Errc::already_exists: return KafkaError::topic_already_exists;
    case Errc::invalid_argument: return KafkaError::invalid_request;
    case Errc::corruption: return KafkaError::corrupt_message;
    default: return KafkaError::unknown_server_error;
  }
}

KafkaError produce_error_for(const Status& st) {
  switch (st.code()) {
    case Errc::failed_precondition: return KafkaError::out_of_order_sequence_number;
    case Errc::version_mismatch: return KafkaError::invalid_producer_epoch;
    case Errc::invalid_argument: return KafkaError::invalid_record;
    default: return error_for(st);
  }
}

}  // namespace tessera::kafka
