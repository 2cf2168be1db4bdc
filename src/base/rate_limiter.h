#pragma once
// RateLimiter: a token bucket shared by threads that move bytes in the
// background (snapshot streams that re-replicate shards), so they leave the
// disk and network to foreground work. Like Kafka's replication throttle or
// Ceph's recovery limits, the rate is an operator's setting.
//
// acquire(n) blocks until n bytes fit the rate; the bucket holds at most a
// tenth of a second of tokens, so an idle period does not allow a burst.
// A rate of 0 means unlimited. Thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>

namespace tessera {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(uint64_t bytes_per_s) : rate_(bytes_per_s), last_(Clock::now()) {}

  uint64_t rate() const { return rate_; }
  // Blocks until `bytes` may go; returns how long it waited.
  Clock::duration acquire(uint64_t bytes);

 private:
  const uint64_t rate_;
  std::mutex mu_;
  double tokens_ = 0;  // may go negative: a debt later callers wait out
  Clock::time_point last_;
};

}  // namespace tessera
