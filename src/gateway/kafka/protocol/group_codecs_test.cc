// Consumer-group codecs: FindCoordinator, JoinGroup (+ consumer protocol),
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "gateway/kafka/protocol/find_coordinator.h"
#include "gateway/kafka/protocol/heartbeat.h"
#include "gateway/kafka/protocol/join_group.h"
#include "gateway/kafka/protocol/leave_group.h"
#include "gateway/kafka/protocol/offset_commit.h"
#include "gateway/kafka/protocol/offset_fetch.h"
#include "gateway/kafka/protocol/sync_group.h"

namespace tessera::kafka {
namespace {

// Hand assembly of the protocol guide's primitive types (big-endian).
std::string be(uint64_t v, int n) {
  std::string s;
  for (int i = n - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
std::string i8(int v) { return be(static_cast<uint64_t>(v), 1); }
std::string i16(int v) { return be(static_cast<uint64_t>(v), 2); }
std::string i32(int64_t v) { return be(static_cast<uint64_t>(v), 4); }
std::string i64(int64_t v) { return be(static_cast<uint64_t>(v), 8); }
std::string str(std::string_view s) { return i16(static_cast<int>(s.size())) + std::string(s); }
std::string byt(std::string_view s) { return i32(static_cast<int64_t>(s.size())) + std::string(s); }
const std::string kNullString = i16(-1);
const std::string kNullBytes = i32(-1);

template <typename T>
using Encode = std::string (*)(const T&, int16_t);
template <typename T>
using Decode = Result<T> (*)(std::string_view, int16_t);

// For every version in [0, max]: decode(encode(full)) equals `full` with the
// fields the version lacks reset (`strip`), re-encoding is byte-identical,
// every strict prefix and a trailing byte are refused, corrupted bytes never
// decode to something else. Versions -1 and max+1 are refused by name.
template <typename T, typename Strip>
void check_versions(const T& full, int16_t max, Encode<T> enc, Decode<T> dec, Strip strip,
                    const std::string& what) {
  for (int16_t v = 0; v <= max; ++v) {
    SCOPED_TRACE(what + " v" + std::to_string(v));
    const std::string bytes = enc(full, v);
    Result<T> back = dec(bytes, v);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(*back, strip(full, v));
    EXPECT_EQ(enc(*back, v), bytes);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      EXPECT_FALSE(dec(bytes.substr(0, cut), v).is_ok()) << "prefix " << cut;
    }
    // Corrupt each byte: a decoder refuses or yields a value that re-encodes
    // to exactly the corrupted bytes (non-flexible encodings are canonical).
    for (size_t at = 0; at < bytes.size(); ++at) {
      for (int mask : {0x01, 0x80, 0xff}) {
        std::string bad = bytes;
        bad[at] = static_cast<char>(bad[at] ^ mask);
        Result<T> r = dec(bad, v);
        if (r.is_ok()) {
          EXPECT_EQ(enc(*r, v), bad) << "byte " << at << " ^ " << mask;
        }
      }
    }
    Result<T> trailing = dec(bytes + "x", v);
    ASSERT_FALSE(trailing.is_ok());
    EXPECT_EQ(trailing.status().message(),
              "kafka: 1 trailing bytes after " + what + " v" + std::to_string(v));
  }
  for (int16_t bad : {int16_t{-1}, static_cast<int16_t>(max + 1)}) {
    Result<T> r = dec(enc(full, max), bad);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Errc::invalid_argument);
    EXPECT_EQ(r.status().message(),
              "kafka: " + what + " version " + std::to_string(bad) + " is not supported");
  }
}

// The error message of a failed decode, or "ok".
template <typename T>
std::string err(const Result<T>& r) {
  return r.is_ok() ? "ok" : r.status().message();
}
// A failed decode whose message starts with `prefix`.
template <typename T>
testing::AssertionResult fails_with(const Result<T>& r, std::string_view prefix) {
  if (err(r).rfind(prefix, 0) == 0) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "got: " << err(r);
}

// ---- FindCoordinator ----

TEST(KafkaFindCoordinator, EveryVersionRoundTrips) {
  check_versions<FindCoordinatorRequest>(
      {"txn-1", kCoordinatorKeyTypeTransaction}, kFindCoordinatorMaxVersion,
      encode_find_coordinator_request, decode_find_coordinator_request,
      [](FindCoordinatorRequest x, int16_t v) {
        if (v < 1) x.key_type = kCoordinatorKeyTypeGroup;
        return x;
      },
      "FindCoordinator request");
  check_versions<FindCoordinatorResponse>(
      {100, 15, "not available", 3, "broker-3", 9092}, kFindCoordinatorMaxVersion,
      encode_find_coordinator_response, decode_find_coordinator_response,
      [](FindCoordinatorResponse x, int16_t v) {
        if (v < 1) x.throttle_time_ms = 0, x.error_message.reset();
        return x;
      },
      "FindCoordinator response");
}

TEST(KafkaFindCoordinator, BytesMatchTheGuide) {
  EXPECT_EQ(encode_find_coordinator_request({"grp", 0}, 0), str("grp"));
  EXPECT_EQ(encode_find_coordinator_request({"txn", 1}, 2), str("txn") + i8(1));
  std::string v1 = i32(0) + i16(0) + kNullString + i32(2) + str("h") + i32(9092);
  Result<FindCoordinatorResponse> r = decode_find_coordinator_response(v1, 1);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (FindCoordinatorResponse{0, 0, std::nullopt, 2, "h", 9092}));
  EXPECT_EQ(encode_find_coordinator_response(*r, 0), i16(0) + i32(2) + str("h") + i32(9092));
  // A v0 request has no key type: a v1 body is one byte too long for v0.
  EXPECT_FALSE(decode_find_coordinator_request(str("grp") + i8(0), 0).is_ok());
}

// ---- JoinGroup ----

JoinGroupRequest sample_join_request() {
  return {"group", 10000, 300000, "member-1", "instance-1", "consumer",
          {{"range", std::string("\0\1", 2)}, {"cooperative-sticky", ""}}};
}

TEST(KafkaJoinGroup, EveryVersionRoundTrips) {
  check_versions<JoinGroupRequest>(
      sample_join_request(), kJoinGroupMaxVersion, encode_join_group_request,
      decode_join_group_request,
      [](JoinGroupRequest x, int16_t v) {
        if (v < 1) x.rebalance_timeout_ms = -1;
        if (v < 5) x.group_instance_id.reset();
        return x;
      },
      "JoinGroup request");
  JoinGroupResponse response{50, 0, 7, "range", "m-1", "m-2",
                             {{"m-1", "i-1", "meta1"}, {"m-2", std::nullopt, ""}}};
  check_versions<JoinGroupResponse>(
      response, kJoinGroupMaxVersion, encode_join_group_response, decode_join_group_response,
      [](JoinGroupResponse x, int16_t v) {
        if (v < 2) x.throttle_time_ms = 0;
        if (v < 5) {
          for (JoinGroupResponseMember& m : x.members) m.group_instance_id.reset();
        }
        return x;
      },
      "JoinGroup response");
}

TEST(KafkaJoinGroup, BytesMatchTheGuide) {
  std::string tail = str("") + str("consumer") + i32(1) + str("range") + byt("md");
  Result<JoinGroupRequest> r0 = decode_join_group_request(str("g") + i32(6000) + tail, 0);
  ASSERT_TRUE(r0.is_ok()) << r0.status().to_string();
  // rebalance_timeout_ms is absent in v0: the schema default -1.
  EXPECT_EQ(*r0,
            (JoinGroupRequest{"g", 6000, -1, "", std::nullopt, "consumer", {{"range", "md"}}}));
  JoinGroupRequest r5 = *r0;
  r5.rebalance_timeout_ms = 300000;
  EXPECT_EQ(encode_join_group_request(r5, 1), str("g") + i32(6000) + i32(300000) + tail);
  EXPECT_EQ(encode_join_group_request(r5, 5), str("g") + i32(6000) + i32(300000) + str("") +
                                                  kNullString + tail.substr(2));

  JoinGroupResponse resp{0, 0, 1, "range", "a", "a", {{"a", "ia", "x"}}};
  EXPECT_EQ(encode_join_group_response(resp, 5),
            i32(0) + i16(0) + i32(1) + str("range") + str("a") + str("a") + i32(1) + str("a") +
                str("ia") + byt("x"));
  EXPECT_EQ(encode_join_group_response(resp, 1),
            i16(0) + i32(1) + str("range") + str("a") + str("a") + i32(1) + str("a") + byt("x"));
}

TEST(KafkaJoinGroup, ErrorsNameTheField) {
  std::string head = str("g") + i32(1) + i32(2) + str("m") + str("consumer");
  EXPECT_EQ(err(decode_join_group_request(head + i32(1000) + str("r"), 1)),
            "kafka: JoinGroup request v1 protocols: ARRAY length 1000 exceeds what the 3 bytes "
            "left can hold");
  EXPECT_EQ(err(decode_join_group_request(head + i32(-1), 1)),
            "kafka: JoinGroup request v1 protocols: null ARRAY");
  EXPECT_TRUE(fails_with(decode_join_group_request(head + i32(1) + str("r") + i32(9) + "abc", 1),
                         "kafka: JoinGroup request v1 protocols.metadata: "));
  EXPECT_TRUE(fails_with(decode_join_group_request(str("g") + i32(1) + i16(-2), 0),
                         "kafka: JoinGroup request v0 member_id: "));
}

// ---- Consumer protocol (embedded in JoinGroup / SyncGroup) ----

// The embedded formats carry their version: round trip at each known version,
// every strict prefix and (for known versions) a trailing byte are refused.
template <typename T, typename Strip>
void check_embedded(const T& full, int16_t max, std::string (*enc)(const T&),
                    Result<T> (*dec)(std::string_view), Strip strip) {
  for (int16_t v = 0; v <= max; ++v) {
    SCOPED_TRACE(v);
    T x = full;
    x.version = v;
    const std::string bytes = enc(x);
    Result<T> back = dec(bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(*back, strip(x, v));
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      EXPECT_FALSE(dec(bytes.substr(0, cut)).is_ok()) << cut;
    }
    EXPECT_TRUE(fails_with(dec(bytes + "x"), "kafka: 1 trailing bytes after "));
  }
}

TEST(KafkaConsumerProtocol, SubscriptionEveryVersion) {
  check_embedded<ConsumerProtocolSubscription>(
      {0, {"a", "b"}, "ud", {{"a", {0, 2}}, {"b", {}}}, 5, "rack-1"},
      kConsumerProtocolSubscriptionMaxVersion, encode_consumer_protocol_subscription,
      decode_consumer_protocol_subscription, [](ConsumerProtocolSubscription x, int16_t v) {
        if (v < 1) x.owned_partitions.clear();
        if (v < 2) x.generation_id = -1;
        if (v < 3) x.rack_id.reset();
        return x;
      });
  check_embedded<ConsumerProtocolAssignment>(
      {0, {{"a", {4}}, {"b", {}}}, "u"}, kConsumerProtocolAssignmentMaxVersion,
      encode_consumer_protocol_assignment, decode_consumer_protocol_assignment,
      [](ConsumerProtocolAssignment x, int16_t) { return x; });
}

TEST(KafkaConsumerProtocol, SubscriptionBytesAndNewerVersions) {
  // v0 as kafka-python and kafkajs send it: one topic, no user data.
  std::string v0 = i16(0) + i32(1) + str("t") + kNullBytes;
  Result<ConsumerProtocolSubscription> s0 = decode_consumer_protocol_subscription(v0);
  ASSERT_TRUE(s0.is_ok()) << s0.status().to_string();
  EXPECT_EQ(*s0, (ConsumerProtocolSubscription{0, {"t"}, std::nullopt, {}, -1, std::nullopt}));
  EXPECT_EQ(encode_consumer_protocol_subscription(*s0), v0);
  // v1 adds owned partitions (cooperative rebalancing).
  std::string v1 = i16(1) + i32(1) + str("t") + byt("") + i32(1) + str("t") + i32(2) + i32(0) +
                   i32(3);
  Result<ConsumerProtocolSubscription> s1 = decode_consumer_protocol_subscription(v1);
  ASSERT_TRUE(s1.is_ok()) << s1.status().to_string();
  EXPECT_EQ(s1->user_data, std::optional<std::string>(""));
  EXPECT_EQ(s1->owned_partitions,
            (std::vector<ConsumerProtocolTopicPartitions>{{"t", {0, 3}}}));
  // A future v9 appends fields: the known v3 layout is read, the rest ignored,
  // and the version is clamped to the newest known one.
  std::string v9 = i16(9) + i32(1) + str("t") + kNullBytes + i32(0) + i32(4) + str("r") +
                   "future fields";
  Result<ConsumerProtocolSubscription> s9 = decode_consumer_protocol_subscription(v9);
  ASSERT_TRUE(s9.is_ok()) << s9.status().to_string();
  EXPECT_EQ(*s9, (ConsumerProtocolSubscription{3, {"t"}, std::nullopt, {}, 4, "r"}));
  // ... but a newer version missing a known field is still malformed.
  std::string short9 = i16(9) + i32(1) + str("t") + kNullBytes + i32(0);
  EXPECT_TRUE(fails_with(decode_consumer_protocol_subscription(short9),
                         "kafka: ConsumerProtocolSubscription v9 generation_id: "));
  EXPECT_EQ(err(decode_consumer_protocol_subscription(i16(-1) + i32(0) + kNullBytes)),
            "kafka: ConsumerProtocolSubscription version -1 is not supported");
}

TEST(KafkaConsumerProtocol, AssignmentBytesAndNewerVersions) {
  std::string body = i32(2) + str("a") + i32(1) + i32(4) + str("b") + i32(0) + byt("u");
  const ConsumerProtocolAssignment a{0, {{"a", {4}}, {"b", {}}}, "u"};
  EXPECT_EQ(encode_consumer_protocol_assignment(a), i16(0) + body);
  Result<ConsumerProtocolAssignment> v3 = decode_consumer_protocol_assignment(i16(3) + body);
  ASSERT_TRUE(v3.is_ok()) << v3.status().to_string();
  EXPECT_EQ(v3->assigned_partitions, a.assigned_partitions);  // the same fields in v0-v3
  Result<ConsumerProtocolAssignment> v7 = decode_consumer_protocol_assignment(i16(7) + body + "z");
  ASSERT_TRUE(v7.is_ok()) << v7.status().to_string();
  EXPECT_EQ(*v7, (ConsumerProtocolAssignment{3, a.assigned_partitions, "u"}));
  std::string hostile = i16(0) + i32(1) + str("a") + i32(1 << 30);
  EXPECT_TRUE(fails_with(decode_consumer_protocol_assignment(hostile),
                         "kafka: ConsumerProtocolAssignment v0 assigned_partitions.partitions: "));
}

// ---- SyncGroup ----

TEST(KafkaSyncGroup, EveryVersionRoundTrips) {
  check_versions<SyncGroupRequest>(
      {"group", 7, "m-1", "i-1", {{"m-1", "assign-1"}, {"m-2", ""}}}, kSyncGroupMaxVersion,
      encode_sync_group_request, decode_sync_group_request,
      [](SyncGroupRequest x, int16_t v) { if (v < 3) x.group_instance_id.reset(); return x; },
      "SyncGroup request");
  check_versions<SyncGroupResponse>(
      {20, 27, "assignment"}, kSyncGroupMaxVersion, encode_sync_group_response,
      decode_sync_group_response,
      [](SyncGroupResponse x, int16_t v) { if (v < 1) x.throttle_time_ms = 0; return x; },
      "SyncGroup response");
}

TEST(KafkaSyncGroup, BytesMatchTheGuide) {
  SyncGroupRequest request{"g", 3, "m", std::nullopt, {{"m", "A"}}};
  std::string v0 = str("g") + i32(3) + str("m") + i32(1) + str("m") + byt("A");
  EXPECT_EQ(encode_sync_group_request(request, 0), v0);
  EXPECT_EQ(encode_sync_group_request(request, 3),
            str("g") + i32(3) + str("m") + kNullString + i32(1) + str("m") + byt("A"));
  EXPECT_EQ(encode_sync_group_response({0, 0, ""}, 0), i16(0) + byt(""));
  EXPECT_EQ(encode_sync_group_response({9, 0, "x"}, 1), i32(9) + i16(0) + byt("x"));
}

// ---- Heartbeat ----

TEST(KafkaHeartbeat, EveryVersionRoundTrips) {
  check_versions<HeartbeatRequest>(
      {"group", 12, "m-1", "i-1"}, kHeartbeatMaxVersion, encode_heartbeat_request,
      decode_heartbeat_request,
      [](HeartbeatRequest x, int16_t v) { if (v < 3) x.group_instance_id.reset(); return x; },
      "Heartbeat request");
  check_versions<HeartbeatResponse>(
      {30, 27}, kHeartbeatMaxVersion, encode_heartbeat_response, decode_heartbeat_response,
      [](HeartbeatResponse x, int16_t v) { if (v < 1) x.throttle_time_ms = 0; return x; },
      "Heartbeat response");
}

TEST(KafkaHeartbeat, BytesMatchTheGuide) {
  std::string v3 = str("g") + i32(7) + str("m") + kNullString;
  Result<HeartbeatRequest> r = decode_heartbeat_request(v3, 3);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (HeartbeatRequest{"g", 7, "m", std::nullopt}));
  EXPECT_EQ(encode_heartbeat_request(*r, 2), str("g") + i32(7) + str("m"));
  EXPECT_EQ(encode_heartbeat_response({0, 27}, 0), i16(27));
  EXPECT_EQ(encode_heartbeat_response({5, 27}, 3), i32(5) + i16(27));
}

// ---- LeaveGroup ----

TEST(KafkaLeaveGroup, EveryVersionRoundTrips) {
  check_versions<LeaveGroupRequest>(
      {"group", "m-1", {{"m-1", "i-1"}, {"m-2", std::nullopt}}}, kLeaveGroupMaxVersion,
      encode_leave_group_request, decode_leave_group_request,
      [](LeaveGroupRequest x, int16_t v) {
        if (v < 3) x.members.clear();
        if (v >= 3) x.member_id.clear();
        return x;
      },
      "LeaveGroup request");
  check_versions<LeaveGroupResponse>(
      {40, 0, {{"m-1", "i-1", 0}, {"m-2", std::nullopt, 25}}}, kLeaveGroupMaxVersion,
      encode_leave_group_response, decode_leave_group_response,
      [](LeaveGroupResponse x, int16_t v) {
        if (v < 1) x.throttle_time_ms = 0;
        if (v < 3) x.members.clear();
        return x;
      },
      "LeaveGroup response");
}

TEST(KafkaLeaveGroup, BytesMatchTheGuide) {
  EXPECT_EQ(encode_leave_group_request({"g", "m", {}}, 0), str("g") + str("m"));
  std::string v3 = str("g") + i32(2) + str("m1") + str("i1") + str("") + kNullString;
  Result<LeaveGroupRequest> r = decode_leave_group_request(v3, 3);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->member_id, "");
  EXPECT_EQ(r->members,
            (std::vector<LeaveGroupMemberIdentity>{{"m1", "i1"}, {"", std::nullopt}}));
  EXPECT_EQ(encode_leave_group_response({1, 0, {{"m1", "i1", 0}}}, 3),
            i32(1) + i16(0) + i32(1) + str("m1") + str("i1") + i16(0));
  EXPECT_EQ(encode_leave_group_response({1, 0, {{"m1", "i1", 0}}}, 2), i32(1) + i16(0));
}

// ---- OffsetCommit ----

TEST(KafkaOffsetCommit, EveryVersionRoundTrips) {
  OffsetCommitRequest request{
      "group", 9, "m-1", "i-1", 86400000,
      {{"t1", {{0, 100, 4, 1700000000000, "meta"}, {1, 200, 4, 1700000000001, std::nullopt}}},
       {"t2", {}}}};
  check_versions<OffsetCommitRequest>(
      request, kOffsetCommitMaxVersion, encode_offset_commit_request,
      decode_offset_commit_request,
      [](OffsetCommitRequest x, int16_t v) {
        const OffsetCommitRequest d;
        const OffsetCommitRequestPartition dp;
        if (v < 1) x.generation_id = d.generation_id, x.member_id = d.member_id;
        if (v < 7) x.group_instance_id = d.group_instance_id;
        if (v < 2 || v > 4) x.retention_time_ms = d.retention_time_ms;
        for (OffsetCommitRequestTopic& t : x.topics) {
          for (OffsetCommitRequestPartition& p : t.partitions) {
            if (v < 6) p.committed_leader_epoch = dp.committed_leader_epoch;
            if (v != 1) p.commit_timestamp = dp.commit_timestamp;
          }
        }
        return x;
      },
      "OffsetCommit request");
  check_versions<OffsetCommitResponse>(
      {60, {{"t1", {{0, 0}, {1, 22}}}, {"t2", {}}}}, kOffsetCommitMaxVersion,
      encode_offset_commit_response, decode_offset_commit_response,
      [](OffsetCommitResponse x, int16_t v) { if (v < 3) x.throttle_time_ms = 0; return x; },
      "OffsetCommit response");
}

TEST(KafkaOffsetCommit, BytesMatchTheGuide) {
  OffsetCommitRequest r{"g", 3, "m", std::nullopt, 1000, {{"t", {{0, 42, 5, 77, ""}}}}};
  std::string partition_head = i32(1) + str("t") + i32(1) + i32(0) + i64(42);
  EXPECT_EQ(encode_offset_commit_request(r, 0), str("g") + partition_head + str(""));
  EXPECT_EQ(encode_offset_commit_request(r, 1),
            str("g") + i32(3) + str("m") + partition_head + i64(77) + str(""));
  EXPECT_EQ(encode_offset_commit_request(r, 2),
            str("g") + i32(3) + str("m") + i64(1000) + partition_head + str(""));
  EXPECT_EQ(encode_offset_commit_request(r, 5), str("g") + i32(3) + str("m") + partition_head +
                                                    str(""));
  EXPECT_EQ(encode_offset_commit_request(r, 7), str("g") + i32(3) + str("m") + kNullString +
                                                    partition_head + i32(5) + str(""));
  // A v0 request leaves the v1+ fields at their schema defaults.
  Result<OffsetCommitRequest> v0 =
      decode_offset_commit_request(str("g") + partition_head + kNullString, 0);
  ASSERT_TRUE(v0.is_ok()) << v0.status().to_string();
  EXPECT_EQ(*v0, (OffsetCommitRequest{"g", -1, "", std::nullopt, -1,
                                      {{"t", {{0, 42, -1, -1, std::nullopt}}}}}));
  EXPECT_EQ(encode_offset_commit_response({0, {{"t", {{0, 0}}}}}, 3),
            i32(0) + i32(1) + str("t") + i32(1) + i32(0) + i16(0));
}

// ---- OffsetFetch ----

TEST(KafkaOffsetFetch, EveryVersionRoundTrips) {
  check_versions<OffsetFetchRequest>(
      {"group", std::vector<OffsetFetchRequestTopic>{{"t1", {0, 1, 2}}, {"t2", {}}}},
      kOffsetFetchMaxVersion, encode_offset_fetch_request, decode_offset_fetch_request,
      [](OffsetFetchRequest x, int16_t) { return x; }, "OffsetFetch request");
  OffsetFetchResponse response{
      70, {{"t1", {{0, 100, 3, "meta", 0}, {1, -1, -1, std::nullopt, 3}}}, {"t2", {}}}, 16};
  check_versions<OffsetFetchResponse>(
      response, kOffsetFetchMaxVersion, encode_offset_fetch_response,
      decode_offset_fetch_response,
      [](OffsetFetchResponse x, int16_t v) {
        if (v < 3) x.throttle_time_ms = 0;
        if (v < 2) x.error_code = 0;
        for (OffsetFetchResponseTopic& t : x.topics) {
          for (OffsetFetchResponsePartition& p : t.partitions) {
            if (v < 5) p.committed_leader_epoch = -1;
          }
        }
        return x;
      },
      "OffsetFetch response");
}

TEST(KafkaOffsetFetch, NullTopicsMeanAllFromV2) {
  std::string all = str("g") + i32(-1);
  for (int16_t v = 2; v <= kOffsetFetchMaxVersion; ++v) {
    Result<OffsetFetchRequest> r = decode_offset_fetch_request(all, v);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_FALSE(r->topics.has_value());
    EXPECT_EQ(encode_offset_fetch_request(*r, v), all);
  }
  for (int16_t v : {0, 1}) {
    EXPECT_EQ(err(decode_offset_fetch_request(all, v)),
              "kafka: OffsetFetch request v" + std::to_string(v) + " topics: null ARRAY");
  }
}

TEST(KafkaOffsetFetch, BytesMatchTheGuide) {
  OffsetFetchRequest request{"g", std::vector<OffsetFetchRequestTopic>{{"t", {0, 1}}}};
  EXPECT_EQ(encode_offset_fetch_request(request, 1),
            str("g") + i32(1) + str("t") + i32(2) + i32(0) + i32(1));
  std::string v5 = i32(0) + i32(1) + str("t") + i32(1) + i32(0) + i64(10) + i32(2) + kNullString +
                   i16(0) + i16(0);
  Result<OffsetFetchResponse> r = decode_offset_fetch_response(v5, 5);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->topics[0].partitions[0],
            (OffsetFetchResponsePartition{0, 10, 2, std::nullopt, 0}));
  EXPECT_EQ(encode_offset_fetch_response(*r, 0),
            i32(1) + str("t") + i32(1) + i32(0) + i64(10) + kNullString + i16(0));
  // v1 has no top-level error code nor leader epoch: both default on decode.
  std::string v1_bytes = encode_offset_fetch_response(*r, 1);
  Result<OffsetFetchResponse> v1 = decode_offset_fetch_response(v1_bytes, 1);
  ASSERT_TRUE(v1.is_ok()) << v1.status().to_string();
  EXPECT_EQ(v1->error_code, 0);
  EXPECT_EQ(v1->topics[0].partitions[0].committed_leader_epoch, -1);
}

}  // namespace
}  // namespace tessera::kafka
