#include "gateway/kafka/protocol/init_producer_id.h"

#include "base/assert.h"
#include "gateway/kafka/protocol/data_codec_internal.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using data_codec::FieldReader;

constexpr std::string_view kRequest = "InitProducerId request";
constexpr std::string_view kResponse = "InitProducerId response";

bool version_known(int16_t v) {
  return v >= kInitProducerIdMinVersion && v <= kInitProducerIdMaxVersion;
}

}  // namespace

// InitProducerId Request (v0-v1) => transactional_id NULLABLE_STRING
//   transaction_timeout_ms INT32
Result<InitProducerIdRequest> decode_init_producer_id_request(std::string_view body,
                                                              int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  InitProducerIdRequest request;
  TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> id,
                           r.nullable_string("transactional_id"));
  if (id) request.transactional_id = std::string(*id);
  TESSERA_ASSIGN_OR_RETURN(request.transaction_timeout_ms, r.int32("transaction_timeout_ms"));
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_init_producer_id_request(const InitProducerIdRequest& request,
                                            int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_nullable_string(request.transactional_id);
  w.write_int32(request.transaction_timeout_ms);
  return out;
}

// InitProducerId Response (v0-v1) => throttle_time_ms INT32 error_code INT16
//   producer_id INT64 producer_epoch INT16
std::string encode_init_producer_id_response(const InitProducerIdResponse& response,
                                             int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int32(response.throttle_time_ms);
  w.write_int16(response.error_code);
  w.write_int64(response.producer_id);
  w.write_int16(response.producer_epoch);
  return out;
}

Result<InitProducerIdResponse> decode_init_producer_id_response(std::string_view body,
                                                                int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  InitProducerIdResponse response;
  TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
  TESSERA_ASSIGN_OR_RETURN(response.producer_id, r.int64("producer_id"));
  TESSERA_ASSIGN_OR_RETURN(response.producer_epoch, r.int16("producer_epoch"));
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
