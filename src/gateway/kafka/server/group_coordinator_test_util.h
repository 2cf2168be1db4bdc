#pragma once
// Test fixture for GroupCoordinator: one group "g", a controllable clock,
// and callbacks captured into slots the test inspects.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/kafka/server/group_coordinator.h"

namespace tessera::kafka::test {

template <typename T>
using Slot = std::shared_ptr<std::optional<T>>;

constexpr int32_t kSessionMs = 10000;
constexpr int32_t kRebalanceMs = 30000;
constexpr int32_t kDelayMs = 100;

inline GroupCoordinatorOptions test_options() {
  GroupCoordinatorOptions o;
  o.initial_rebalance_delay_ms = kDelayMs;
  return o;
}

inline std::vector<GroupProtocol> protocols(std::initializer_list<const char*> names) {
  std::vector<GroupProtocol> out;
  for (const char* n : names) out.push_back(GroupProtocol{n, std::string("meta-") + n});
  return out;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  explicit CoordinatorTest(GroupCoordinatorOptions options = test_options())
      : gc_(std::move(options)) {}

  JoinRequest request(std::string member_id, std::string client_id = "client",
                      std::vector<GroupProtocol> protos = protocols({"range"})) {
    JoinRequest r;
    r.group_id = "g";
    r.member_id = std::move(member_id);
    r.client_id = std::move(client_id);
    r.client_host = "/10.0.0.1";
    r.session_timeout_ms = kSessionMs;
    r.rebalance_timeout_ms = kRebalanceMs;
    r.protocol_type = "consumer";
    r.protocols = std::move(protos);
    return r;
  }

  JoinRequest static_request(std::string member_id, std::string instance_id) {
    JoinRequest r = request(std::move(member_id), "client");
    r.group_instance_id = std::move(instance_id);
    return r;
  }

  Slot<JoinResult> join(JoinRequest r) {
    auto slot = std::make_shared<std::optional<JoinResult>>();
    gc_.join(std::move(r), [slot](JoinResult jr) {
      EXPECT_FALSE(slot->has_value()) << "join answered twice";
      *slot = std::move(jr);
    }, now_);
    return slot;
  }

  Slot<SyncResult> sync(int32_t generation, std::string member_id,
                        std::vector<MemberAssignment> assignments = {},
                        std::optional<std::string> instance_id = std::nullopt) {
    SyncRequest r;
    r.group_id = "g";
    r.generation_id = generation;
    r.member_id = std::move(member_id);
    r.group_instance_id = std::move(instance_id);
    r.assignments = std::move(assignments);
    auto slot = std::make_shared<std::optional<SyncResult>>();
    gc_.sync(std::move(r), [slot](SyncResult sr) {
      EXPECT_FALSE(slot->has_value()) << "sync answered twice";
      *slot = std::move(sr);
    }, now_);
    return slot;
  }

  GroupError heartbeat(int32_t generation, const std::string& member_id,
                       std::optional<std::string> instance_id = std::nullopt) {
    return gc_.heartbeat("g", generation, member_id, instance_id, now_);
  }

  void advance(int64_t ms) {
    now_ += ms;
    gc_.tick(now_);
  }

  std::string state() const {
    auto d = gc_.describe("g");
    return d ? d->state : "Dead";
  }
  int32_t generation() const {
    auto d = gc_.describe("g");
    return d ? d->generation_id : -1;
  }
  std::string leader() const {
    auto d = gc_.describe("g");
    return d ? d->leader_id : "";
  }

  // Joins every waiting slot's phase by ticking through initial delays.
  void settle(const std::vector<Slot<JoinResult>>& slots) {
    for (int i = 0; i < 20; ++i) {
      bool all = true;
      for (const auto& s : slots) all = all && s->has_value();
      if (all) return;
      advance(kDelayMs);
    }
    FAIL() << "join phase did not complete";
  }

  // A Stable group of dynamic members, one per client id, all in one
  // generation; returns member ids in join order (the first is the leader).
  // Each member's assignment is "a-<member id>".
  std::vector<std::string> stable_group(const std::vector<std::string>& clients) {
    std::vector<Slot<JoinResult>> slots;
    for (const std::string& c : clients) slots.push_back(join(request("", c)));
    settle(slots);
    std::vector<std::string> ids;
    std::vector<MemberAssignment> assignments;
    for (const auto& s : slots) {
      EXPECT_EQ((*s)->error, GroupError::none);
      ids.push_back((*s)->member_id);
      assignments.push_back(MemberAssignment{(*s)->member_id, "a-" + (*s)->member_id});
    }
    int32_t gen = (*slots[0])->generation_id;
    for (size_t i = 1; i < ids.size(); ++i) sync(gen, ids[i]);
    auto leader_sync = sync(gen, ids[0], assignments);
    EXPECT_TRUE(leader_sync->has_value());
    EXPECT_EQ(state(), "Stable");
    return ids;
  }

  GroupCoordinator gc_;
  int64_t now_ = 1'000'000;
};

}  // namespace tessera::kafka::test
