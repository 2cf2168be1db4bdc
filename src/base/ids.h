#pragma once
// Strong id types: a ShardId cannot be passed where a LogIndex is expected.

#include <compare>
#include <cstdint>
#include <functional>

namespace tessera {

template <typename Tag>
struct StrongId {
  uint64_t value = 0;
  constexpr StrongId() = default;
  constexpr explicit StrongId(uint64_t v) : value(v) {}
  auto operator<=>(const StrongId&) const = default;
};

struct ShardIdTag {};
struct LogIndexTag {};
struct InodeIdTag {};
struct VolumeIdTag {};

using ShardId = StrongId<ShardIdTag>;
using LogIndex = StrongId<LogIndexTag>;
using InodeId = StrongId<InodeIdTag>;
using VolumeId = StrongId<VolumeIdTag>;

}  // namespace tessera

template <typename Tag>
struct std::hash<tessera::StrongId<Tag>> {
  size_t operator()(const tessera::StrongId<Tag>& id) const noexcept {
    return std::hash<uint64_t>{}(id.value);
  }
};
