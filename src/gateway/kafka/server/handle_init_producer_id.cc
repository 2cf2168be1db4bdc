// InitProducerId for idempotent producers: a fresh random 62-bit producer
// id at epoch 0. The partition shards keep each id's sequence state, so ids
// need no allocation round; two producers drawing the same id is a 2^-62
// chance. Transactional ids are refused: transactions are not served.
#include <random>

#include "gateway/kafka/protocol/init_producer_id.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"

namespace tessera::kafka {

HandlerResult handle_init_producer_id(Session&, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_init_producer_id_request(body, h.api_version));
  InitProducerIdResponse resp;
  if (req.transactional_id) {
    resp.error_code = code(KafkaError::transactional_id_authorization_failed);
  } else {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    resp.producer_id = static_cast<int64_t>(rng() >> 2);
    resp.producer_epoch = 0;
  }
  return std::optional<std::string>(encode_init_producer_id_response(resp, h.api_version));
}

}  // namespace tessera::kafka
