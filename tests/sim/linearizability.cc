// Register linearizability: Lowe's just-in-time linearization search with a
// cache of (linearized set, state), the algorithm Porcupine implements.

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_set>
#include <vector>

#include "sim/checkers.h"

namespace tessera::sim {
namespace {

constexpr size_t kSearchStepsMax = 5'000'000;

struct LinOp {
  const Op* op;
  bool known;  // has a real completion time
};

struct CacheKey {
  std::vector<uint64_t> bits;
  int64_t state;
  bool operator==(const CacheKey&) const = default;
};
struct CacheHash {
  size_t operator()(const CacheKey& k) const {
    uint64_t h = static_cast<uint64_t>(k.state) * 0x9e3779b97f4a7c15ULL;
    for (uint64_t b : k.bits) h = (h ^ b) * 0x100000001b3ULL + (h >> 29);
    return h;
  }
};

// One register's model step; false when `op` cannot take effect in `state`.
bool step(const Op& op, bool known, int64_t state, int64_t* next) {
  switch (op.kind) {
    case OpKind::read:
      *next = state;
      return std::stoll(op.result) == state;
    case OpKind::write:
      *next = op.arg1;
      return true;
    case OpKind::cas: {
      bool matches = state == op.arg2;
      *next = matches ? op.arg1 : state;
      if (!known) return true;
      return matches == (op.result == "ok");
    }
    default:
      return false;
  }
}

enum class Verdict { ok, violation, gave_up };

Verdict check_key(const std::vector<LinOp>& ops) {
  // Entries: call i at index 2i, return i at 2i + 1, chained in time order.
  const size_t n = ops.size();
  struct Event {
    uint64_t time;
    int kind;  // 0 call, 1 return (calls first at equal times)
    size_t entry;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < n; ++i) {
    events.push_back({ops[i].op->invoke_us, 0, 2 * i});
    events.push_back({ops[i].known ? ops[i].op->complete_us : kNever, 1, 2 * i + 1});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.time != b.time ? a.time < b.time : a.kind < b.kind;
  });
  const size_t kNil = SIZE_MAX;
  std::vector<size_t> prev(2 * n + 1, kNil), next(2 * n + 1, kNil);
  const size_t head = 2 * n;  // sentinel
  size_t last = head;
  for (const Event& e : events) {
    next[last] = e.entry;
    prev[e.entry] = last;
    last = e.entry;
  }
  auto lift = [&](size_t call) {
    size_t ret = call + 1;
    next[prev[call]] = next[call];
    if (next[call] != kNil) prev[next[call]] = prev[call];
    next[prev[ret]] = next[ret];
    if (next[ret] != kNil) prev[next[ret]] = prev[ret];
  };
  auto unlift = [&](size_t call) {
    size_t ret = call + 1;
    if (next[ret] != kNil) prev[next[ret]] = ret;
    next[prev[ret]] = ret;
    if (next[call] != kNil) prev[next[call]] = call;
    next[prev[call]] = call;
  };

  std::vector<uint64_t> bits((n + 63) / 64, 0);
  std::unordered_set<CacheKey, CacheHash> cache;
  struct Frame {
    size_t call;
    int64_t state;
  };
  std::vector<Frame> stack;
  int64_t state = 0;
  size_t known_left = 0;
  for (const LinOp& l : ops) known_left += l.known ? 1 : 0;
  size_t cur = next[head];
  for (size_t steps = 0; next[head] != kNil; ++steps) {
    if (steps > kSearchStepsMax) return Verdict::gave_up;
    // Done once only unknown ops remain: they may never have taken effect.
    if (known_left == 0) return Verdict::ok;
    if (cur % 2 == 0) {
      size_t i = cur / 2;
      int64_t next_state = 0;
      if (step(*ops[i].op, ops[i].known, state, &next_state)) {
        CacheKey key{bits, next_state};
        key.bits[i / 64] |= uint64_t{1} << (i % 64);
        if (cache.insert(key).second) {
          stack.push_back({cur, state});
          bits = std::move(key.bits);
          state = next_state;
          lift(cur);
          if (ops[i].known) --known_left;
          cur = next[head];
          continue;
        }
      }
      cur = next[cur];
    } else {
      if (stack.empty()) return Verdict::violation;
      Frame f = stack.back();
      stack.pop_back();
      state = f.state;
      bits[(f.call / 2) / 64] &= ~(uint64_t{1} << ((f.call / 2) % 64));
      unlift(f.call);
      if (ops[f.call / 2].known) ++known_left;
      cur = next[f.call];
    }
  }
  return Verdict::ok;
}

}  // namespace

std::string check_registers(const History& history, LinearizabilityStats* stats) {
  std::map<std::string, std::vector<LinOp>> by_key;
  for (const Op& op : history.ops) {
    if (op.kind != OpKind::read && op.kind != OpKind::write && op.kind != OpKind::cas) continue;
    if (op.outcome == Outcome::ok) {
      by_key[op.key].push_back({&op, true});
    } else if ((op.outcome == Outcome::unknown || op.outcome == Outcome::pending) &&
               op.kind != OpKind::read) {
      by_key[op.key].push_back({&op, false});
    }
  }
  for (const auto& [key, ops] : by_key) {
    ++stats->keys;
    stats->ops += ops.size();
    Verdict v = check_key(ops);
    if (v == Verdict::gave_up) ++stats->inconclusive_keys;
    if (v == Verdict::violation) {
      std::string out = "register key '" + key + "' history is not linearizable (" +
                        std::to_string(ops.size()) + " ops):";
      size_t shown = 0;
      for (const LinOp& l : ops) {
        if (++shown > 40) {
          out += "\n    ...";
          break;
        }
        const Op& op = *l.op;
        out += "\n    op " + std::to_string(op.id) + " client " + std::to_string(op.client) +
               " [" + std::to_string(op.invoke_us) + ", " +
               (l.known ? std::to_string(op.complete_us) : std::string("?")) + "] " + op.data +
               " -> " + (l.known ? op.result : std::string("unknown"));
      }
      return out;
    }
  }
  return "";
}

}  // namespace tessera::sim
