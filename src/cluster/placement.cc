#include "cluster/placement.h"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

// Definitions used throughout (see the rules in placement.h):
//   usable     state active and not dead (a node merely down is usable);
//   up         heartbeat within the down timeout, not dead, not removed;
//   leaving    draining, removed, or absent from view.nodes;
//   quorum     voters.size() / 2 + 1.
// A member whose leader reported no match is not caught up (caught_up(),
// promotion); for the health lag it counts as the whole commit index.
// Learners are only placed on nodes that are usable and up.
// The meta shard promotes a caught-up learner as soon as its up voters fall
// below the wanted count, then drops the extra voter on a down node first:
// it trades a down voter for a learner before the dead timeout (volume
// shards keep theirs until the node is dead).
// Health::rebalance_pending counts the actions plan() returns now whose
// reason is a move ("drain:" or "rebalance:"), so it is 0 once balanced but
// may also be 0 while other work (re-replication, meta learners) goes first.

namespace tessera::cluster {
namespace {

using Kind = Action::Kind;

bool contains(const std::vector<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool is_member(const ShardView& s, uint64_t id) {
  return contains(s.voters, id) || contains(s.learners, id);
}

std::vector<uint64_t> sorted(std::vector<uint64_t> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<uint64_t> members(const ShardView& s) {
  std::vector<uint64_t> all = s.voters;
  all.insert(all.end(), s.learners.begin(), s.learners.end());
  return sorted(std::move(all));
}

uint64_t match_of(const ShardView& s, uint64_t id) {
  auto it = s.match.find(id);
  return it == s.match.end() ? 0 : it->second;
}

// Entries `id` is behind the leader's commit; the leader itself is never behind.
uint64_t lag_of(const ShardView& s, uint64_t id) {
  if (id == s.leader) return 0;
  auto it = s.match.find(id);
  if (it == s.match.end()) return s.commit;
  return s.commit > it->second ? s.commit - it->second : 0;
}

bool member_caught_up(const ShardView& s, uint64_t id) {
  if (s.leader == 0) return false;
  if (id == s.leader) return true;
  if (s.match.find(id) == s.match.end()) return false;
  return lag_of(s, id) <= kCaughtUpLagMax;
}

uint32_t quorum(const ShardView& s) { return static_cast<uint32_t>(s.voters.size() / 2 + 1); }

// The view's shards in id order, so every answer is independent of input order.
std::vector<const ShardView*> by_shard_id(const ClusterView& view) {
  std::vector<const ShardView*> shards;
  for (const ShardView& s : view.shards) shards.push_back(&s);
  std::sort(shards.begin(), shards.end(), [](const ShardView* a, const ShardView* b) { return a->shard < b->shard; });
  return shards;
}

std::string plural(uint32_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The node table of a view, with the predicates the rules are written in.
class Nodes {
 public:
  explicit Nodes(const ClusterView& view) {
    for (const NodeView& n : view.nodes) {
      by_id_[n.id] = &n;
      if (usable(n.id)) ++usable_count_;
    }
  }

  const NodeView* find(uint64_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }
  bool usable(uint64_t id) const {
    const NodeView* n = find(id);
    return n != nullptr && n->state == NodeView::State::active && !n->dead;
  }
  bool up(uint64_t id) const {
    const NodeView* n = find(id);
    return n != nullptr && n->up && !n->dead && n->state != NodeView::State::removed;
  }
  bool leaving(uint64_t id) const {
    const NodeView* n = find(id);
    return n == nullptr || n->state != NodeView::State::active;
  }
  // Draining or removed: the operator is taking the node out.
  bool departing(uint64_t id) const {
    const NodeView* n = find(id);
    return n != nullptr && n->state != NodeView::State::active;
  }
  // A replica here will never serve again: dead, removed or unknown.
  bool lost(uint64_t id) const {
    const NodeView* n = find(id);
    return n == nullptr || n->dead || n->state == NodeView::State::removed;
  }
  // Empty when the node has no zone label.
  std::string zone(uint64_t id) const {
    const NodeView* n = find(id);
    if (n == nullptr) return "";
    auto it = n->labels.find("zone");
    return it == n->labels.end() ? "" : it->second;
  }
  std::string why_unusable(uint64_t id) const {
    const NodeView* n = find(id);
    if (n == nullptr) return "node " + std::to_string(id) + " is not in the cluster";
    if (n->state == NodeView::State::removed) return "node " + std::to_string(id) + " is removed";
    if (n->state == NodeView::State::draining) return "node " + std::to_string(id) + " is draining";
    return "node " + std::to_string(id) + " is dead";
  }

  uint32_t wanted_voters(const ShardView& s) const {
    const uint32_t u = usable_count_;
    if (s.meta) return u >= 5 ? 5 : u >= 3 ? 3 : 1;
    return std::max<uint32_t>(1, std::min(s.replication, u));
  }
  uint32_t count(const std::vector<uint64_t>& ids, bool need_up) const {
    return static_cast<uint32_t>(std::count_if(ids.begin(), ids.end(), [&](uint64_t id) {
      return usable(id) && (!need_up || up(id));
    }));
  }
  uint32_t up_voters(const ShardView& s) const {
    return static_cast<uint32_t>(
        std::count_if(s.voters.begin(), s.voters.end(), [&](uint64_t id) { return up(id); }));
  }

 private:
  std::map<uint64_t, const NodeView*> by_id_;
  uint32_t usable_count_ = 0;
};

// Why the shard is changing: `kind` prefixes the action's reason ("drain"
// and "rebalance" are the moves health() reports as rebalance_pending).
struct Purpose {
  std::string kind;
  std::string detail;

  std::string reason(const std::string& what) const {
    return kind + ": " + what + (detail.empty() ? "" : " (" + detail + ")");
  }
};

Purpose purpose(const Nodes& nodes, const ShardView& s) {
  const std::vector<uint64_t> all = members(s);
  for (uint64_t m : all) {
    if (nodes.departing(m)) return {"drain", nodes.why_unusable(m)};
  }
  for (uint64_t m : all) {
    if (!nodes.usable(m)) return {"re-replicate", nodes.why_unusable(m)};
  }
  const uint32_t up = nodes.count(s.voters, true);
  const uint32_t wanted = nodes.wanted_voters(s);
  if (up < wanted) {
    return {"replicate", std::to_string(up) + " of " + std::to_string(wanted) + " wanted voters up"};
  }
  return {s.meta ? "meta" : "rebalance", ""};
}

bool is_move(const Action& a) {
  return a.reason.rfind("drain:", 0) == 0 || a.reason.rfind("rebalance:", 0) == 0;
}

class Planner {
 public:
  explicit Planner(const ClusterView& view) : view_(view), nodes_(view) {
    for (const ShardView& s : view.shards) {
      for (uint64_t m : members(s)) ++load_[m];
    }
  }

  std::vector<Action> run() {
    const std::vector<const ShardView*> shards = by_shard_id(view_);
    std::vector<Action> actions;
    for (const ShardView* s : shards) {
      if (auto a = for_shard(*s)) actions.push_back(std::move(*a));
    }
    if (actions.empty()) {
      if (auto a = rebalance(shards)) actions.push_back(std::move(*a));
    }
    if (actions.empty()) {
      if (auto a = balance_leaders(shards)) actions.push_back(std::move(*a));
    }
    return actions;
  }

 private:
  Action make(Kind kind, const ShardView& s, uint64_t node, std::string reason) const {
    Action a;
    a.kind = kind;
    a.shard = s.shard;
    a.node = node;
    a.leader = s.leader;
    a.reason = std::move(reason);
    return a;
  }

  // The most caught-up voter other than `from` on an up, usable node.
  std::optional<uint64_t> transfer_target(const ShardView& s, uint64_t from) const {
    std::optional<uint64_t> best;
    for (uint64_t v : sorted(s.voters)) {
      if (v == from || !nodes_.usable(v) || !nodes_.up(v)) continue;
      if (!best || match_of(s, v) > match_of(s, *best)) best = v;
    }
    return best;
  }

  // A caught-up learner on an up, usable node: a zone the voters lack first,
  // then the most caught up, then the lowest id.
  std::optional<uint64_t> promote_candidate(const ShardView& s) const {
    std::set<std::string> zones;
    for (uint64_t v : s.voters) {
      if (nodes_.usable(v) && !nodes_.zone(v).empty()) zones.insert(nodes_.zone(v));
    }
    std::optional<uint64_t> best;
    auto key = [&](uint64_t id) {
      return std::make_tuple(zones.count(nodes_.zone(id)) > 0, -static_cast<int64_t>(match_of(s, id)), id);
    };
    for (uint64_t l : s.learners) {
      if (!nodes_.usable(l) || !nodes_.up(l) || !member_caught_up(s, l)) continue;
      if (!best || key(l) < key(*best)) best = l;
    }
    return best;
  }

  // Where a new replica of `s` goes: an up, usable non-member, in a zone the
  // usable members do not use, holding the fewest replicas, lowest id.
  std::optional<uint64_t> placement_target(const ShardView& s) const {
    std::set<std::string> zones;
    for (uint64_t m : members(s)) {
      if (nodes_.usable(m) && !nodes_.zone(m).empty()) zones.insert(nodes_.zone(m));
    }
    std::optional<uint64_t> best;
    auto key = [&](uint64_t id) {
      return std::make_tuple(zones.count(nodes_.zone(id)) > 0, load(id), id);
    };
    for (const NodeView& n : view_.nodes) {
      if (!nodes_.usable(n.id) || !nodes_.up(n.id) || is_member(s, n.id)) continue;
      if (!best || key(n.id) < key(*best)) best = n.id;
    }
    return best;
  }

  // The reason prefix for moving a replica off an unusable node.
  std::string kind_of(uint64_t id) const { return nodes_.departing(id) ? "drain" : "re-replicate"; }

  uint32_t load(uint64_t id) const {
    auto it = load_.find(id);
    return it == load_.end() ? 0 : it->second;
  }

  std::optional<Action> for_shard(const ShardView& s) {
    if (s.leader == 0) return std::nullopt;
    const uint32_t wanted = nodes_.wanted_voters(s);
    const Purpose why = purpose(nodes_, s);

    // (1) A leader on a draining or removed node hands leadership over.
    if (nodes_.leaving(s.leader)) {
      if (auto to = transfer_target(s, s.leader)) {
        return make(Kind::transfer_leader, s, *to,
                    kind_of(s.leader) + ": leader " + nodes_.why_unusable(s.leader));
      }
    }

    // (2) Promote a caught-up learner. A volume shard holds learners only
    // while moving a replica; the meta shard promotes only up to `wanted`.
    const uint32_t up_usable_voters = nodes_.count(s.voters, true);
    if (!s.meta || up_usable_voters < wanted) {
      if (auto l = promote_candidate(s)) {
        return make(Kind::promote, s, *l, why.reason("promote node " + std::to_string(*l)));
      }
    }

    // (3) Remove a voter on a dead, draining or removed node once enough
    // voters are on usable nodes.
    const uint32_t usable_voters = nodes_.count(s.voters, false);
    if (usable_voters >= wanted) {
      for (uint64_t v : sorted(s.voters)) {
        if (nodes_.usable(v) || v == s.leader) continue;
        --load_[v];
        return make(Kind::remove, s, v, kind_of(v) + ": " + nodes_.why_unusable(v));
      }
    }

    // (4) Remove learners on dead, draining or removed nodes.
    for (uint64_t l : sorted(s.learners)) {
      if (nodes_.usable(l)) continue;
      --load_[l];
      return make(Kind::remove, s, l, kind_of(l) + ": " + nodes_.why_unusable(l));
    }

    // (5) Add a learner: the meta shard on every usable node, a volume shard
    // up to its wanted voter count.
    const uint32_t usable_members = usable_voters + nodes_.count(s.learners, false);
    if (s.meta || usable_members < wanted) {
      if (auto n = placement_target(s)) {
        ++load_[*n];
        return make(Kind::add_learner, s, *n, why.reason("add learner on node " + std::to_string(*n)));
      }
    }

    // (6) Remove an extra voter: one on a down node first, then the most
    // loaded node; the leader hands over leadership before it is removed.
    if (usable_voters > wanted) {
      std::vector<uint64_t> candidates;
      for (uint64_t v : s.voters) {
        if (nodes_.usable(v)) candidates.push_back(v);
      }
      auto key = [&](uint64_t id) {
        return std::make_tuple(nodes_.up(id), -static_cast<int64_t>(load(id)), id);
      };
      std::sort(candidates.begin(), candidates.end(), [&](uint64_t a, uint64_t b) { return key(a) < key(b); });
      const std::string counts =
          std::to_string(usable_voters) + " voters, " + std::to_string(wanted) + " wanted";
      for (uint64_t v : candidates) {
        if (v != s.leader) {
          --load_[v];
          return make(Kind::remove, s, v,
                      why.kind + ": remove voter on node " + std::to_string(v) + " (" + counts + ")");
        }
        if (auto to = transfer_target(s, v)) {
          return make(Kind::transfer_leader, s, *to,
                      why.kind + ": leader node " + std::to_string(v) + " hands over before its voter is removed (" +
                          counts + ")");
        }
      }
    }
    return std::nullopt;
  }

  // (7) With nothing else to do and no move in progress, move one volume
  // replica from the most to the least loaded up, usable node.
  std::optional<Action> rebalance(const std::vector<const ShardView*>& shards) const {
    for (const ShardView* s : shards) {
      if (!s->meta && !s->learners.empty()) return std::nullopt;
    }
    // Most loaded: highest count, then lowest id; least loaded: lowest
    // count, then lowest id.
    auto heavier = [&](uint64_t a, uint64_t b) {
      return std::make_tuple(-int64_t{load(a)}, a) < std::make_tuple(-int64_t{load(b)}, b);
    };
    auto lighter = [&](uint64_t a, uint64_t b) { return std::make_tuple(load(a), a) < std::make_tuple(load(b), b); };
    std::optional<uint64_t> most;
    std::optional<uint64_t> least;
    for (const NodeView& n : view_.nodes) {
      if (!nodes_.usable(n.id) || !nodes_.up(n.id)) continue;
      if (!most || heavier(n.id, *most)) most = n.id;
      if (!least || lighter(n.id, *least)) least = n.id;
    }
    if (!most || !least || load(*most) <= load(*least) + 1) return std::nullopt;

    // Prefer shards the move keeps spread across zones, then ones the
    // source node does not lead (saves a transfer), then the lowest id.
    const ShardView* pick = nullptr;
    const std::string target_zone = nodes_.zone(*least);
    auto key = [&](const ShardView* s) {
      bool zone_used = false;
      for (uint64_t m : members(*s)) {
        if (m == *most || !nodes_.usable(m) || target_zone.empty()) continue;
        if (nodes_.zone(m) == target_zone) zone_used = true;
      }
      return std::make_tuple(zone_used, s->leader == *most, s->shard);
    };
    for (const ShardView* s : shards) {
      if (s->meta || s->leader == 0 || !contains(s->voters, *most) || is_member(*s, *least)) continue;
      if (pick == nullptr || key(s) < key(pick)) pick = s;
    }
    if (pick == nullptr) return std::nullopt;
    return make(Kind::add_learner, *pick, *least,
                "rebalance: node " + std::to_string(*most) + " holds " + std::to_string(load(*most)) +
                    " replicas, node " + std::to_string(*least) + " holds " + std::to_string(load(*least)));
  }

  // (8) With replicas balanced, leadership. Leaders pile up on the
  // survivors of a failure; this spreads the write load again, over all
  // shards and within each group of siblings (one stream's partitions, one
  // volume's data shards, one table's tablets), so one hot object's load
  // uses every node too. (a) When the up, usable nodes lead counts of
  // (non-meta) shards that differ by more than one, one shard led by the
  // node leading most moves to the node leading least that is a caught-up
  // voter of it, preferring a shard whose group the giver leads more of
  // than the taker. (b) Else, when a node leads two more of a group than
  // another that leads fewer shards in all, one of that group moves over
  // (the totals stay within one).
  std::optional<Action> balance_leaders(const std::vector<const ShardView*>& shards) const {
    std::map<uint64_t, uint32_t> led;
    for (const NodeView& n : view_.nodes) {
      if (nodes_.usable(n.id) && nodes_.up(n.id)) led[n.id] = 0;
    }
    std::map<std::pair<std::string, uint64_t>, int> in_group;  // (group, node) → shards led
    for (const ShardView* s : shards) {
      if (s->meta || s->leader == 0) continue;
      if (auto it = led.find(s->leader); it != led.end()) {
        ++it->second;
        ++in_group[{s->group, s->leader}];
      }
    }
    if (led.size() < 2) return std::nullopt;
    auto group_led = [&](const ShardView& s, uint64_t node) {
      auto it = in_group.find({s.group, node});
      return it == in_group.end() ? 0 : it->second;
    };
    auto movable = [&](const ShardView& s, uint64_t from, uint64_t to) {
      return !s.meta && s.leader == from && contains(s.voters, to) && member_caught_up(s, to);
    };
    auto move = [&](const ShardView& s, uint64_t from, uint64_t to, const std::string& why) {
      return make(Kind::transfer_leader, s, to,
                  "balance leaders: node " + std::to_string(from) + " leads " + std::to_string(led[from]) +
                      " shards, node " + std::to_string(to) + " leads " + std::to_string(led[to]) + why);
    };
    auto most = std::max_element(led.begin(), led.end(), [](const auto& a, const auto& b) {
      return std::make_tuple(a.second, -static_cast<int64_t>(a.first)) <
             std::make_tuple(b.second, -static_cast<int64_t>(b.first));
    });
    // (a) Candidates from the least leading up: the first that can take one.
    std::vector<std::pair<uint32_t, uint64_t>> takers;
    for (const auto& [id, count] : led) takers.emplace_back(count, id);
    std::sort(takers.begin(), takers.end());
    for (const auto& [count, to] : takers) {
      if (count + 1 >= most->second) break;
      const ShardView* best = nullptr;
      int best_margin = 0;
      for (const ShardView* s : shards) {
        if (!movable(*s, most->first, to)) continue;
        const int margin = group_led(*s, most->first) - group_led(*s, to);
        if (best == nullptr || margin > best_margin) best = s, best_margin = margin;
      }
      if (best != nullptr) return move(*best, most->first, to, "");
    }
    // (b) Within groups, keeping the totals within one.
    for (const ShardView* s : shards) {
      if (s->meta || s->leader == 0 || !led.contains(s->leader)) continue;
      const uint64_t from = s->leader;
      for (const auto& [to, count] : led) {
        if (count >= led[from] || group_led(*s, from) < group_led(*s, to) + 2 || !movable(*s, from, to)) continue;
        return move(*s, from, to, "; of " + s->group + ", " + std::to_string(group_led(*s, from)) +
                                      " and " + std::to_string(group_led(*s, to)));
      }
    }
    return std::nullopt;
  }

  const ClusterView& view_;
  Nodes nodes_;
  std::map<uint64_t, uint32_t> load_;  // replicas per node, updated as actions are planned
};

}  // namespace

std::vector<Action> plan(const ClusterView& view) { return Planner(view).run(); }

Health health(const ClusterView& view) {
  const Nodes nodes(view);
  Health h;
  std::map<uint64_t, NodeHealth> by_id;
  for (const NodeView& n : view.nodes) {
    NodeHealth& nh = by_id[n.id];
    nh.id = n.id;
    nh.address = n.address;
    nh.state = n.state == NodeView::State::removed    ? "removed"
               : n.state == NodeView::State::draining ? "draining"
               : !n.up || n.dead                      ? "down"
                                                      : "up";
  }
  for (const ShardView& s : view.shards) {
    const std::vector<uint64_t> all = members(s);
    for (uint64_t m : all) {
      auto it = by_id.find(m);
      if (it == by_id.end()) continue;
      ++it->second.shards;
      if (s.leader != 0) it->second.lag = std::max(it->second.lag, lag_of(s, m));
    }
    if (auto it = by_id.find(s.leader); s.leader != 0 && it != by_id.end()) ++it->second.leaders;

    bool under = nodes.count(s.voters, true) < nodes.wanted_voters(s);
    for (uint64_t l : s.learners) {
      if (s.leader != 0 && !member_caught_up(s, l)) under = true;
    }
    for (uint64_t m : all) {
      if (nodes.lost(m)) under = true;
    }
    if (under) ++h.under_replicated_shards;
    if (s.leader == 0 || nodes.up_voters(s) < quorum(s)) ++h.unavailable_shards;
  }
  for (auto& [id, nh] : by_id) h.nodes.push_back(std::move(nh));
  for (const Action& a : plan(view)) {
    if (is_move(a)) ++h.rebalance_pending;
  }
  return h;
}

OkToStop ok_to_stop(const ClusterView& view, uint64_t node) {
  OkToStop r;
  const Nodes nodes(view);
  if (nodes.find(node) == nullptr) {
    r.reasons.push_back("node " + std::to_string(node) + " is not a member of the cluster");
    return r;
  }
  for (const ShardView* s : by_shard_id(view)) {
    if (!contains(s->voters, node)) continue;
    const uint32_t left = nodes.up_voters(*s) - (nodes.up(node) ? 1 : 0);
    if (left < quorum(*s)) {
      r.reasons.push_back("shard " + std::to_string(s->shard) + ": stopping node " + std::to_string(node) +
                          " leaves " + std::to_string(left) + " of " + std::to_string(s->voters.size()) +
                          " voters up (quorum " + std::to_string(quorum(*s)) + ")");
    }
  }
  const Health h = health(view);
  if (h.under_replicated_shards > 0) {
    r.reasons.push_back(plural(h.under_replicated_shards, "shard is", "shards are") + " under-replicated");
  }
  if (h.unavailable_shards > 0) {
    r.reasons.push_back(plural(h.unavailable_shards, "shard is", "shards are") + " unavailable");
  }
  r.ok = r.reasons.empty();
  return r;
}

OkToStop caught_up(const ClusterView& view, uint64_t node) {
  OkToStop r;
  const Nodes nodes(view);
  if (nodes.find(node) == nullptr) {
    r.reasons.push_back("node " + std::to_string(node) + " is not a member of the cluster");
    return r;
  }
  for (const ShardView* s : by_shard_id(view)) {
    if (!is_member(*s, node)) continue;
    const std::string prefix = "shard " + std::to_string(s->shard) + ": ";
    if (s->leader == 0) {
      r.reasons.push_back(prefix + "no leader");
    } else if (s->leader != node && s->match.find(node) == s->match.end()) {
      r.reasons.push_back(prefix + "leader " + std::to_string(s->leader) + " reports no progress for node " +
                          std::to_string(node));
    } else if (!member_caught_up(*s, node)) {
      r.reasons.push_back(prefix + "node " + std::to_string(node) + " is " + std::to_string(lag_of(*s, node)) +
                          " entries behind commit " + std::to_string(s->commit) + " (at most " +
                          std::to_string(kCaughtUpLagMax) + ")");
    }
  }
  r.ok = r.reasons.empty();
  return r;
}

}  // namespace tessera::cluster
