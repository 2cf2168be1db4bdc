#include "gateway/kafka/protocol/api_versions.h"

#include <gtest/gtest.h>

#include <initializer_list>

namespace tessera::kafka {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

ApiVersionsResponse sample_response() {
  ApiVersionsResponse r;
  r.error_code = 0;
  r.api_keys = {{static_cast<int16_t>(ApiKey::produce), 0, 9, {}},
                {static_cast<int16_t>(ApiKey::metadata), 0, 12, {}},
                {static_cast<int16_t>(ApiKey::api_versions), 0, 3, {}}};
  r.throttle_time_ms = 250;
  return r;
}

TEST(KafkaApiVersions, ApiKeyNumbersMatchTheProtocolGuide) {
  EXPECT_EQ(static_cast<int16_t>(ApiKey::produce), 0);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::offset_commit), 8);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::sasl_handshake), 17);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::api_versions), 18);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::init_producer_id), 22);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::describe_configs), 32);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::create_partitions), 37);
  EXPECT_EQ(api_key_name(18), "ApiVersions");
  EXPECT_EQ(api_key_name(36), "SaslAuthenticate");
  EXPECT_EQ(api_key_name(4), "Unknown");
}

TEST(KafkaApiVersions, HeaderVersions) {
  EXPECT_EQ(api_versions_request_header_version(0), 1);
  EXPECT_EQ(api_versions_request_header_version(2), 1);
  EXPECT_EQ(api_versions_request_header_version(3), 2);
  EXPECT_EQ(kApiVersionsResponseHeaderVersion, 0);
}

TEST(KafkaApiVersions, RequestV0HasAnEmptyBody) {
  for (int16_t v : {0, 1, 2}) {
    Result<ApiVersionsRequest> r = decode_api_versions_request("", v);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->client_software_name, "");
    EXPECT_EQ(encode_api_versions_request(*r, v), "");
  }
  Result<ApiVersionsRequest> extra = decode_api_versions_request(bytes({0}), 0);
  ASSERT_FALSE(extra.is_ok());
  EXPECT_EQ(extra.status().message(), "kafka: 1 trailing bytes after ApiVersions request v0");
}

TEST(KafkaApiVersions, RequestV3DecodesCompactStringsAndTags) {
  // client_software_name "librdkafka", client_software_version "2.0.2", no tags.
  std::string body = bytes({11}) + "librdkafka" + bytes({6}) + "2.0.2" + bytes({0});
  Result<ApiVersionsRequest> r = decode_api_versions_request(body, 3);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->client_software_name, "librdkafka");
  EXPECT_EQ(r->client_software_version, "2.0.2");
  EXPECT_TRUE(r->tagged_fields.empty());
  EXPECT_EQ(encode_api_versions_request(*r, 3), body);

  // A full v3 frame body as a client sends it: header v2, then the request.
  RequestHeader h{18, 3, 1, "rdkafka", {}};
  std::string frame;
  Writer w(&frame);
  write_request_header(w, h, api_versions_request_header_version(3));
  ApiVersionsRequest req{"kcat", "1.7.1", {{4, "x"}}};
  frame += encode_api_versions_request(req, 3);
  Reader reader(frame);
  Result<RequestHeader> parsed = parse_request_header(reader, 2);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->api_key, static_cast<int16_t>(ApiKey::api_versions));
  std::string_view rest = std::string_view(frame).substr(reader.position());
  Result<ApiVersionsRequest> decoded = decode_api_versions_request(rest, parsed->api_version);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->client_software_name, "kcat");
  EXPECT_EQ(decoded->tagged_fields, req.tagged_fields);
}

TEST(KafkaApiVersions, MalformedRequestsRejected) {
  Result<ApiVersionsRequest> truncated =
      decode_api_versions_request(bytes({11}) + "librdkafka" + bytes({6}) + "2.0", 3);
  ASSERT_FALSE(truncated.is_ok());
  EXPECT_EQ(truncated.status().message(), "kafka: COMPACT_STRING length 5 exceeds the 3 bytes left");
  EXPECT_FALSE(decode_api_versions_request(bytes({0, 1, 0}), 3).is_ok());  // null name
  EXPECT_FALSE(decode_api_versions_request(bytes({1, 1}), 3).is_ok());     // no tag buffer
  Result<ApiVersionsRequest> v4 = decode_api_versions_request("", 4);
  ASSERT_FALSE(v4.is_ok());
  EXPECT_EQ(v4.status().message(), "kafka: ApiVersions request version 4 is not supported");
}

TEST(KafkaApiVersions, ResponseRoundTripsForEachVersion) {
  ApiVersionsResponse full = sample_response();
  full.api_keys[1].tagged_fields = {{7, "entry"}};
  full.tagged_fields = {{0, "features"}, {3, std::string(1, '\1')}};
  for (int16_t v : {0, 1, 2, 3}) {
    std::string body = encode_api_versions_response(full, v);
    Result<ApiVersionsResponse> back = decode_api_versions_response(body, v);
    ASSERT_TRUE(back.is_ok()) << "v" << v << ": " << back.status().to_string();
    ApiVersionsResponse expected = full;
    if (v < 1) expected.throttle_time_ms = 0;
    if (v < 3) {
      expected.tagged_fields.clear();
      for (ApiVersionRange& k : expected.api_keys) k.tagged_fields.clear();
    }
    EXPECT_EQ(*back, expected) << "v" << v;
  }
}

TEST(KafkaApiVersions, ResponseV0BytesUseAClassicArray) {
  std::string body = encode_api_versions_response(sample_response(), 0);
  EXPECT_EQ(body, bytes({0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 9, 0, 3, 0, 0, 0, 12, 0, 18, 0, 0,
                         0, 3}));
  std::string v1 = encode_api_versions_response(sample_response(), 1);
  EXPECT_EQ(v1, body + bytes({0, 0, 0, 250}));
}

TEST(KafkaApiVersions, ResponseV3StartsWithAV0HeaderThenCompactArray) {
  std::string out;
  Writer w(&out);
  write_response_header(w, 0x0a0b0c0d, kApiVersionsResponseHeaderVersion);
  out += encode_api_versions_response(sample_response(), 3);
  // correlation id (no tag buffer: header v0), error_code 0, 3 entries + 1,
  // then Produce 0..9 with an empty tag buffer.
  EXPECT_EQ(out.substr(0, 14), bytes({0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 4, 0, 0, 0, 0, 0, 9, 0}));
  // ... and the body ends with throttle_time_ms 250 and an empty tag buffer.
  EXPECT_EQ(out.substr(out.size() - 5), bytes({0, 0, 0, 250, 0}));
  EXPECT_EQ(out.size(), 4u + 2u + 1u + 3u * 7u + 4u + 1u);

  Reader r(out);
  EXPECT_EQ(*parse_response_header(r, kApiVersionsResponseHeaderVersion), 0x0a0b0c0d);
  Result<ApiVersionsResponse> back =
      decode_api_versions_response(std::string_view(out).substr(r.position()), 3);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, sample_response());
}

TEST(KafkaApiVersions, MalformedResponsesRejected) {
  // A count of 1000 entries in a 6-byte remainder is refused up front.
  Result<ApiVersionsResponse> hostile =
      decode_api_versions_response(bytes({0, 0, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0, 0}), 0);
  ASSERT_FALSE(hostile.is_ok());
  EXPECT_EQ(hostile.status().message(),
            "kafka: ARRAY length 1000 exceeds what the 6 bytes left can hold");
  EXPECT_FALSE(decode_api_versions_response(bytes({0, 0, 0}), 3).is_ok());  // null api_keys
  std::string body = encode_api_versions_response(sample_response(), 3);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(decode_api_versions_response(body.substr(0, cut), 3).is_ok()) << cut;
  }
  EXPECT_FALSE(decode_api_versions_response(body + "x", 3).is_ok());
}

}  // namespace
}  // namespace tessera::kafka
