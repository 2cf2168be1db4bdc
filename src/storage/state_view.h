#pragma once
// StateReader / StateWriter: one shard's slice of the state column family.
//
// State machines see keys without the shard prefix; these adapters add it.
// A StateReader over a Snapshot is what read paths use; a StateWriter over the
// apply group's Txn is what State machines' apply uses.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/coding.h"
#include "base/ids.h"
#include "base/status.h"
#include "storage/engine.h"

namespace tessera::storage {

using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual Result<std::optional<std::string>> get(std::string_view key) const = 0;
  // Keys in [start, end) without the shard prefix; empty end = end of shard.
  virtual Status scan(std::string_view start, std::string_view end, const ScanFn& fn) const = 0;
};

class StateWriter : public StateReader {
 public:
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void del(std::string_view key) = 0;
};

// Key prefix of a shard in both column families.
inline std::string shard_prefix(ShardId shard) {
  std::string p;
  put_be64(p, shard.value);
  return p;
}

namespace detail {
template <typename Base, typename Source>
class Prefixed : public Base {
 public:
  Prefixed(Source& src, ShardId shard) : src_(src), prefix_(shard_prefix(shard)) {}

  Result<std::optional<std::string>> get(std::string_view key) const override {
    return src_.get(prefix_ + std::string(key));
  }
  Status scan(std::string_view start, std::string_view end, const ScanFn& fn) const override {
    std::string s = prefix_ + std::string(start);
    std::string e = end.empty() ? prefix_successor(prefix_) : prefix_ + std::string(end);
    const size_t n = prefix_.size();
    return src_.scan(s, e, [&](std::string_view k, std::string_view v) { return fn(k.substr(n), v); });
  }

 protected:
  Source& src_;
  std::string prefix_;
};
}  // namespace detail

class SnapshotReader : public detail::Prefixed<StateReader, const Snapshot> {
 public:
  using Prefixed::Prefixed;
};

class TxnWriter : public detail::Prefixed<StateWriter, Txn> {
 public:
  using Prefixed::Prefixed;
  void put(std::string_view key, std::string_view value) override {
    src_.put(prefix_ + std::string(key), value);
  }
  void del(std::string_view key) override { src_.del(prefix_ + std::string(key)); }
};

}  // namespace tessera::storage
