#pragma once
// Metrics: a thread-safe registry of Prometheus series, rendered in the text
// exposition format 0.0.4.
//
// A series is a metric name plus a set of labels. Creating or finding a series
// (counter(), gauge(), histogram()) takes the registry lock; the returned
// reference is stable for the registry's lifetime, so callers look it up once
// and keep it. Updating a series (inc, set, add, observe) is lock-free: relaxed
// atomics only. render() may run concurrently with updates; each value it
// prints is one atomic read, so a scrape is not a consistent snapshot across
// series (as in every Prometheus client).
//
// Misuse is a bug and fails TESSERA_ASSERT: an invalid metric or label name,
// one name registered with two types or two bucket layouts, a duplicated
// label key, a histogram label named "le".
//
// RequestMetrics and RequestTimer are the per-request convenience every
// gateway uses: tessera_requests_total{op,code} and
// tessera_request_duration_seconds{op,code}.

#include <atomic>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

struct Label {
  std::string key;
  std::string value;
  auto operator<=>(const Label&) const = default;
};
// A small set of labels. Order does not matter: {a,b} and {b,a} name the
// same series, which renders with its labels sorted by key.
using Labels = std::vector<Label>;

// Monotonic count. Thread-safe, lock-free.
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Distribution of observations over fixed buckets. Bucket i counts
// observations v with bounds[i-1] < v <= bounds[i]; one extra bucket holds
// v > bounds.back() (and NaN). Thread-safe, lock-free.
class Histogram {
 public:
  // `bounds` must be finite and strictly increasing (may be empty).
  explicit Histogram(std::vector<double> bounds);

  void observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i, i in [0, bounds().size()]; the last
  // index is the overflow (+Inf) bucket.
  uint64_t bucket_count(size_t i) const;
  // Sum of all buckets.
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  const std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0.0};
};

// 0.0001 s .. 10 s in 1-2.5-5 steps: the latency buckets every gateway uses.
const std::vector<double>& default_latency_buckets();

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Returns the series `name{labels}`, creating it (and its family with
  // `help`) on first use. The help text of a family is set by its first
  // registration. The reference stays valid until the registry is destroyed.
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  // Every series of one histogram name must use the same `bounds` (seconds).
  Histogram& histogram(std::string_view name, std::string_view help, Labels labels,
                       const std::vector<double>& bounds);

  // Registers a gauge whose value is `fn()` evaluated at render time, on the
  // rendering thread and without the registry lock held. Registering the
  // same name+labels again replaces the function. `fn` and everything it
  // captures must stay valid until replaced or until this registry is gone.
  void gauge_fn(std::string_view name, std::string_view help, Labels labels,
                std::function<double()> fn);

  // All series in Prometheus text format 0.0.4, families sorted by name and
  // series by labels.
  std::string render() const;

 private:
  enum class Kind { counter, gauge, histogram };
  struct Family;
  struct Series;
  // Finds or creates name{labels}; asserts the family has `kind` (and
  // `bounds`, for a histogram). Called with mu_ held.
  Series& series_locked(std::string_view name, std::string_view help, Kind kind, Labels labels,
                        const std::vector<double>* bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // guarded by mu_
};

// Records tessera_requests_total{op,code} and
// tessera_request_duration_seconds{op,code} (default_latency_buckets()).
//
// `op` names the operation ("files.write"), `code` its outcome ("ok",
// errc_name(), a protocol error name). Both must come from small fixed sets:
// each distinct pair is a series forever. The first record() of a pair takes
// the registry lock; later ones are a lock-free lookup plus two atomic
// updates. Thread-safe. Must not outlive `metrics`.
class RequestMetrics {
 public:
  static constexpr std::string_view kRequestsName = "tessera_requests_total";
  static constexpr std::string_view kDurationName = "tessera_request_duration_seconds";
  // Distinct (op, code) pairs kept in the lock-free cache; pairs beyond it
  // are still recorded, through the registry lock.
  static constexpr size_t kCachedPairsMax = 512;

  explicit RequestMetrics(Metrics& metrics);
  ~RequestMetrics();
  RequestMetrics(const RequestMetrics&) = delete;
  RequestMetrics& operator=(const RequestMetrics&) = delete;

  void record(std::string_view op, std::string_view code, double seconds);

 private:
  struct Entry;
  static constexpr size_t kSlots = 2 * kCachedPairsMax;  // load factor <= 1/2

  const Entry* find(std::string_view op, std::string_view code, size_t hash) const;
  const Entry& resolve(std::string_view op, std::string_view code);

  Metrics& metrics_;
  std::unique_ptr<std::atomic<const Entry*>[]> slots_;  // open addressing, insert-only
  std::mutex mu_;                                       // serializes inserts
  std::vector<std::unique_ptr<Entry>> entries_;         // owns slot targets; guarded by mu_
};

// Times one request from construction to finish(code), on the steady clock.
// A timer destroyed without finish() records code "aborted" (an exception or
// early return escaped the request). `op` must outlive the timer (normally a
// string literal). Not thread-safe; one per request.
class RequestTimer {
 public:
  static constexpr std::string_view kAbortedCode = "aborted";

  RequestTimer(RequestMetrics& metrics, std::string_view op);
  ~RequestTimer();
  RequestTimer(const RequestTimer&) = delete;
  RequestTimer& operator=(const RequestTimer&) = delete;

  // Records the request once; later calls are no-ops.
  void finish(std::string_view code);

 private:
  RequestMetrics& metrics_;
  std::string_view op_;
  std::chrono::steady_clock::time_point start_;
  bool finished_ = false;
};

}  // namespace tessera
