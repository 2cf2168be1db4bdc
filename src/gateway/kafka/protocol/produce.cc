#include "gateway/kafka/protocol/produce.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/data_codec_internal.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using data_codec::FieldReader;

constexpr std::string_view kRequest = "Produce request";
constexpr std::string_view kResponse = "Produce response";

// Smallest encodings, bounding array counts by the bytes left.
constexpr size_t kTopicBytes = 2 + 4;                  // name [partitions]
constexpr size_t kPartitionDataBytes = 4 + 4;          // index records
constexpr size_t kPartitionResponseBytes = 4 + 2 + 8 + 8;  // index error base append
constexpr size_t kRecordErrorBytes = 4 + 2;            // batch_index message

bool version_known(int16_t v) { return v >= kProduceMinVersion && v <= kProduceMaxVersion; }

std::optional<std::string> own(std::optional<std::string_view> s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}

Result<ProducePartitionResponse> read_partition_response(FieldReader& r, int16_t version) {
  ProducePartitionResponse p;
  TESSERA_ASSIGN_OR_RETURN(p.index, r.int32("responses.partition_responses.index"));
  TESSERA_ASSIGN_OR_RETURN(p.error_code, r.int16("responses.partition_responses.error_code"));
  TESSERA_ASSIGN_OR_RETURN(p.base_offset, r.int64("responses.partition_responses.base_offset"));
  TESSERA_ASSIGN_OR_RETURN(p.log_append_time_ms,
                           r.int64("responses.partition_responses.log_append_time_ms"));
  if (version >= 5) {
    TESSERA_ASSIGN_OR_RETURN(p.log_start_offset,
                             r.int64("responses.partition_responses.log_start_offset"));
  }
  if (version >= 8) {
    TESSERA_ASSIGN_OR_RETURN(
        size_t n, r.array("responses.partition_responses.record_errors", kRecordErrorBytes));
    p.record_errors.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      ProduceRecordError e;
      TESSERA_ASSIGN_OR_RETURN(
          e.batch_index, r.int32("responses.partition_responses.record_errors.batch_index"));
      TESSERA_ASSIGN_OR_RETURN(
          std::optional<std::string_view> message,
          r.nullable_string(
              "responses.partition_responses.record_errors.batch_index_error_message"));
      e.batch_index_error_message = own(message);
      p.record_errors.push_back(std::move(e));
    }
    TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> message,
                             r.nullable_string("responses.partition_responses.error_message"));
    p.error_message = own(message);
  }
  return p;
}

}  // namespace

// Produce Request (v3-v8) => transactional_id NULLABLE_STRING acks INT16 timeout_ms INT32
//   [topic_data]  topic_data => name STRING [partition_data]
//   partition_data => index INT32 records RECORDS
Result<ProduceRequestView> decode_produce_request_view(std::string_view body, int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  ProduceRequestView request;
  TESSERA_ASSIGN_OR_RETURN(request.transactional_id, r.nullable_string("transactional_id"));
  TESSERA_ASSIGN_OR_RETURN(request.acks, r.int16("acks"));
  TESSERA_ASSIGN_OR_RETURN(request.timeout_ms, r.int32("timeout_ms"));
  TESSERA_ASSIGN_OR_RETURN(size_t topics, r.array("topic_data", kTopicBytes));
  request.topic_data.resize(topics);
  for (ProduceTopicDataView& t : request.topic_data) {
    TESSERA_ASSIGN_OR_RETURN(t.name, r.string("topic_data.name"));
    TESSERA_ASSIGN_OR_RETURN(size_t partitions,
                             r.array("topic_data.partition_data", kPartitionDataBytes));
    t.partition_data.resize(partitions);
    for (ProducePartitionDataView& p : t.partition_data) {
      TESSERA_ASSIGN_OR_RETURN(p.index, r.int32("topic_data.partition_data.index"));
      TESSERA_ASSIGN_OR_RETURN(p.records, r.nullable_bytes("topic_data.partition_data.records"));
    }
  }
  TESSERA_TRY(r.end());
  return request;
}

ProduceRequest to_owned(const ProduceRequestView& view) {
  ProduceRequest request;
  request.transactional_id = own(view.transactional_id);
  request.acks = view.acks;
  request.timeout_ms = view.timeout_ms;
  request.topic_data.reserve(view.topic_data.size());
  for (const ProduceTopicDataView& tv : view.topic_data) {
    ProduceTopicData t;
    t.name = std::string(tv.name);
    t.partition_data.reserve(tv.partition_data.size());
    for (const ProducePartitionDataView& pv : tv.partition_data) {
      t.partition_data.push_back(ProducePartitionData{pv.index, own(pv.records)});
    }
    request.topic_data.push_back(std::move(t));
  }
  return request;
}

Result<ProduceRequest> decode_produce_request(std::string_view body, int16_t version) {
  TESSERA_ASSIGN_OR_RETURN(ProduceRequestView view, decode_produce_request_view(body, version));
  return to_owned(view);
}

std::string encode_produce_request(const ProduceRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_nullable_string(request.transactional_id);
  w.write_int16(request.acks);
  w.write_int32(request.timeout_ms);
  w.write_array_length(request.topic_data.size());
  for (const ProduceTopicData& t : request.topic_data) {
    w.write_string(t.name);
    w.write_array_length(t.partition_data.size());
    for (const ProducePartitionData& p : t.partition_data) {
      w.write_int32(p.index);
      w.write_nullable_bytes(p.records);
    }
  }
  return out;
}

// Produce Response (v3-v8) => [responses] throttle_time_ms INT32
//   responses => name STRING [partition_responses]
//   partition_responses => index INT32 error_code INT16 base_offset INT64
//     log_append_time_ms INT64 log_start_offset INT64 (v5+)
//     [record_errors] (v8+) error_message NULLABLE_STRING (v8+)
//   record_errors => batch_index INT32 batch_index_error_message NULLABLE_STRING
std::string encode_produce_response(const ProduceResponse& response, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_array_length(response.responses.size());
  for (const ProduceTopicResponse& t : response.responses) {
    w.write_string(t.name);
    w.write_array_length(t.partition_responses.size());
    for (const ProducePartitionResponse& p : t.partition_responses) {
      w.write_int32(p.index);
      w.write_int16(p.error_code);
      w.write_int64(p.base_offset);
      w.write_int64(p.log_append_time_ms);
      if (version >= 5) w.write_int64(p.log_start_offset);
      if (version >= 8) {
        w.write_array_length(p.record_errors.size());
        for (const ProduceRecordError& e : p.record_errors) {
          w.write_int32(e.batch_index);
          w.write_nullable_string(e.batch_index_error_message);
        }
        w.write_nullable_string(p.error_message);
      }
    }
  }
  w.write_int32(response.throttle_time_ms);
  return out;
}

Result<ProduceResponse> decode_produce_response(std::string_view body, int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  ProduceResponse response;
  TESSERA_ASSIGN_OR_RETURN(size_t topics, r.array("responses", kTopicBytes));
  response.responses.reserve(topics);
  for (size_t i = 0; i < topics; ++i) {
    ProduceTopicResponse t;
    TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("responses.name"));
    t.name = std::string(name);
    TESSERA_ASSIGN_OR_RETURN(
        size_t partitions, r.array("responses.partition_responses", kPartitionResponseBytes));
    t.partition_responses.reserve(partitions);
    for (size_t j = 0; j < partitions; ++j) {
      TESSERA_ASSIGN_OR_RETURN(ProducePartitionResponse p, read_partition_response(r, version));
      t.partition_responses.push_back(std::move(p));
    }
    response.responses.push_back(std::move(t));
  }
  TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
