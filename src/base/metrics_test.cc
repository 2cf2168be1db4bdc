#include "base/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace tessera {
namespace {

TEST(Metrics, RendersCounter) {
  Metrics m;
  m.counter("tessera_writes_total", "Writes accepted.").inc(3);
  EXPECT_EQ(m.render(),
            "# HELP tessera_writes_total Writes accepted.\n"
            "# TYPE tessera_writes_total counter\n"
            "tessera_writes_total 3\n");
}

TEST(Metrics, RendersLabelledGaugeSortedAndEscaped) {
  Metrics m;
  m.gauge("tessera_open_files", "Open files.\nPer volume \\ shard.",
          {{"volume", "b"}, {"shard", "1"}})
      .set(2.5);
  m.gauge("tessera_open_files", "ignored", {{"volume", "a\"q\\\n"}, {"shard", "1"}}).add(-1);
  EXPECT_EQ(m.render(),
            "# HELP tessera_open_files Open files.\\nPer volume \\\\ shard.\n"
            "# TYPE tessera_open_files gauge\n"
            "tessera_open_files{shard=\"1\",volume=\"a\\\"q\\\\\\n\"} -1\n"
            "tessera_open_files{shard=\"1\",volume=\"b\"} 2.5\n");
}

TEST(Metrics, RendersHistogramCumulative) {
  Metrics m;
  Histogram& h = m.histogram("tessera_op_seconds", "Op time.", {{"op", "read"}}, {0.1, 1, 2.5});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.7);
  h.observe(30);
  EXPECT_EQ(m.render(),
            "# HELP tessera_op_seconds Op time.\n"
            "# TYPE tessera_op_seconds histogram\n"
            "tessera_op_seconds_bucket{op=\"read\",le=\"0.1\"} 2\n"
            "tessera_op_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
            "tessera_op_seconds_bucket{op=\"read\",le=\"2.5\"} 3\n"
            "tessera_op_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
            "tessera_op_seconds_sum{op=\"read\"} 30.85\n"
            "tessera_op_seconds_count{op=\"read\"} 4\n");
}

TEST(Metrics, HistogramWithoutLabelsAndNaN) {
  Metrics m;
  Histogram& h = m.histogram("x_seconds", "X.", {}, {1});
  h.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.bucket_count(0), 0u);
  EXPECT_EQ(h.bucket_count(1), 1u);
  EXPECT_EQ(m.render(),
            "# HELP x_seconds X.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"1\"} 0\n"
            "x_seconds_bucket{le=\"+Inf\"} 1\n"
            "x_seconds_sum NaN\n"
            "x_seconds_count 1\n");
}

TEST(Metrics, FamiliesSortedByName) {
  Metrics m;
  m.counter("b_total", "B.").inc();
  m.counter("a_total", "A.");
  EXPECT_EQ(m.render(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
            "# HELP b_total B.\n# TYPE b_total counter\nb_total 1\n");
}

TEST(Metrics, SameNameAndLabelsIsSameSeries) {
  Metrics m;
  Counter& a = m.counter("c_total", "C.", {{"x", "1"}, {"y", "2"}});
  Counter& b = m.counter("c_total", "C.", {{"y", "2"}, {"x", "1"}});
  Counter& other = m.counter("c_total", "C.", {{"x", "1"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  Histogram& h1 = m.histogram("h", "H.", {}, {1, 2});
  Histogram& h2 = m.histogram("h", "H.", {}, {1, 2});
  EXPECT_EQ(&h1, &h2);
}

TEST(Metrics, GaugeFnEvaluatedAtRenderAndReplaceable) {
  Metrics m;
  double depth = 7;
  m.gauge_fn("queue_depth", "Depth.", {{"q", "raft"}}, [&] { return depth; });
  EXPECT_EQ(m.render(),
            "# HELP queue_depth Depth.\n# TYPE queue_depth gauge\nqueue_depth{q=\"raft\"} 7\n");
  depth = 0.25;
  EXPECT_NE(m.render().find("queue_depth{q=\"raft\"} 0.25\n"), std::string::npos);
  m.gauge_fn("queue_depth", "Depth.", {{"q", "raft"}}, [] { return 1.0; });
  EXPECT_NE(m.render().find("queue_depth{q=\"raft\"} 1\n"), std::string::npos);
}

TEST(Metrics, GaugeFnMayRegisterMetrics) {
  Metrics m;
  m.gauge_fn("reentrant", "R.", {}, [&m] {
    m.counter("created_by_fn_total", "C.").inc();
    return 1.0;
  });
  (void)m.render();  // must not deadlock
  EXPECT_EQ(m.counter("created_by_fn_total", "C.").value(), 1u);
}

TEST(Metrics, ConcurrentIncrementsSum) {
  Metrics m;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      // Half the threads look the series up each time, half keep the reference.
      Counter& c = m.counter("hits_total", "Hits.", {{"k", "v"}});
      Histogram& h = m.histogram("lat_seconds", "L.", {}, {0.5});
      Gauge& g = m.gauge("level", "G.");
      for (int i = 0; i < kPerThread; ++i) {
        if (t % 2 == 0 && i % 1000 == 0) {
          m.counter("hits_total", "Hits.", {{"k", "v"}}).inc();
        } else {
          c.inc();
        }
        h.observe(i % 2 == 0 ? 0.25 : 1.0);
        g.add(1);
      }
    });
  }
  std::thread scraper([&m] {
    for (int i = 0; i < 50; ++i) (void)m.render();
  });
  for (auto& th : threads) th.join();
  scraper.join();
  EXPECT_EQ(m.counter("hits_total", "Hits.", {{"k", "v"}}).value(),
            uint64_t{kThreads} * kPerThread);
  Histogram& h = m.histogram("lat_seconds", "L.", {}, {0.5});
  EXPECT_EQ(h.count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.bucket_count(0), uint64_t{kThreads} * kPerThread / 2);
  EXPECT_DOUBLE_EQ(h.sum(), kThreads * kPerThread * 0.625);
  EXPECT_DOUBLE_EQ(m.gauge("level", "G.").value(), double{kThreads} * kPerThread);
}

TEST(RequestMetrics, RecordsCounterAndHistogram) {
  Metrics m;
  RequestMetrics rm(m);
  {
    RequestTimer t(rm, "files.write");
    t.finish("ok");
    t.finish("ignored");
  }
  { RequestTimer t(rm, "files.write"); }  // destroyed unfinished
  rm.record("files.write", "ok", 0.003);

  Labels ok = {{"op", "files.write"}, {"code", "ok"}};
  EXPECT_EQ(m.counter("tessera_requests_total", "", ok).value(), 2u);
  EXPECT_EQ(
      m.counter("tessera_requests_total", "", {{"op", "files.write"}, {"code", "aborted"}}).value(),
      1u);
  Histogram& h = m.histogram("tessera_request_duration_seconds", "", ok, default_latency_buckets());
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.bounds().front(), 0.0001);
  EXPECT_EQ(h.bounds().back(), 10.0);
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE tessera_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("tessera_requests_total{code=\"ok\",op=\"files.write\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("tessera_request_duration_seconds_bucket{code=\"ok\",op=\"files.write\","
                      "le=\"0.005\"} 2\n"),
            std::string::npos);
}

TEST(RequestMetrics, ConcurrentRecordsAndCacheOverflow) {
  Metrics m;
  RequestMetrics rm(m);
  constexpr int kThreads = 4;
  constexpr int kOps = RequestMetrics::kCachedPairsMax + 100;  // overflows the cache
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&rm] {
      for (int round = 0; round < 3; ++round) {
        for (int op = 0; op < kOps; ++op) rm.record("op" + std::to_string(op), "ok", 0.001);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int op = 0; op < kOps; ++op) {
    Labels l = {{"op", "op" + std::to_string(op)}, {"code", "ok"}};
    ASSERT_EQ(m.counter("tessera_requests_total", "", l).value(), uint64_t{kThreads} * 3) << op;
  }
}

TEST(MetricsDeathTest, MisuseAsserts) {
  Metrics m;
  m.counter("dup", "D.");
  EXPECT_DEATH(m.gauge("dup", "D."), "two types");
  EXPECT_DEATH(m.counter("bad-name", "B."), "invalid metric name");
  EXPECT_DEATH(m.counter("c", "C.", {{"a", "1"}, {"a", "2"}}), "duplicate label");
  EXPECT_DEATH(m.histogram("h", "H.", {{"le", "1"}}, {1}), "reserved");
  EXPECT_DEATH(m.histogram("h2", "H.", {}, {2, 1}), "strictly increasing");
}

}  // namespace
}  // namespace tessera
