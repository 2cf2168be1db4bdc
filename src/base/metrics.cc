#include "base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "base/assert.h"

namespace tessera {
namespace {

bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Prometheus data model: [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view s) {
  if (s.empty() || !(is_alpha_(s[0]) || s[0] == ':')) return false;
  for (char c : s) {
    if (!(is_alpha_(c) || is_digit(c) || c == ':')) return false;
  }
  return true;
}

// [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are reserved.
bool valid_label_name(std::string_view s) {
  if (s.empty() || !is_alpha_(s[0]) || s.starts_with("__")) return false;
  for (char c : s) {
    if (!(is_alpha_(c) || is_digit(c))) return false;
  }
  return true;
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    TESSERA_ASSERT(ec == std::errc());
    out.append(buf, end);
  }
}

// Label values escape backslash, double quote and newline (format 0.0.4).
void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// HELP text escapes backslash and newline only.
void append_help(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// `k1="v1",k2="v2"` for labels sorted by key, without braces.
std::string render_labels(const Labels& labels) {
  std::string out;
  for (const Label& l : labels) {
    if (!out.empty()) out += ',';
    out += l.key;
    out += "=\"";
    append_label_value(out, l.value);
    out += '"';
  }
  return out;
}

// `name{labels}` or `name{labels,extra}`; braces omitted when both are empty.
void append_series_name(std::string& out, std::string_view name, std::string_view suffix,
                        const std::string& labels, std::string_view extra = {}) {
  out += name;
  out += suffix;
  if (labels.empty() && extra.empty()) return;
  out += '{';
  out += labels;
  if (!labels.empty() && !extra.empty()) out += ',';
  out += extra;
  out += '}';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]()) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    TESSERA_ASSERT_MSG(std::isfinite(bounds_[i]), "histogram bounds must be finite");
    TESSERA_ASSERT_MSG(i == 0 || bounds_[i - 1] < bounds_[i],
                       "histogram bounds must be strictly increasing");
  }
}

void Histogram::observe(double v) {
  // First bucket with v <= bound; NaN compares false everywhere and lands in
  // the overflow bucket.
  size_t lo = 0, hi = bounds_.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v <= bounds_[mid]) {
      hi = mid;
    } else if (v > bounds_[mid]) {
      lo = mid + 1;
    } else {
      lo = hi = bounds_.size();
    }
  }
  buckets_[lo].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::bucket_count(size_t i) const {
  TESSERA_ASSERT(i <= bounds_.size());
  return buckets_[i].load(std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += bucket_count(i);
  return n;
}

const std::vector<double>& default_latency_buckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                               1.0,    2.5,     5.0,    10.0};
  return kBuckets;
}

// One series. Exactly one of counter, gauge, histogram, fn is set, and never
// changes afterwards except that fn may be replaced (under Metrics::mu_).
struct Metrics::Series {
  std::string labels;  // rendered `k="v",...`
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::shared_ptr<const std::function<double()>> fn;
};

// All series of one name. name, help, kind and bounds are immutable.
struct Metrics::Family {
  std::string name;
  std::string help;
  Kind kind;
  std::vector<double> bounds;                        // histograms only
  std::map<Labels, std::unique_ptr<Series>> series;  // guarded by Metrics::mu_
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Series& Metrics::series_locked(std::string_view name, std::string_view help, Kind kind,
                                        Labels labels, const std::vector<double>* bounds) {
  TESSERA_ASSERT_MSG(valid_metric_name(name), "invalid metric name");
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    TESSERA_ASSERT_MSG(valid_label_name(labels[i].key), "invalid label name");
    TESSERA_ASSERT_MSG(i == 0 || labels[i - 1].key != labels[i].key, "duplicate label key");
    TESSERA_ASSERT_MSG(kind != Kind::histogram || labels[i].key != "le",
                       "label `le` is reserved for histogram buckets");
  }

  auto fit = families_.find(name);
  if (fit == families_.end()) {
    auto family = std::make_unique<Family>();
    family->name = std::string(name);
    family->help = std::string(help);
    family->kind = kind;
    if (bounds != nullptr) family->bounds = *bounds;
    fit = families_.emplace(std::string(name), std::move(family)).first;
  }
  Family& family = *fit->second;
  TESSERA_ASSERT_MSG(family.kind == kind, "metric name registered with two types");
  TESSERA_ASSERT_MSG(bounds == nullptr || family.bounds == *bounds,
                     "histogram registered with two bucket layouts");

  auto sit = family.series.find(labels);
  if (sit == family.series.end()) {
    auto s = std::make_unique<Series>();
    s->labels = render_labels(labels);
    sit = family.series.emplace(std::move(labels), std::move(s)).first;
  }
  return *sit->second;
}

Counter& Metrics::counter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  Series& s = series_locked(name, help, Kind::counter, std::move(labels), nullptr);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Metrics::gauge(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  Series& s = series_locked(name, help, Kind::gauge, std::move(labels), nullptr);
  TESSERA_ASSERT_MSG(!s.fn, "series already registered by gauge_fn");
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Metrics::histogram(std::string_view name, std::string_view help, Labels labels,
                              const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  Series& s = series_locked(name, help, Kind::histogram, std::move(labels), &bounds);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(bounds);
  return *s.histogram;
}

void Metrics::gauge_fn(std::string_view name, std::string_view help, Labels labels,
                       std::function<double()> fn) {
  TESSERA_ASSERT(fn != nullptr);
  auto shared = std::make_shared<const std::function<double()>>(std::move(fn));
  std::lock_guard lock(mu_);
  Series& s = series_locked(name, help, Kind::gauge, std::move(labels), nullptr);
  TESSERA_ASSERT_MSG(!s.gauge, "series already registered by gauge()");
  s.fn = std::move(shared);
}

std::string Metrics::render() const {
  // Snapshot the structure under the lock; read values and call gauge
  // functions outside it. Family and Series objects are never freed before
  // the registry, so the pointers stay valid.
  struct SeriesView {
    const Series* series;
    std::shared_ptr<const std::function<double()>> fn;
  };
  struct FamilyView {
    const Family* family;
    std::vector<SeriesView> series;
  };
  std::vector<FamilyView> snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot.reserve(families_.size());
    for (const auto& [name, family] : families_) {
      FamilyView& fv = snapshot.emplace_back(FamilyView{family.get(), {}});
      fv.series.reserve(family->series.size());
      for (const auto& [labels, s] : family->series) fv.series.push_back({s.get(), s->fn});
    }
  }

  static constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};
  std::string out;
  for (const FamilyView& fv : snapshot) {
    const Family& f = *fv.family;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += kTypeNames[static_cast<int>(f.kind)];
    out += '\n';
    for (const SeriesView& sv : fv.series) {
      const Series& s = *sv.series;
      if (s.counter) {
        append_series_name(out, f.name, "", s.labels);
        out += ' ';
        out += std::to_string(s.counter->value());
        out += '\n';
      } else if (s.gauge || sv.fn) {
        append_series_name(out, f.name, "", s.labels);
        out += ' ';
        append_double(out, s.gauge ? s.gauge->value() : (*sv.fn)());
        out += '\n';
      } else if (s.histogram) {
        const Histogram& h = *s.histogram;
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= h.bounds().size(); ++i) {
          cumulative += h.bucket_count(i);
          std::string le = "le=\"";
          if (i < h.bounds().size()) {
            append_double(le, h.bounds()[i]);
          } else {
            le += "+Inf";
          }
          le += '"';
          append_series_name(out, f.name, "_bucket", s.labels, le);
          out += ' ';
          out += std::to_string(cumulative);
          out += '\n';
        }
        append_series_name(out, f.name, "_sum", s.labels);
        out += ' ';
        append_double(out, h.sum());
        out += '\n';
        // _count equals the +Inf bucket even while observations race the scrape.
        append_series_name(out, f.name, "_count", s.labels);
        out += ' ';
        out += std::to_string(cumulative);
        out += '\n';
      }
    }
  }
  return out;
}

// An interned (op, code) pair and its two series. Immutable once published.
struct RequestMetrics::Entry {
  std::string op;
  std::string code;
  size_t hash;
  Counter* requests;
  Histogram* duration;
};

namespace {

size_t pair_hash(std::string_view op, std::string_view code) {
  size_t h1 = std::hash<std::string_view>{}(op);
  size_t h2 = std::hash<std::string_view>{}(code);
  return h1 ^ (h2 + 0x9e3779b97f4a7c15ULL + (h1 << 6) + (h1 >> 2));
}

constexpr std::string_view kRequestsHelp = "Requests handled, by operation and result code.";
constexpr std::string_view kDurationHelp =
    "Request handling time in seconds, by operation and result code.";

}  // namespace

RequestMetrics::RequestMetrics(Metrics& metrics)
    : metrics_(metrics), slots_(new std::atomic<const Entry*>[kSlots]()) {}

RequestMetrics::~RequestMetrics() = default;

const RequestMetrics::Entry* RequestMetrics::find(std::string_view op, std::string_view code,
                                                  size_t hash) const {
  for (size_t i = 0, slot = hash % kSlots; i < kSlots; ++i, slot = (slot + 1) % kSlots) {
    const Entry* e = slots_[slot].load(std::memory_order_acquire);
    if (e == nullptr) return nullptr;
    if (e->hash == hash && e->op == op && e->code == code) return e;
  }
  return nullptr;
}

void RequestMetrics::record(std::string_view op, std::string_view code, double seconds) {
  const size_t hash = pair_hash(op, code);
  const Entry* e = find(op, code, hash);
  if (e == nullptr) {
    std::lock_guard lock(mu_);
    e = find(op, code, hash);
    if (e == nullptr && entries_.size() < kCachedPairsMax) {
      Labels labels = {{"op", std::string(op)}, {"code", std::string(code)}};
      auto entry = std::make_unique<Entry>(Entry{
          std::string(op), std::string(code), hash,
          &metrics_.counter(kRequestsName, kRequestsHelp, labels),
          &metrics_.histogram(kDurationName, kDurationHelp, labels, default_latency_buckets())});
      size_t slot = hash % kSlots;
      while (slots_[slot].load(std::memory_order_relaxed) != nullptr) slot = (slot + 1) % kSlots;
      e = entry.get();
      slots_[slot].store(e, std::memory_order_release);
      entries_.push_back(std::move(entry));
    }
  }
  if (e != nullptr) {
    e->requests->inc();
    e->duration->observe(seconds);
    return;
  }
  // Cache full: a cardinality this high is a labelling bug, but still count it.
  Labels labels = {{"op", std::string(op)}, {"code", std::string(code)}};
  metrics_.counter(kRequestsName, kRequestsHelp, labels).inc();
  metrics_.histogram(kDurationName, kDurationHelp, labels, default_latency_buckets())
      .observe(seconds);
}

RequestTimer::RequestTimer(RequestMetrics& metrics, std::string_view op)
    : metrics_(metrics), op_(op), start_(std::chrono::steady_clock::now()) {}

RequestTimer::~RequestTimer() { finish(kAbortedCode); }

void RequestTimer::finish(std::string_view code) {
  if (finished_) return;
  finished_ = true;
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  metrics_.record(op_, code, elapsed.count());
}

}  // namespace tessera
