#include "gateway/kafka/protocol/fetch.h"

#include <utility>

#include "base/assert.h"
#include "gateway/kafka/protocol/data_codec_internal.h"
#include "gateway/kafka/protocol/wire.h"

namespace tessera::kafka {
namespace {

using data_codec::FieldReader;

constexpr std::string_view kRequest = "Fetch request";
constexpr std::string_view kResponse = "Fetch response";

// Smallest encodings, bounding array counts by the bytes left.
constexpr size_t kTopicBytes = 2 + 4;                   // name [partitions]
constexpr size_t kPartitionBytes = 4 + 8 + 4;           // partition offset max_bytes
constexpr size_t kPartitionResponseBytes = 4 + 2 + 8 + 8 + 4 + 4;  // .. aborted records
constexpr size_t kAbortedBytes = 8 + 8;

// Wire sizes of the primitives, for fetch_response_size.
constexpr size_t kStringPrefix = 2;
constexpr size_t kBytesPrefix = 4;
constexpr size_t kArrayPrefix = 4;

bool version_known(int16_t v) { return v >= kFetchMinVersion && v <= kFetchMaxVersion; }

Result<FetchTopic> read_topic(FieldReader& r, int16_t version) {
  FetchTopic t;
  TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("topics.topic"));
  t.topic = std::string(name);
  TESSERA_ASSIGN_OR_RETURN(size_t n, r.array("topics.partitions", kPartitionBytes));
  t.partitions.resize(n);
  for (FetchPartition& p : t.partitions) {
    TESSERA_ASSIGN_OR_RETURN(p.partition, r.int32("topics.partitions.partition"));
    if (version >= 9) {
      TESSERA_ASSIGN_OR_RETURN(p.current_leader_epoch,
                               r.int32("topics.partitions.current_leader_epoch"));
    }
    TESSERA_ASSIGN_OR_RETURN(p.fetch_offset, r.int64("topics.partitions.fetch_offset"));
    if (version >= 5) {
      TESSERA_ASSIGN_OR_RETURN(p.log_start_offset, r.int64("topics.partitions.log_start_offset"));
    }
    TESSERA_ASSIGN_OR_RETURN(p.partition_max_bytes,
                             r.int32("topics.partitions.partition_max_bytes"));
  }
  return t;
}

Result<FetchPartitionResponse> read_partition_response(FieldReader& r, int16_t version) {
  FetchPartitionResponse p;
  TESSERA_ASSIGN_OR_RETURN(p.partition_index, r.int32("responses.partitions.partition_index"));
  TESSERA_ASSIGN_OR_RETURN(p.error_code, r.int16("responses.partitions.error_code"));
  TESSERA_ASSIGN_OR_RETURN(p.high_watermark, r.int64("responses.partitions.high_watermark"));
  TESSERA_ASSIGN_OR_RETURN(p.last_stable_offset,
                           r.int64("responses.partitions.last_stable_offset"));
  if (version >= 5) {
    TESSERA_ASSIGN_OR_RETURN(p.log_start_offset, r.int64("responses.partitions.log_start_offset"));
  }
  TESSERA_ASSIGN_OR_RETURN(
      std::optional<size_t> aborted,
      r.nullable_array("responses.partitions.aborted_transactions", kAbortedBytes));
  if (aborted) {
    p.aborted_transactions.emplace(*aborted);
    for (FetchAbortedTransaction& a : *p.aborted_transactions) {
      TESSERA_ASSIGN_OR_RETURN(a.producer_id,
                               r.int64("responses.partitions.aborted_transactions.producer_id"));
      TESSERA_ASSIGN_OR_RETURN(a.first_offset,
                               r.int64("responses.partitions.aborted_transactions.first_offset"));
    }
  }
  if (version >= 11) {
    TESSERA_ASSIGN_OR_RETURN(p.preferred_read_replica,
                             r.int32("responses.partitions.preferred_read_replica"));
  }
  TESSERA_ASSIGN_OR_RETURN(std::optional<std::string_view> records,
                           r.nullable_bytes("responses.partitions.records"));
  if (records) p.records = std::string(*records);
  return p;
}

}  // namespace

// Fetch Request (v4-v11) => replica_id INT32 max_wait_ms INT32 min_bytes INT32
//   max_bytes INT32 isolation_level INT8 session_id INT32 (v7+) session_epoch INT32 (v7+)
//   [topics] [forgotten_topics_data] (v7+) rack_id STRING (v11+)
//   topics => topic STRING [partitions]
//   partitions => partition INT32 current_leader_epoch INT32 (v9+) fetch_offset INT64
//                 log_start_offset INT64 (v5+) partition_max_bytes INT32
//   forgotten_topics_data => topic STRING [partitions INT32]
Result<FetchRequest> decode_fetch_request(std::string_view body, int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kRequest, version);
  FieldReader r(body, kRequest, version);
  FetchRequest request;
  TESSERA_ASSIGN_OR_RETURN(request.replica_id, r.int32("replica_id"));
  TESSERA_ASSIGN_OR_RETURN(request.max_wait_ms, r.int32("max_wait_ms"));
  TESSERA_ASSIGN_OR_RETURN(request.min_bytes, r.int32("min_bytes"));
  TESSERA_ASSIGN_OR_RETURN(request.max_bytes, r.int32("max_bytes"));
  TESSERA_ASSIGN_OR_RETURN(request.isolation_level, r.int8("isolation_level"));
  if (version >= 7) {
    TESSERA_ASSIGN_OR_RETURN(request.session_id, r.int32("session_id"));
    TESSERA_ASSIGN_OR_RETURN(request.session_epoch, r.int32("session_epoch"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topics, r.array("topics", kTopicBytes));
  request.topics.reserve(topics);
  for (size_t i = 0; i < topics; ++i) {
    TESSERA_ASSIGN_OR_RETURN(FetchTopic t, read_topic(r, version));
    request.topics.push_back(std::move(t));
  }
  if (version >= 7) {
    TESSERA_ASSIGN_OR_RETURN(size_t forgotten, r.array("forgotten_topics_data", kTopicBytes));
    request.forgotten_topics_data.resize(forgotten);
    for (FetchForgottenTopic& f : request.forgotten_topics_data) {
      TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("forgotten_topics_data.topic"));
      f.topic = std::string(name);
      TESSERA_ASSIGN_OR_RETURN(f.partitions, r.int32_array("forgotten_topics_data.partitions"));
    }
  }
  if (version >= 11) {
    TESSERA_ASSIGN_OR_RETURN(std::string_view rack_id, r.string("rack_id"));
    request.rack_id = std::string(rack_id);
  }
  TESSERA_TRY(r.end());
  return request;
}

std::string encode_fetch_request(const FetchRequest& request, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  std::string out;
  Writer w(&out);
  w.write_int32(request.replica_id);
  w.write_int32(request.max_wait_ms);
  w.write_int32(request.min_bytes);
  w.write_int32(request.max_bytes);
  w.write_int8(request.isolation_level);
  if (version >= 7) {
    w.write_int32(request.session_id);
    w.write_int32(request.session_epoch);
  }
  w.write_array_length(request.topics.size());
  for (const FetchTopic& t : request.topics) {
    w.write_string(t.topic);
    w.write_array_length(t.partitions.size());
    for (const FetchPartition& p : t.partitions) {
      w.write_int32(p.partition);
      if (version >= 9) w.write_int32(p.current_leader_epoch);
      w.write_int64(p.fetch_offset);
      if (version >= 5) w.write_int64(p.log_start_offset);
      w.write_int32(p.partition_max_bytes);
    }
  }
  if (version >= 7) {
    w.write_array_length(request.forgotten_topics_data.size());
    for (const FetchForgottenTopic& f : request.forgotten_topics_data) {
      w.write_string(f.topic);
      data_codec::write_int32_array(w, f.partitions);
    }
  }
  if (version >= 11) w.write_string(request.rack_id);
  return out;
}

// Fetch Response (v4-v11) => throttle_time_ms INT32 error_code INT16 (v7+)
//   session_id INT32 (v7+) [responses]
//   responses => topic STRING [partitions]
//   partitions => partition_index INT32 error_code INT16 high_watermark INT64
//     last_stable_offset INT64 log_start_offset INT64 (v5+)
//     [aborted_transactions] (nullable) preferred_read_replica INT32 (v11+) records RECORDS
//   aborted_transactions => producer_id INT64 first_offset INT64
size_t fetch_response_size(const FetchResponse& response, int16_t version) {
  TESSERA_ASSERT(version_known(version));
  size_t n = 4 + (version >= 7 ? 2 + 4 : 0) + kArrayPrefix;
  for (const FetchTopicResponse& t : response.responses) {
    n += kStringPrefix + t.topic.size() + kArrayPrefix;
    for (const FetchPartitionResponse& p : t.partitions) {
      n += 4 + 2 + 8 + 8 + (version >= 5 ? 8 : 0) + kArrayPrefix +
           (version >= 11 ? 4 : 0) + kBytesPrefix;
      if (p.aborted_transactions) n += p.aborted_transactions->size() * kAbortedBytes;
      if (p.records) n += p.records->size();
    }
  }
  return n;
}

void encode_fetch_response(const FetchResponse& response, int16_t version, std::string* out) {
  TESSERA_ASSERT(version_known(version));
  const size_t start = out->size();
  const size_t size = fetch_response_size(response, version);
  out->reserve(start + size);
  Writer w(out);
  w.write_int32(response.throttle_time_ms);
  if (version >= 7) {
    w.write_int16(response.error_code);
    w.write_int32(response.session_id);
  }
  w.write_array_length(response.responses.size());
  for (const FetchTopicResponse& t : response.responses) {
    w.write_string(t.topic);
    w.write_array_length(t.partitions.size());
    for (const FetchPartitionResponse& p : t.partitions) {
      w.write_int32(p.partition_index);
      w.write_int16(p.error_code);
      w.write_int64(p.high_watermark);
      w.write_int64(p.last_stable_offset);
      if (version >= 5) w.write_int64(p.log_start_offset);
      if (p.aborted_transactions) {
        w.write_array_length(p.aborted_transactions->size());
        for (const FetchAbortedTransaction& a : *p.aborted_transactions) {
          w.write_int64(a.producer_id);
          w.write_int64(a.first_offset);
        }
      } else {
        w.write_array_length(std::nullopt);
      }
      if (version >= 11) w.write_int32(p.preferred_read_replica);
      w.write_nullable_bytes(p.records);
    }
  }
  TESSERA_ASSERT(out->size() - start == size);
}

std::string encode_fetch_response(const FetchResponse& response, int16_t version) {
  std::string out;
  encode_fetch_response(response, version, &out);
  return out;
}

Result<FetchResponse> decode_fetch_response(std::string_view body, int16_t version) {
  if (!version_known(version)) return data_codec::unsupported_version(kResponse, version);
  FieldReader r(body, kResponse, version);
  FetchResponse response;
  TESSERA_ASSIGN_OR_RETURN(response.throttle_time_ms, r.int32("throttle_time_ms"));
  if (version >= 7) {
    TESSERA_ASSIGN_OR_RETURN(response.error_code, r.int16("error_code"));
    TESSERA_ASSIGN_OR_RETURN(response.session_id, r.int32("session_id"));
  }
  TESSERA_ASSIGN_OR_RETURN(size_t topics, r.array("responses", kTopicBytes));
  response.responses.reserve(topics);
  for (size_t i = 0; i < topics; ++i) {
    FetchTopicResponse t;
    TESSERA_ASSIGN_OR_RETURN(std::string_view name, r.string("responses.topic"));
    t.topic = std::string(name);
    TESSERA_ASSIGN_OR_RETURN(size_t partitions,
                             r.array("responses.partitions", kPartitionResponseBytes));
    t.partitions.reserve(partitions);
    for (size_t j = 0; j < partitions; ++j) {
      TESSERA_ASSIGN_OR_RETURN(FetchPartitionResponse p, read_partition_response(r, version));
      t.partitions.push_back(std::move(p));
    }
    response.responses.push_back(std::move(t));
  }
  TESSERA_TRY(r.end());
  return response;
}

}  // namespace tessera::kafka
