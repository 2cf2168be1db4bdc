#include <map>
#include <sstream>

#include "sim/checkers.h"

namespace tessera::sim {
namespace {

std::string check_balances(const std::vector<int64_t>& balances, const std::string& where) {
  int64_t total = 0;
  std::string shown;
  for (int64_t b : balances) {
    total += b;
    shown += std::to_string(b) + " ";
  }
  if (static_cast<int>(balances.size()) != KvStateMachine::kAccounts ||
      total != KvStateMachine::kBankTotal) {
    return where + ": bank total is " + std::to_string(total) + ", want " +
           std::to_string(KvStateMachine::kBankTotal) + " (balances " + shown + ")";
  }
  for (int64_t b : balances) {
    if (b < 0) return where + ": negative balance (balances " + shown + ")";
  }
  return "";
}

}  // namespace

std::string check_bank(const History& history, const std::vector<const KvStateMachine*>& finals) {
  for (const Op& op : history.ops) {
    if (op.kind != OpKind::bank_read || op.outcome != Outcome::ok) continue;
    std::istringstream in(op.result);
    std::vector<int64_t> balances;
    for (int64_t b = 0; in >> b;) balances.push_back(b);
    std::string err = check_balances(balances, "read-index read op " + std::to_string(op.id));
    if (!err.empty()) return err;
  }
  for (size_t i = 0; i < finals.size(); ++i) {
    const auto& b = finals[i]->balances();
    std::string err = check_balances(std::vector<int64_t>(b.begin(), b.end()),
                                     "final state #" + std::to_string(i));
    if (!err.empty()) return err;
  }
  return "";
}

std::string check_streams(const History& history, const KvStateMachine& final_state) {
  // payload -> op; payloads are unique per op ("p<op id>").
  std::map<std::string, const Op*> appends;
  for (const Op& op : history.ops) {
    if (op.kind == OpKind::append) appends[op.key + "/" + std::to_string(op.arg1)] = &op;
  }
  std::map<std::string, int> seen;
  for (const auto& [stream, entries] : final_state.streams()) {
    for (size_t offset = 0; offset < entries.size(); ++offset) {
      std::string id = stream + "/" + entries[offset].substr(1);
      if (++seen[id] > 1) {
        return "stream '" + stream + "': payload " + entries[offset] + " present twice (again at offset " +
               std::to_string(offset) + ")";
      }
      auto it = appends.find(id);
      if (it == appends.end()) {
        return "stream '" + stream + "': payload " + entries[offset] + " at offset " +
               std::to_string(offset) + " was never appended by a client";
      }
      if (it->second->outcome == Outcome::failed) {
        return "stream '" + stream + "': payload " + entries[offset] + " at offset " +
               std::to_string(offset) + " is present but its client was told it failed (op " +
               std::to_string(it->second->id) + ")";
      }
    }
  }
  for (const auto& [id, op] : appends) {
    if (op->outcome != Outcome::ok) continue;
    auto s = final_state.streams().find(op->key);
    uint64_t offset = std::stoull(op->result);
    if (s == final_state.streams().end() || offset >= s->second.size() ||
        s->second[offset] != "p" + std::to_string(op->arg1)) {
      return "stream '" + op->key + "': acknowledged append op " + std::to_string(op->id) +
             " (payload p" + std::to_string(op->arg1) + ", offset " + op->result +
             ") is not at its offset in the final state";
    }
  }
  return "";
}

}  // namespace tessera::sim
