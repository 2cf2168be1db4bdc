#include "sim/state_machine.h"

#include <sstream>

#include "base/assert.h"

namespace tessera::sim {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 31);
}

uint64_t hash_bytes(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

KvStateMachine::KvStateMachine() { balances_.fill(kInitialBalance); }

std::string KvStateMachine::apply(const raft::Entry& entry) {
  applied_ = entry.index;
  digest_ = mix(mix(mix(digest_, entry.index.value), entry.term.value),
                mix(static_cast<uint64_t>(entry.type), hash_bytes(entry.data)));
  if (entry.type != raft::EntryType::normal || entry.data.empty()) return "";
  return execute(entry.data, true);
}

std::string KvStateMachine::preview(const std::string& data) const {
  KvStateMachine copy = *this;
  return copy.execute(data, false);
}

std::string KvStateMachine::execute(const std::string& data, bool mutate) {
  std::istringstream in(data);
  char kind = 0;
  in >> kind;
  switch (kind) {
    case 'w': {
      std::string key;
      int64_t value = 0;
      in >> key >> value;
      if (mutate) registers_[key] = value;
      return "ok";
    }
    case 'c': {
      std::string key;
      int64_t expect = 0, value = 0;
      in >> key >> expect >> value;
      if (register_value(key) != expect) return "fail";
      if (mutate) registers_[key] = value;
      return "ok";
    }
    case 't': {
      int from = 0, to = 0;
      int64_t amount = 0;
      in >> from >> to >> amount;
      TESSERA_ASSERT(from >= 0 && from < kAccounts && to >= 0 && to < kAccounts);
      if (balances_[from] < amount) return "insufficient";
      if (mutate) {
        balances_[from] -= amount;
        balances_[to] += amount;
      }
      return "ok";
    }
    case 'a': {
      std::string stream, payload;
      in >> stream >> payload;
      std::vector<std::string>& s = streams_[stream];
      uint64_t offset = s.size();
      if (mutate) s.push_back(payload);
      return std::to_string(offset);
    }
    default:
      TESSERA_ASSERT_MSG(false, "sim: unknown command");
  }
  return "";
}

int64_t KvStateMachine::register_value(const std::string& key) const {
  auto it = registers_.find(key);
  return it == registers_.end() ? 0 : it->second;
}

std::string KvStateMachine::query(const std::string& q) const {
  if (q == "b") {
    std::string out;
    for (int64_t b : balances_) out += std::to_string(b) + " ";
    return out;
  }
  TESSERA_ASSERT(q.size() > 2 && q[0] == 'r');
  return std::to_string(register_value(q.substr(2)));
}

std::string encode_write(const std::string& key, int64_t value, uint64_t op) {
  return "w " + key + " " + std::to_string(value) + " #" + std::to_string(op);
}
std::string encode_cas(const std::string& key, int64_t expect, int64_t value, uint64_t op) {
  return "c " + key + " " + std::to_string(expect) + " " + std::to_string(value) + " #" +
         std::to_string(op);
}
std::string encode_transfer(int from, int to, int64_t amount, uint64_t op) {
  return "t " + std::to_string(from) + " " + std::to_string(to) + " " + std::to_string(amount) +
         " #" + std::to_string(op);
}
std::string encode_append(const std::string& stream, const std::string& payload) {
  return "a " + stream + " " + payload;
}
std::string encode_read(const std::string& key) { return "r " + key; }
std::string encode_bank_read() { return "b"; }

}  // namespace tessera::sim
