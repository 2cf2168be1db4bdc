#pragma once
// KvStateMachine: the small deterministic state machine every simulated node
// applies committed entries to.
//
// It serves the three workloads at once: per-key integer registers (write,
// compare-and-set), a bank of kAccounts accounts whose total is invariant
// (transfer), and append-only streams (append returns the offset). Commands
// are short text lines (see encode_* below); results are text too.
//
// `digest()` is a chain hash over every applied entry (index, term, type,
// data), so two machines with equal digests at the same index applied the
// same sequence. A snapshot is a plain copy of the object.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "raft/types.h"

namespace tessera::sim {

class KvStateMachine {
 public:
  static constexpr int kAccounts = 5;
  static constexpr int64_t kInitialBalance = 100;
  static constexpr int64_t kBankTotal = kAccounts * kInitialBalance;

  KvStateMachine();

  // Applies one committed entry; returns the command's result ("" for a
  // no-op or a configuration change). The caller checks index order.
  std::string apply(const raft::Entry& entry);
  // Evaluates a read-only query ("r <key>" or "b") against current state.
  std::string query(const std::string& q) const;
  // The result `data` would have if applied now, without applying it.
  std::string preview(const std::string& data) const;

  raft::LogIndex applied() const { return applied_; }
  // Rewinds the applied index only; used by the --inject-bug double-apply
  // driver bug to model a driver that forgets what it applied.
  void set_applied_for_bug(raft::LogIndex index) { applied_ = index; }
  uint64_t digest() const { return digest_; }

  int64_t register_value(const std::string& key) const;
  const std::array<int64_t, kAccounts>& balances() const { return balances_; }
  const std::map<std::string, std::vector<std::string>>& streams() const { return streams_; }

  bool operator==(const KvStateMachine&) const = default;

 private:
  std::string execute(const std::string& data, bool mutate);

  raft::LogIndex applied_;
  uint64_t digest_ = 0;
  std::map<std::string, int64_t> registers_;
  std::array<int64_t, kAccounts> balances_;
  std::map<std::string, std::vector<std::string>> streams_;  // offset = position
};

// Command encodings. Every write carries a globally unique op id, so no two
// proposals have the same data.
std::string encode_write(const std::string& key, int64_t value, uint64_t op);
std::string encode_cas(const std::string& key, int64_t expect, int64_t value, uint64_t op);
std::string encode_transfer(int from, int to, int64_t amount, uint64_t op);
std::string encode_append(const std::string& stream, const std::string& payload);
std::string encode_read(const std::string& key);
std::string encode_bank_read();

}  // namespace tessera::sim
