#pragma once
// GroupCoordinator: the broker side of Kafka's classic group membership
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as a deterministic
// state machine, with rebalance timeouts (KIP-62), member ids handed out by
// the coordinator (KIP-394) and static membership (KIP-345).
//
// Each group moves Empty -> PreparingRebalance -> CompletingRebalance ->
// Stable and back to PreparingRebalance when its membership or a member's
// protocols change. The join phase ends when every member has rejoined (and
// no handed-out member id is still unused) or when the rebalance timeout (the
// largest of the members') passes; for an Empty group it lasts
// initial_rebalance_delay_ms instead, extended while new members keep
// arriving. Members that did not rejoin in time are dropped (static members
// stay until their session expires). The leader's SyncGroup carries every
// member's assignment; followers wait for it.
//
// The coordinator owns no socket, thread or clock: every call carries the
// caller's clock (now_ms, milliseconds, monotonic), and tick(now_ms) fires
// the timers (session expiry, join and sync deadlines, unused member ids);
// next_deadline_ms() says when tick has something to do. Timers fire only in
// tick: a request that arrives after a deadline but before the tick that
// fires it is handled as if in time (Kafka's timer wheel behaves alike).
// tick and next_deadline_ms visit every member of every group. Offsets are
// stored elsewhere; check_commit says whether an OffsetCommit may proceed.
//
// Answers are Kafka error codes (GroupError, the protocol's numbers, as in
// the gateway's KafkaError): this is the Kafka gateway's own state, so its
// errors are already the protocol's.
//
// Thread-safe: one mutex guards all groups. JoinGroup and SyncGroup answer
// through callbacks, which may run later (from another call or from tick).
// Every callback is invoked exactly once, never while the mutex is held, so
// a callback may call back into the coordinator; callbacks must not throw.
// Callbacks still pending when the coordinator is destroyed are dropped
// without being called: call unload_all() first to answer them.
//
// The caller bounds the size of what it passes in (protocol metadata,
// assignments, ids), as the request decoder already did.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::kafka {

// The Kafka error codes the coordinator answers with (the protocol guide's
// numbers, so a handler writes static_cast<int16_t>(error)).
enum class GroupError : int16_t {
  none = 0,
  not_coordinator = 16,
  illegal_generation = 22,
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,
  unknown_member_id = 25,
  invalid_session_timeout = 26,
  rebalance_in_progress = 27,
  non_empty_group = 68,
  group_id_not_found = 69,
  member_id_required = 79,
  group_max_size_reached = 81,
  fenced_instance_id = 82,
};
// Kafka's upper-case name ("REBALANCE_IN_PROGRESS").
std::string_view group_error_name(GroupError error);

enum class GroupState : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };
// Kafka's name, as DescribeGroups and ListGroups report it ("Stable").
std::string_view group_state_name(GroupState state);

struct GroupProtocol {
  std::string name;
  std::string metadata;
  bool operator==(const GroupProtocol&) const = default;
};

struct JoinRequest {
  std::string group_id;
  std::string member_id;  // "" for a member that has none yet
  std::optional<std::string> group_instance_id;  // set for a static member (KIP-345)
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  // JoinGroup v0 has none: pass the session timeout. Non-positive values are
  // treated as the session timeout.
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<GroupProtocol> protocols;  // in the member's order of preference
  bool require_known_member_id = false;  // JoinGroup v4+ (KIP-394)
};

struct JoinMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string metadata;  // for the chosen protocol
};

struct JoinResult {
  GroupError error = GroupError::none;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;  // unset on error
  std::optional<std::string> protocol_name;  // unset on error
  std::string leader_id;
  std::string member_id;
  std::vector<JoinMember> members;  // only the leader's result lists the members
};

struct MemberAssignment {
  std::string member_id;
  std::string assignment;
};

struct SyncRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;  // SyncGroup v5+
  std::optional<std::string> protocol_name;  // SyncGroup v5+
  std::vector<MemberAssignment> assignments;  // from the leader only
};

struct SyncResult {
  GroupError error = GroupError::none;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

struct LeavingMember {
  std::string member_id;  // "" with an instance id removes that static member
  std::optional<std::string> group_instance_id;
};

struct GroupOverview {
  std::string group_id;
  std::string protocol_type;
  std::string state;  // group_state_name
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // Stable groups only, as DescribeGroups reports
  std::string assignment;  // Stable groups only
};

struct GroupDescription {
  std::string group_id;
  std::string state;  // group_state_name
  std::string protocol_type;
  std::string protocol_name;  // Stable groups only
  int32_t generation_id = 0;
  std::string leader_id;
  std::vector<MemberDescription> members;  // in join order
};

struct GroupCoordinatorOptions {
  // group.min.session.timeout.ms / group.max.session.timeout.ms.
  int32_t session_timeout_min_ms = 6000;
  int32_t session_timeout_max_ms = 300000;
  // group.initial.rebalance.delay.ms.
  int32_t initial_rebalance_delay_ms = 3000;
  // group.max.size: members of one group.
  size_t group_members_max = 1000;
  // Member ids handed out with MEMBER_ID_REQUIRED and not yet used, per group.
  size_t pending_members_max = 1000;
  // How long a new member may wait in its first JoinGroup before it is
  // dropped (Kafka's NewMemberJoinTimeoutMs).
  int32_t new_member_join_timeout_ms = 300000;
  // Source of member id suffixes (two draws per id); unset uses a counter,
  // which is deterministic. Called with the coordinator's mutex held.
  std::function<uint64_t()> random;
};

class GroupCoordinator {
 public:
  using JoinCallback = std::function<void(JoinResult)>;
  using SyncCallback = std::function<void(SyncResult)>;

  explicit GroupCoordinator(GroupCoordinatorOptions options = {});
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // JoinGroup. `done` is called once: at once for errors, MEMBER_ID_REQUIRED
  // and rejoins that change nothing; otherwise when the join phase completes.
  void join(JoinRequest request, JoinCallback done, int64_t now_ms);

  // SyncGroup. Followers in CompletingRebalance wait for the leader's sync.
  void sync(SyncRequest request, SyncCallback done, int64_t now_ms);

  // Heartbeat: none while the member's generation is current and no
  // rebalance is pending, REBALANCE_IN_PROGRESS when it must rejoin.
  GroupError heartbeat(std::string_view group_id, int32_t generation_id,
                       std::string_view member_id,
                       const std::optional<std::string>& group_instance_id, int64_t now_ms);

  // LeaveGroup: one error per leaving member, in order.
  std::vector<GroupError> leave(std::string_view group_id,
                                const std::vector<LeavingMember>& members, int64_t now_ms);

  // Whether an OffsetCommit from (generation, member) may be stored now.
  // generation -1 with no member id is a commit from outside group
  // management, allowed while the group has no members.
  GroupError check_commit(std::string_view group_id, int32_t generation_id,
                          std::string_view member_id,
                          const std::optional<std::string>& group_instance_id, int64_t now_ms);

  // DeleteGroups: only an Empty group can be deleted.
  GroupError delete_group(std::string_view group_id);

  // Fires every timer due at now_ms.
  void tick(int64_t now_ms);
  // The earliest time tick() has something to do, if any.
  std::optional<int64_t> next_deadline_ms() const;

  // This node stops coordinating: every pending callback is answered with
  // NOT_COORDINATOR and all groups are forgotten.
  void unload_all();

  // ListGroups, ordered by group id.
  std::vector<GroupOverview> list_groups() const;
  // DescribeGroups; nullopt for a group this coordinator does not know.
  std::optional<GroupDescription> describe(std::string_view group_id) const;

 private:
  static constexpr int64_t kNoDeadline = INT64_MAX;

  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<GroupProtocol> protocols;
    std::string assignment;
    uint64_t join_seq = 0;  // order in which members were added
    int64_t heartbeat_deadline_ms = kNoDeadline;
    bool is_new = true;  // has not yet completed a join phase
    JoinCallback awaiting_join;
    SyncCallback awaiting_sync;
  };

  struct Group {
    std::string group_id;
    GroupState state = GroupState::empty;
    std::string protocol_type;
    std::string protocol_name;  // chosen by the last completed join phase
    int32_t generation_id = 0;
    std::string leader_id;
    std::map<std::string, Member, std::less<>> members;
    std::map<std::string, std::string, std::less<>> static_members;  // instance id -> member id
    std::map<std::string, int64_t, std::less<>> pending_members;  // member id -> expiry
    std::set<std::string, std::less<>> pending_sync;  // members yet to send SyncGroup
    int64_t join_deadline_ms = kNoDeadline;  // PreparingRebalance
    int64_t sync_deadline_ms = kNoDeadline;  // while pending_sync is non-empty
    bool initial_delay = false;  // the join phase is an Empty group's initial delay
    bool new_member_added = false;
    int64_t initial_delay_remaining_ms = 0;
    uint64_t next_join_seq = 0;
  };

  // Callbacks collected under the mutex and run after it is released.
  using Outbox = std::vector<std::function<void()>>;
  static void run(Outbox& out);
  // Queue `cb(result)` and leave `cb` empty.
  static void post_join(Outbox& out, JoinCallback& cb, JoinResult result);
  static void post_sync(Outbox& out, SyncCallback& cb, SyncResult result);
  static JoinResult join_error(std::string member_id, GroupError error);
  static SyncResult sync_error(GroupError error);

  // group_coordinator.cc: request handling.
  void new_member_join(Group& g, JoinRequest& req, JoinCallback& done, int64_t now_ms, Outbox& out);
  void current_member_join(Group& g, JoinRequest& req, JoinCallback& done, int64_t now_ms,
                           Outbox& out);
  void static_member_rejoin(Group& g, const std::string& old_id, std::string new_id,
                            JoinRequest& req, JoinCallback& done, int64_t now_ms, Outbox& out);
  void sync_locked(Group& g, SyncRequest& req, SyncCallback& done, int64_t now_ms, Outbox& out);
  GroupError leave_one(Group& g, const LeavingMember& lm, int64_t now_ms, Outbox& out);

  // group_coordinator_state.cc: group state transitions; fire_timers is in
  // group_coordinator_timers.cc.
  Group* find_group(std::string_view group_id);
  const Group* find_group(std::string_view group_id) const;
  static bool unused(const Group& g);  // never had a member, no handed-out id
  void erase_if_unused(std::string_view group_id);
  bool accept_joining_member(const Group& g, std::string_view member_id) const;
  static bool supports_protocols(const Group& g, const JoinRequest& req);
  static GroupError validate_member(const Group& g, std::string_view member_id,
                                    const std::optional<std::string>& group_instance_id);
  std::string generate_member_id(const Group& g, const JoinRequest& req);
  void add_member_and_rebalance(Group& g, std::string member_id, JoinRequest& req,
                                JoinCallback& done, int64_t now_ms, Outbox& out);
  void update_member_and_rebalance(Group& g, Member& m, JoinRequest& req, JoinCallback& done,
                                   int64_t now_ms, Outbox& out);
  void remove_member_and_update(Group& g, std::string member_id, int64_t now_ms, Outbox& out);
  void erase_member(Group& g, std::string member_id, Outbox& out);
  void maybe_prepare_rebalance(Group& g, int64_t now_ms, Outbox& out);
  void prepare_rebalance(Group& g, int64_t now_ms, Outbox& out);
  void maybe_complete_join(Group& g, int64_t now_ms, Outbox& out);
  void complete_join(Group& g, int64_t now_ms, Outbox& out);
  void fire_timers(Group& g, int64_t now_ms, Outbox& out);
  static std::string select_protocol(const Group& g);
  static int32_t rebalance_timeout_ms(const Group& g);
  static void touch(Member& m, int64_t now_ms);
  static void mark_synced(Group& g, const std::string& member_id);
  static JoinResult current_generation_result(const Group& g, const Member& m,
                                              const std::string& leader_id, bool with_members);

  const GroupCoordinatorOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Group, std::less<>> groups_;
  uint64_t id_counter_ = 0;
};

}  // namespace tessera::kafka
