#include "base/rate_limiter.h"

#include <algorithm>
#include <thread>

namespace tessera {

RateLimiter::Clock::duration RateLimiter::acquire(uint64_t bytes) {
  if (rate_ == 0 || bytes == 0) return {};
  Clock::duration wait;
  {
    std::lock_guard lk(mu_);
    const auto now = Clock::now();
    const double burst = static_cast<double>(rate_) / 10;
    tokens_ = std::min(burst, tokens_ + std::chrono::duration<double>(now - last_).count() *
                                            static_cast<double>(rate_));
    last_ = now;
    // Take the bytes now (possibly into debt) and wait until the debt is
    // paid: callers are served in arrival order at the configured rate.
    tokens_ -= static_cast<double>(bytes);
    wait = tokens_ >= 0 ? Clock::duration::zero()
                        : std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(-tokens_ / static_cast<double>(rate_)));
  }
  if (wait > Clock::duration::zero()) std::this_thread::sleep_for(wait);
  return wait;
}

}  // namespace tessera
