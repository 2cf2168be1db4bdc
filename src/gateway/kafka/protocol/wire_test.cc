#include "gateway/kafka/protocol/wire.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>

namespace tessera::kafka {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

std::string encode(const std::function<void(Writer&)>& fn) {
  std::string out;
  Writer w(&out);
  fn(w);
  return out;
}

template <typename T>
void expect_error(const Result<T>& r, std::string_view text) {
  ASSERT_FALSE(r.is_ok()) << "expected an error containing: " << text;
  EXPECT_EQ(r.status().code(), Errc::invalid_argument);
  EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
}

TEST(KafkaWire, FixedWidthIntegersAreBigEndian) {
  EXPECT_EQ(encode([](Writer& w) { w.write_int16(0x0102); }), bytes({1, 2}));
  EXPECT_EQ(encode([](Writer& w) { w.write_int32(-1); }), bytes({0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.write_int32(std::numeric_limits<int32_t>::min()); }),
            bytes({0x80, 0, 0, 0}));
  EXPECT_EQ(encode([](Writer& w) { w.write_uint32(0xdeadbeef); }),
            bytes({0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(encode([](Writer& w) { w.write_float64(1.0); }),
            bytes({0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
}

TEST(KafkaWire, FixedWidthRoundTrips) {
  const int32_t i32s[] = {std::numeric_limits<int32_t>::min(), -1, 0, 1,
                          std::numeric_limits<int32_t>::max()};
  const int64_t i64s[] = {std::numeric_limits<int64_t>::min(), -1, 0,
                          std::numeric_limits<int64_t>::max()};
  const double f64s[] = {0.0, -2.5, 1e300, std::numeric_limits<double>::infinity()};
  Uuid uuid;
  for (size_t i = 0; i < uuid.size(); ++i) uuid[i] = static_cast<uint8_t>(i * 17);
  std::string out;
  Writer w(&out);
  w.write_bool(true);
  w.write_bool(false);
  w.write_int8(-128);
  w.write_int8(127);
  w.write_int16(std::numeric_limits<int16_t>::min());
  w.write_int16(std::numeric_limits<int16_t>::max());
  for (int32_t v : i32s) w.write_int32(v);
  for (int64_t v : i64s) w.write_int64(v);
  w.write_uint32(std::numeric_limits<uint32_t>::max());
  w.write_uuid(uuid);
  for (double v : f64s) w.write_float64(v);
  w.write_float64(std::nan(""));

  Reader r(out);
  EXPECT_TRUE(*r.read_bool());
  EXPECT_FALSE(*r.read_bool());
  EXPECT_EQ(*r.read_int8(), -128);
  EXPECT_EQ(*r.read_int8(), 127);
  EXPECT_EQ(*r.read_int16(), std::numeric_limits<int16_t>::min());
  EXPECT_EQ(*r.read_int16(), std::numeric_limits<int16_t>::max());
  for (int32_t v : i32s) EXPECT_EQ(*r.read_int32(), v);
  for (int64_t v : i64s) EXPECT_EQ(*r.read_int64(), v);
  EXPECT_EQ(*r.read_uint32(), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(*r.read_uuid(), uuid);
  for (double v : f64s) EXPECT_EQ(*r.read_float64(), v);
  EXPECT_TRUE(std::isnan(*r.read_float64()));
  EXPECT_TRUE(r.at_end());
}

TEST(KafkaWire, BooleanReadsAnyNonZeroAsTrue) {
  std::string in = bytes({2});
  Reader r(in);
  EXPECT_TRUE(*r.read_bool());
}

TEST(KafkaWire, UnsignedVarintKnownBytes) {
  auto uv = [](uint32_t v) { return encode([v](Writer& w) { w.write_unsigned_varint(v); }); };
  EXPECT_EQ(uv(0), bytes({0x00}));
  EXPECT_EQ(uv(127), bytes({0x7f}));
  EXPECT_EQ(uv(128), bytes({0x80, 0x01}));
  EXPECT_EQ(uv(300), bytes({0xac, 0x02}));
  EXPECT_EQ(uv(0xffffffffu), bytes({0xff, 0xff, 0xff, 0xff, 0x0f}));
  for (uint32_t v : {0u, 1u, 127u, 128u, 300u, 16383u, 16384u, 0xffffffffu}) {
    std::string in = uv(v);
    Reader r(in);
    EXPECT_EQ(*r.read_unsigned_varint(), v);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(KafkaWire, ZigzagVarintKnownBytesAndRoundTrips) {
  auto vi = [](int32_t v) { return encode([v](Writer& w) { w.write_varint(v); }); };
  EXPECT_EQ(vi(0), bytes({0x00}));
  EXPECT_EQ(vi(-1), bytes({0x01}));
  EXPECT_EQ(vi(1), bytes({0x02}));
  EXPECT_EQ(vi(-2), bytes({0x03}));
  EXPECT_EQ(vi(-64), bytes({0x7f}));
  EXPECT_EQ(vi(64), bytes({0x80, 0x01}));
  EXPECT_EQ(vi(std::numeric_limits<int32_t>::max()), bytes({0xfe, 0xff, 0xff, 0xff, 0x0f}));
  EXPECT_EQ(vi(std::numeric_limits<int32_t>::min()), bytes({0xff, 0xff, 0xff, 0xff, 0x0f}));
  for (int32_t v : {0, -1, 1, -64, 64, std::numeric_limits<int32_t>::min(),
                    std::numeric_limits<int32_t>::max()}) {
    std::string in = vi(v);
    Reader r(in);
    EXPECT_EQ(*r.read_varint(), v);
    EXPECT_TRUE(r.at_end());
  }
  auto vl = [](int64_t v) { return encode([v](Writer& w) { w.write_varlong(v); }); };
  EXPECT_EQ(vl(-1), bytes({0x01}));
  EXPECT_EQ(vl(std::numeric_limits<int64_t>::min()),
            bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{1} << 40,
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    std::string in = vl(v);
    Reader r(in);
    EXPECT_EQ(*r.read_varlong(), v);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(KafkaWire, VarintsRejectOverlongAndOverflowingEncodings) {
  std::string six = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  Reader r1(six);
  expect_error(r1.read_unsigned_varint(),
               "kafka: UNSIGNED_VARINT at byte 0 is longer than 5 bytes");
  std::string wide = bytes({0xff, 0xff, 0xff, 0xff, 0x1f});
  Reader r2(wide);
  expect_error(r2.read_unsigned_varint(), "does not fit in 32 bits");
  Reader r3(wide);
  expect_error(r3.read_varint(), "VARINT at byte 0 does not fit in 32 bits");
  std::string eleven(10, '\x80');
  eleven.push_back(0);
  Reader r4(eleven);
  expect_error(r4.read_varlong(), "VARLONG at byte 0 is longer than 10 bytes");
  std::string wide64(9, '\xff');
  wide64.push_back(0x02);
  Reader r5(wide64);
  expect_error(r5.read_varlong(), "does not fit in 64 bits");
  // Non-minimal but in range: accepted, as Kafka's Java reader does.
  std::string padded = bytes({0x80, 0x00});
  Reader r6(padded);
  EXPECT_EQ(*r6.read_unsigned_varint(), 0u);
}

TEST(KafkaWire, EveryTruncationIsAnError) {
  std::string in = bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  Reader r(in);
  ASSERT_TRUE(r.read_raw(7, "padding").is_ok());
  expect_error(r.read_int32(), "kafka: truncated INT32 at byte 7");
  EXPECT_FALSE(Reader("").read_bool().is_ok());
  EXPECT_FALSE(Reader("").read_int8().is_ok());
  expect_error(Reader("x").read_int16(), "truncated INT16 at byte 0");
  expect_error(Reader("1234567").read_int64(), "truncated INT64 at byte 0");
  expect_error(Reader("123").read_uint32(), "truncated UINT32");
  expect_error(Reader(std::string(15, 'u')).read_uuid(), "truncated UUID");
  expect_error(Reader("1234").read_float64(), "truncated FLOAT64");
  expect_error(Reader(bytes({0x80})).read_unsigned_varint(), "truncated UNSIGNED_VARINT");
  expect_error(Reader(bytes({0xff, 0xff})).read_varint(), "truncated VARINT");
  expect_error(Reader(bytes({0x81})).read_varlong(), "truncated VARLONG");
  expect_error(Reader(bytes({0})).read_string(), "truncated INT16");
  expect_error(Reader(bytes({0, 5, 'a', 'b'})).read_string(),
               "kafka: STRING length 5 exceeds the 2 bytes left");
  expect_error(Reader(bytes({0, 0, 0, 3, 'a'})).read_bytes(),
               "BYTES length 3 exceeds the 1 bytes left");
  expect_error(Reader(bytes({0, 0, 0, 9})).read_nullable_bytes(), "NULLABLE_BYTES length 9");
  expect_error(Reader(bytes({0, 4})).read_nullable_string(), "NULLABLE_STRING length 4");
  expect_error(Reader(bytes({3, 'a'})).read_compact_bytes(), "COMPACT_BYTES length 2");
  expect_error(Reader(bytes({3})).read_compact_nullable_bytes(), "COMPACT_NULLABLE_BYTES");
  expect_error(Reader(bytes({9})).read_compact_nullable_string(), "COMPACT_NULLABLE_STRING");
  // 301 = 0xad 0x02 encodes a 300-byte string; only 12 bytes follow.
  std::string hostile = bytes({0xad, 0x02}) + std::string(12, 'x');
  expect_error(Reader(hostile).read_compact_string(),
               "kafka: COMPACT_STRING length 300 exceeds the 12 bytes left");
}

TEST(KafkaWire, NullAndEmptyStringsAndBytesAreDistinct) {
  EXPECT_EQ(encode([](Writer& w) { w.write_nullable_string(std::nullopt); }),
            bytes({0xff, 0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.write_nullable_string(""); }), bytes({0, 0}));
  EXPECT_EQ(encode([](Writer& w) { w.write_compact_nullable_string(std::nullopt); }),
            bytes({0}));
  EXPECT_EQ(encode([](Writer& w) { w.write_compact_string(""); }), bytes({1}));
  EXPECT_EQ(encode([](Writer& w) { w.write_compact_string("abc"); }),
            bytes({4, 'a', 'b', 'c'}));
  EXPECT_EQ(encode([](Writer& w) { w.write_nullable_bytes(std::nullopt); }),
            bytes({0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.write_bytes(""); }), bytes({0, 0, 0, 0}));

  std::string in = encode([](Writer& w) {
    w.write_string("hello");
    w.write_nullable_string(std::nullopt);
    w.write_nullable_string("");
    w.write_compact_string("kafka");
    w.write_compact_nullable_string(std::nullopt);
    w.write_compact_nullable_string("");
    w.write_bytes(std::string("\0\1", 2));
    w.write_nullable_bytes(std::nullopt);
    w.write_compact_bytes("xyz");
    w.write_compact_nullable_bytes(std::nullopt);
    w.write_compact_nullable_bytes("");
  });
  Reader r(in);
  EXPECT_EQ(*r.read_string(), "hello");
  EXPECT_EQ(*r.read_nullable_string(), std::nullopt);
  EXPECT_EQ(*r.read_nullable_string(), std::optional<std::string_view>(""));
  EXPECT_EQ(*r.read_compact_string(), "kafka");
  EXPECT_EQ(*r.read_compact_nullable_string(), std::nullopt);
  EXPECT_EQ(*r.read_compact_nullable_string(), std::optional<std::string_view>(""));
  EXPECT_EQ(*r.read_bytes(), std::string("\0\1", 2));
  EXPECT_EQ(*r.read_nullable_bytes(), std::nullopt);
  EXPECT_EQ(*r.read_compact_bytes(), "xyz");
  EXPECT_EQ(*r.read_compact_nullable_bytes(), std::nullopt);
  EXPECT_EQ(*r.read_compact_nullable_bytes(), std::optional<std::string_view>(""));
  EXPECT_TRUE(r.at_end());
}

TEST(KafkaWire, NonNullableFormsRejectNullAndNegativeLengths) {
  expect_error(Reader(bytes({0xff, 0xff})).read_string(), "kafka: STRING at byte 0 is null");
  expect_error(Reader(bytes({0xff, 0xfe})).read_string(), "STRING at byte 0 has negative length -2");
  expect_error(Reader(bytes({0xff, 0xfe})).read_nullable_string(), "negative length -2");
  expect_error(Reader(bytes({0x80, 0, 0, 0})).read_nullable_bytes(), "negative length");
  expect_error(Reader(bytes({0})).read_compact_string(), "COMPACT_STRING at byte 0 is null");
  expect_error(Reader(bytes({0})).read_compact_bytes(), "COMPACT_BYTES at byte 0 is null");
  expect_error(Reader(bytes({0xff, 0xff, 0xff, 0xff})).read_bytes(), "BYTES at byte 0 is null");
}

TEST(KafkaWire, ArrayLengthsNullEmptyAndBounded) {
  EXPECT_EQ(encode([](Writer& w) { w.write_array_length(std::nullopt); }),
            bytes({0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(encode([](Writer& w) { w.write_array_length(0); }), bytes({0, 0, 0, 0}));
  EXPECT_EQ(encode([](Writer& w) { w.write_compact_array_length(std::nullopt); }), bytes({0}));
  EXPECT_EQ(encode([](Writer& w) { w.write_compact_array_length(0); }), bytes({1}));
  EXPECT_EQ(encode([](Writer& w) { w.write_compact_array_length(2); }), bytes({3}));

  EXPECT_EQ(*Reader(bytes({0xff, 0xff, 0xff, 0xff})).read_array_length(), std::nullopt);
  EXPECT_EQ(*Reader(bytes({0, 0, 0, 0})).read_array_length(), std::optional<size_t>(0));
  EXPECT_EQ(*Reader(bytes({0})).read_compact_array_length(), std::nullopt);
  EXPECT_EQ(*Reader(bytes({1})).read_compact_array_length(), std::optional<size_t>(0));
  EXPECT_EQ(*Reader(bytes({3, 'a', 'b'})).read_compact_array_length(),
            std::optional<size_t>(2));

  // A hostile count is refused before anyone reserves memory for it.
  expect_error(Reader(bytes({0x7f, 0xff, 0xff, 0xff, 1, 2})).read_array_length(),
               "kafka: ARRAY length 2147483647 exceeds what the 2 bytes left can hold");
  expect_error(Reader(bytes({0, 0, 0, 2, 1, 2, 3})).read_array_length(4), "ARRAY length 2");
  expect_error(Reader(bytes({0xff, 0xff, 0xff, 0xfe})).read_array_length(),
               "ARRAY at byte 0 has negative length -2");
  expect_error(Reader(bytes({0xff, 0xff, 0xff, 0xff, 0x0f})).read_compact_array_length(),
               "COMPACT_ARRAY length 4294967294 exceeds");
}

TEST(KafkaWire, TaggedFieldsWrittenAscendingAndPreservedOnRead) {
  EXPECT_EQ(encode([](Writer& w) { w.write_tagged_fields(); }), bytes({0}));
  TaggedFields fields = {{1, "ab"}, {5, ""}, {300, std::string(3, 'z')}};
  std::string in = encode([&](Writer& w) {
    w.write_tagged_fields(fields);
    w.write_int8(42);
  });
  EXPECT_EQ(in, bytes({3, 1, 2, 'a', 'b', 5, 0, 0xac, 0x02, 3, 'z', 'z', 'z', 42}));
  Reader r(in);
  Result<TaggedFields> read = r.read_tagged_fields();
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(*read, fields);
  // Skipping the section leaves the reader on the next field.
  EXPECT_EQ(*r.read_int8(), 42);
  EXPECT_TRUE(r.at_end());
}

TEST(KafkaWire, MalformedTaggedFieldsRejected) {
  expect_error(Reader(bytes({2, 5, 0, 1, 0})).read_tagged_fields(),
               "kafka: tagged field 1 at byte 3 follows tag 5 (tags must ascend)");
  expect_error(Reader(bytes({2, 5, 0, 5, 0})).read_tagged_fields(), "follows tag 5");
  expect_error(Reader(bytes({1, 7, 4, 'a'})).read_tagged_fields(),
               "tagged field length 4 exceeds the 1 bytes left");
  expect_error(Reader(bytes({10, 0, 0})).read_tagged_fields(),
               "TAGGED_FIELDS length 10 exceeds what the 2 bytes left can hold");
  expect_error(Reader(bytes({1, 7, 0x80})).read_tagged_fields(),
               "truncated UNSIGNED_VARINT at byte 2");
  expect_error(Reader(bytes({1, 7})).read_tagged_fields(), "TAGGED_FIELDS length 1 exceeds");
  expect_error(Reader("").read_tagged_fields(), "truncated UNSIGNED_VARINT at byte 0");
}

TEST(KafkaWire, RequestHeaderVersions) {
  // v0: api_key 18, api_version 0, correlation_id 7.
  std::string v0 = bytes({0, 18, 0, 0, 0, 0, 0, 7});
  Reader r0(v0);
  Result<RequestHeader> h0 = parse_request_header(r0, 0);
  ASSERT_TRUE(h0.is_ok());
  EXPECT_EQ(h0->api_key, 18);
  EXPECT_EQ(h0->correlation_id, 7);
  EXPECT_EQ(h0->client_id, std::nullopt);
  EXPECT_TRUE(r0.at_end());

  std::string v1 = bytes({0, 3, 0, 9, 0x7f, 0xff, 0xff, 0xff, 0, 3, 'c', 'l', 'i'});
  Reader r1(v1);
  Result<RequestHeader> h1 = parse_request_header(r1, 1);
  ASSERT_TRUE(h1.is_ok());
  EXPECT_EQ(h1->api_key, 3);
  EXPECT_EQ(h1->api_version, 9);
  EXPECT_EQ(h1->correlation_id, std::numeric_limits<int32_t>::max());
  EXPECT_EQ(h1->client_id, std::optional<std::string>("cli"));

  std::string v1_null = bytes({0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff});
  Reader r1n(v1_null);
  EXPECT_EQ(parse_request_header(r1n, 1)->client_id, std::nullopt);

  // v2: the client id stays a classic NULLABLE_STRING, then a tag buffer.
  std::string v2 = bytes({0, 18, 0, 3, 0, 0, 0, 1, 0, 1, 'x', 1, 0, 1, 'q', 0xee});
  Reader r2(v2);
  Result<RequestHeader> h2 = parse_request_header(r2, 2);
  ASSERT_TRUE(h2.is_ok()) << h2.status().to_string();
  EXPECT_EQ(h2->client_id, std::optional<std::string>("x"));
  EXPECT_EQ(h2->tagged_fields, (TaggedFields{{0, "q"}}));
  EXPECT_EQ(r2.remaining(), 1u);  // the body starts here

  RequestHeader h{18, 3, 77, "tessera", {{2, "t"}}};
  for (int version : {0, 1, 2}) {
    std::string out = encode([&](Writer& w) { write_request_header(w, h, version); });
    Reader r(out);
    Result<RequestHeader> back = parse_request_header(r, version);
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(back->correlation_id, 77);
    EXPECT_EQ(back->client_id.has_value(), version >= 1);
    EXPECT_EQ(back->tagged_fields.size(), version >= 2 ? 1u : 0u);
    EXPECT_TRUE(r.at_end());
  }

  std::string short_v1 = bytes({0, 18, 0, 0, 0, 0, 0, 7, 0});
  Reader rs(short_v1);
  expect_error(parse_request_header(rs, 1), "truncated INT16 at byte 8");
}

TEST(KafkaWire, ResponseHeaderVersions) {
  EXPECT_EQ(encode([](Writer& w) { write_response_header(w, 0x01020304, 0); }),
            bytes({1, 2, 3, 4}));
  EXPECT_EQ(encode([](Writer& w) { write_response_header(w, 0x01020304, 1); }),
            bytes({1, 2, 3, 4, 0}));
  std::string in = bytes({0, 0, 0, 5, 0});
  Reader r(in);
  EXPECT_EQ(*parse_response_header(r, 1), 5);
  EXPECT_TRUE(r.at_end());
}

TEST(KafkaWire, Framing) {
  size_t consumed = 99;
  // Fewer than four size bytes: wait.
  Result<std::optional<std::string_view>> f = take_frame(bytes({0, 0, 0}), 100, &consumed);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(*f, std::nullopt);
  EXPECT_EQ(consumed, 0u);
  // Size known, body partial: wait.
  f = take_frame(bytes({0, 0, 0, 3, 'a', 'b'}), 100, &consumed);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(*f, std::nullopt);
  EXPECT_EQ(consumed, 0u);
  // Two frames in one buffer: take them one at a time.
  std::string two = bytes({0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0, 0, 0, 0, 1, '!'});
  f = take_frame(two, 100, &consumed);
  ASSERT_TRUE(f.is_ok() && f->has_value());
  EXPECT_EQ(**f, "hi");
  EXPECT_EQ(consumed, 6u);
  std::string_view rest = std::string_view(two).substr(consumed);
  f = take_frame(rest, 100, &consumed);
  ASSERT_TRUE(f.is_ok() && f->has_value());
  EXPECT_EQ(**f, "");
  EXPECT_EQ(consumed, 4u);
  rest = rest.substr(consumed);
  f = take_frame(rest, 100, &consumed);
  ASSERT_TRUE(f.is_ok() && f->has_value());
  EXPECT_EQ(**f, "!");
  EXPECT_EQ(consumed, rest.size());

  expect_error(take_frame(bytes({0xff, 0xff, 0xff, 0xff}), 100, &consumed),
               "kafka: frame size -1 is negative");
  // An oversized frame is refused from its size alone, before its body arrives.
  expect_error(take_frame(bytes({0, 0, 0, 101}), 100, &consumed),
               "kafka: frame size 101 exceeds the limit of 100 bytes");
  f = take_frame(bytes({0, 0, 0, 100}) + std::string(100, 'x'), 100, &consumed);
  ASSERT_TRUE(f.is_ok() && f->has_value());
  EXPECT_EQ(consumed, 104u);

  std::string out = "prefix";
  size_t at = begin_frame(&out);
  out += "body!";
  finish_frame(&out, at);
  EXPECT_EQ(out, "prefix" + bytes({0, 0, 0, 5}) + "body!");
  f = take_frame(std::string_view(out).substr(at), 100, &consumed);
  ASSERT_TRUE(f.is_ok() && f->has_value());
  EXPECT_EQ(**f, "body!");
}

TEST(KafkaWire, ExpectEndNamesTrailingBytes) {
  std::string in = bytes({1, 2, 3});
  Reader r(in);
  ASSERT_TRUE(r.read_int8().is_ok());
  Status st = r.expect_end("Thing v1");
  EXPECT_EQ(st.message(), "kafka: 2 trailing bytes after Thing v1");
}

}  // namespace
}  // namespace tessera::kafka
