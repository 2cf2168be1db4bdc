// kafka_bench: Kafka produce/consume throughput and produce latency through
// librdkafka (the C API), against any Kafka-protocol broker (tesserad's
// --kafka-addr, or Kafka itself). bench/kafka.sh drives it; see
// docs/BENCHMARKS.md.
//
//   kafka_bench produce -b H:P[,H:P..] -t TOPIC -p 3 -n 1000000 -s 1024
//       creates TOPIC (admin CreateTopics, -p partitions, --replication-factor)
//       unless it exists, then produces -n messages of -s random bytes,
//       round robin over the partitions, acks=all, as fast as the producer
//       queue allows (or until --max-seconds). Latency = produce() call to
//       delivery report.
//   kafka_bench produce --rate R ...
//       the same, paced at R messages/s (latency p50/p99/p999; also measured
//       from each message's scheduled send time, *_sched_us, which counts
//       any time the paced loop fell behind).
//   kafka_bench consume -b .. -t TOPIC
//       assigns every partition of TOPIC from its low watermark and reads up
//       to the high watermark taken at start (the whole topic).
//
// Prints ONE line of key=value pairs on stdout, e.g.
//   mode=produce partitions=3 size=1024 msgs=1000000 secs=12.3 msgs_per_s=81300 mib_per_s=79.4 p50_us=.. p99_us=..
// Progress (one line a second) and librdkafka's logs go to stderr.
// --stats FILE appends librdkafka's statistics JSON (one document a second).
// Exit status: 0 ok; 1 setup failed or messages failed / went missing
// (the line is still printed, with errors=N); 2 usage.

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Options {
  std::string mode;
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "kafka-bench";
  int partitions = 3;
  int replication = 3;
  int64_t count = 1000000;
  int size = 1024;
  double max_seconds = 60;
  double rate = 0;  // messages/s; 0 = as fast as possible
  std::string acks = "all";
  double linger_ms = 5;
  int batch_size = 1 << 20;
  int batch_messages = 10000;
  int queue_messages = 100000;
  int message_timeout_ms = 60000;
  double flush_seconds = 120;
  std::string compression = "none";
  bool idempotent = false;
  bool progress = true;
  std::string stats_path;
  std::vector<std::string> props;  // -X key=value, applied last
};

std::FILE* g_stats = nullptr;

int stats_cb(rd_kafka_t*, char* json, size_t len, void*) {
  if (g_stats) {
    std::fwrite(json, 1, len, g_stats);
    std::fputc('\n', g_stats);
    std::fflush(g_stats);
  }
  return 0;  // librdkafka frees json
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "kafka_bench: %s\n", msg.c_str());
  std::exit(1);
}

void set(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    die("config " + k + "=" + v + ": " + err);
  }
}

rd_kafka_conf_t* base_conf(const Options& o) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o.bootstrap);
  set(conf, "client.id", "kafka_bench");
  if (!o.stats_path.empty()) {
    g_stats = std::fopen(o.stats_path.c_str(), "a");
    if (!g_stats) die("cannot open " + o.stats_path);
    set(conf, "statistics.interval.ms", "1000");
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
  }
  return conf;
}

void apply_props(rd_kafka_conf_t* conf, const Options& o) {
  for (const auto& kv : o.props) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) die("-X wants key=value, not " + kv);
    set(conf, kv.substr(0, eq), kv.substr(eq + 1));
  }
}

int64_t pct(std::vector<int64_t>& v, double p) {  // nearest rank, v sorted
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

// Partitions of `topic` and whether each has a leader; -1 when the topic is
// not in the metadata. all_topics=1 so that asking never auto-creates it.
int topic_partitions(rd_kafka_t* rk, const std::string& topic, bool* all_led, std::string* why,
                     std::string* leaders) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, 10000);
  if (err) {
    *why = std::string("metadata: ") + rd_kafka_err2str(err);
    return -1;
  }
  int n = -1;
  *all_led = true;
  for (int i = 0; i < md->topic_cnt; i++) {
    const auto& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err) {
      *why = std::string("topic error: ") + rd_kafka_err2str(t.err);
      break;
    }
    n = t.partition_cnt;
    leaders->clear();
    for (int p = 0; p < t.partition_cnt; p++) {
      if (t.partitions[p].leader < 0 || t.partitions[p].err) *all_led = false;
      *leaders += (p ? "," : "") + std::to_string(t.partitions[p].leader);
    }
  }
  if (n < 0 && why->empty()) *why = "not in metadata";
  rd_kafka_metadata_destroy(md);
  return n;
}

// The leader of each partition now (for the result line: did leadership move during the run?).
std::string leaders_now(rd_kafka_t* rk, const std::string& topic) {
  bool led = false;
  std::string why, leaders;
  if (topic_partitions(rk, topic, &led, &why, &leaders) < 0) return "?";
  return leaders;
}

// Waits until the topic shows up with every partition led; returns its
// partition count. *leaders: the leader (broker id) of each partition.
int wait_topic(rd_kafka_t* rk, const std::string& topic, double seconds, std::string* leaders) {
  const int64_t end = now_ns() + static_cast<int64_t>(seconds * 1e9);
  std::string why;
  for (;;) {
    bool led = false;
    why.clear();
    int n = topic_partitions(rk, topic, &led, &why, leaders);
    if (n > 0 && led) return n;
    if (n > 0) why = "a partition has no leader";
    if (now_ns() > end) die("topic " + topic + " not ready after " + std::to_string(seconds) + " s: " + why);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// CreateTopics through the admin API; an existing topic is fine (its
// partition count is checked by the caller).
void create_topic(rd_kafka_t* rk, const Options& o) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, o.replication, err, sizeof err);
  if (!nt) die(std::string("NewTopic: ") + err);
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(ao, 30000, err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(ao, 60000, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 70000);
  if (!ev) die("CreateTopics: no answer in 70 s");
  if (rd_kafka_event_error(ev)) die(std::string("CreateTopics: ") + rd_kafka_event_error_string(ev));
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; i++) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
    if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      std::fprintf(stderr, "kafka_bench: topic %s exists\n", o.topic.c_str());
    } else if (e) {
      const char* s = rd_kafka_topic_result_error_string(tr[i]);
      die("CreateTopics " + o.topic + ": " + rd_kafka_err2str(e) + (s ? std::string(" (") + s + ")" : ""));
    } else {
      std::fprintf(stderr, "kafka_bench: created topic %s, %d partitions, replication factor %d\n", o.topic.c_str(),
                   o.partitions, o.replication);
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
}

// ---------------------------------------------------------------- produce

struct ProduceState {
  std::vector<int64_t> sent_ns;   // produce() call, per message index
  std::vector<int64_t> sched_ns;  // scheduled send time (paced mode only)
  std::vector<int64_t> lat_ns;    // produce() -> delivery report, delivered messages
  std::vector<int64_t> lat_sched_ns;
  int64_t delivered = 0;
  int64_t errors = 0;
  int64_t last_delivery_ns = 0;
  std::map<std::string, int64_t> error_kinds;
};

void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<ProduceState*>(opaque);
  const int64_t now = now_ns();
  const auto idx = reinterpret_cast<uintptr_t>(m->_private);
  if (m->err) {
    if (st->errors++ < 5) {
      std::fprintf(stderr, "kafka_bench: delivery of message %zu to partition %d failed: %s\n",
                   static_cast<size_t>(idx), m->partition, rd_kafka_err2str(m->err));
    }
    st->error_kinds[rd_kafka_err2name(m->err)]++;
    return;
  }
  st->delivered++;
  st->last_delivery_ns = now;
  st->lat_ns.push_back(now - st->sent_ns[idx]);
  if (!st->sched_ns.empty()) st->lat_sched_ns.push_back(now - st->sched_ns[idx]);
}

int produce(const Options& o) {
  rd_kafka_conf_t* conf = base_conf(o);
  char err[512];
  set(conf, "acks", o.acks);
  set(conf, "linger.ms", std::to_string(o.linger_ms));
  set(conf, "batch.size", std::to_string(o.batch_size));
  set(conf, "batch.num.messages", std::to_string(o.batch_messages));
  // A produce request carries one batch: let it be as large as batch.size.
  set(conf, "message.max.bytes", std::to_string(std::max(1000000, o.batch_size + 65536)));
  set(conf, "queue.buffering.max.messages", std::to_string(o.queue_messages));
  set(conf, "queue.buffering.max.kbytes", std::to_string(2 * 1024 * 1024));
  set(conf, "message.timeout.ms", std::to_string(o.message_timeout_ms));
  set(conf, "compression.codec", o.compression);
  set(conf, "enable.idempotence", o.idempotent ? "true" : "false");
  auto* st = new ProduceState;
  rd_kafka_conf_set_opaque(conf, st);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  apply_props(conf, o);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) die(std::string("producer: ") + err);

  create_topic(rk, o);
  std::string leaders;
  const int parts = wait_topic(rk, o.topic, 60, &leaders);
  if (parts != o.partitions) {
    std::fprintf(stderr, "kafka_bench: topic %s has %d partitions, not %d; producing to all %d\n", o.topic.c_str(),
                 parts, o.partitions, parts);
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);

  // 256 distinct incompressible payloads, kept alive until the end (no copy per message).
  constexpr int kPayloads = 256;
  std::vector<std::string> payloads(kPayloads);
  std::mt19937_64 rng(42);
  for (auto& p : payloads) {
    p.resize(static_cast<size_t>(o.size));
    for (auto& c : p) c = static_cast<char>(rng());
  }

  const int64_t n = o.count;
  st->sent_ns.assign(static_cast<size_t>(n), 0);
  if (o.rate > 0) st->sched_ns.assign(static_cast<size_t>(n), 0);
  st->lat_ns.reserve(static_cast<size_t>(n));
  if (o.rate > 0) st->lat_sched_ns.reserve(static_cast<size_t>(n));

  const int64_t start = now_ns();
  const int64_t stop_at = start + static_cast<int64_t>(o.max_seconds * 1e9);
  const double ns_per_msg = o.rate > 0 ? 1e9 / o.rate : 0;
  int64_t i = 0, queue_full = 0, next_progress = start + 1000000000LL, last_progress_delivered = 0;
  int64_t max_behind_ns = 0;
  bool timed_out = false;
  auto progress = [&](int64_t now) {
    if (!o.progress || now < next_progress) return;
    std::fprintf(stderr,
                 "kafka_bench: t=%.1fs produced=%" PRId64 " delivered=%" PRId64 " (+%" PRId64
                 "/s) errors=%" PRId64 " outq=%d\n",
                 (now - start) / 1e9, i, st->delivered, st->delivered - last_progress_delivered, st->errors,
                 rd_kafka_outq_len(rk));
    last_progress_delivered = st->delivered;
    next_progress += 1000000000LL;
  };

  while (i < n) {
    int64_t now = now_ns();
    progress(now);
    if (now >= stop_at) {
      timed_out = true;
      break;
    }
    int64_t due = n;
    if (o.rate > 0) {
      due = std::min<int64_t>(n, static_cast<int64_t>((now - start) / ns_per_msg) + 1);
      if (i >= due) {
        rd_kafka_poll(rk, 0);
        const int64_t next = start + static_cast<int64_t>(i * ns_per_msg);
        const int64_t wait = std::min<int64_t>(next - now_ns(), 200000);
        if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        continue;
      }
    }
    // Send what is due (at most 1000 before polling again).
    for (int k = 0; k < 1000 && i < due; k++) {
      const int64_t t = now_ns();
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(static_cast<int32_t>(i % parts)),
          RD_KAFKA_V_VALUE(payloads[static_cast<size_t>(i % kPayloads)].data(), static_cast<size_t>(o.size)),
          RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(i))),
          RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        queue_full++;
        rd_kafka_poll(rk, 1);
        break;
      }
      if (e) die(std::string("produce: ") + rd_kafka_err2str(e));
      st->sent_ns[static_cast<size_t>(i)] = t;
      if (o.rate > 0) {
        const int64_t sched = start + static_cast<int64_t>(i * ns_per_msg);
        st->sched_ns[static_cast<size_t>(i)] = sched;
        max_behind_ns = std::max(max_behind_ns, t - sched);
      }
      i++;
    }
    rd_kafka_poll(rk, 0);
  }
  const int64_t produced = i;
  const int64_t produce_end = now_ns();
  // Flush: wait for every delivery report.
  const int64_t flush_end = produce_end + static_cast<int64_t>(o.flush_seconds * 1e9);
  while (rd_kafka_outq_len(rk) > 0 && now_ns() < flush_end) {
    rd_kafka_poll(rk, 100);
    progress(now_ns());
  }
  const int undelivered = rd_kafka_outq_len(rk);
  if (undelivered > 0) {
    std::fprintf(stderr, "kafka_bench: %d messages still undelivered %.0f s after the last produce()\n", undelivered,
                 o.flush_seconds);
  }

  const double secs = (std::max(st->last_delivery_ns, start + 1) - start) / 1e9;
  const double mps = st->delivered / secs;
  std::sort(st->lat_ns.begin(), st->lat_ns.end());
  auto us = [](int64_t ns) { return static_cast<long long>(ns / 1000); };
  std::string kinds;
  for (const auto& [k, v] : st->error_kinds) kinds += (kinds.empty() ? "" : ",") + k + ":" + std::to_string(v);
  std::printf("mode=produce topic=%s partitions=%d leaders=%s size=%d acks=%s linger_ms=%g batch_size=%d", o.topic.c_str(),
              parts, leaders.c_str(), o.size, o.acks.c_str(), o.linger_ms, o.batch_size);
  if (o.rate > 0) std::printf(" target_rate=%.0f", o.rate);
  std::printf(" produced=%" PRId64 " msgs=%" PRId64 " secs=%.2f msgs_per_s=%.0f mib_per_s=%.1f", produced,
              st->delivered, secs, mps, mps * o.size / 1048576.0);
  std::printf(" p50_us=%lld p99_us=%lld p999_us=%lld max_us=%lld", us(pct(st->lat_ns, 50)), us(pct(st->lat_ns, 99)),
              us(pct(st->lat_ns, 99.9)), us(st->lat_ns.empty() ? 0 : st->lat_ns.back()));
  if (o.rate > 0) {
    std::sort(st->lat_sched_ns.begin(), st->lat_sched_ns.end());
    std::printf(" p50_sched_us=%lld p99_sched_us=%lld p999_sched_us=%lld max_behind_us=%lld",
                us(pct(st->lat_sched_ns, 50)), us(pct(st->lat_sched_ns, 99)), us(pct(st->lat_sched_ns, 99.9)),
                us(max_behind_ns));
  }
  std::printf(" queue_full=%" PRId64 " errors=%" PRId64 " undelivered=%d stopped_by_time=%d leaders_end=%s", queue_full,
              st->errors, undelivered, timed_out ? 1 : 0, leaders_now(rk, o.topic).c_str());
  if (!kinds.empty()) std::printf(" error_kinds=%s", kinds.c_str());
  std::printf("\n");
  std::fflush(stdout);

  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return (st->errors > 0 || undelivered > 0 || st->delivered == 0) ? 1 : 0;
}

// ---------------------------------------------------------------- consume

int consume(const Options& o) {
  rd_kafka_conf_t* conf = base_conf(o);
  char err[512];
  set(conf, "group.id", "kafka_bench-" + std::to_string(getpid()));
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.auto.offset.store", "false");
  set(conf, "enable.partition.eof", "true");
  set(conf, "auto.offset.reset", "earliest");
  apply_props(conf, o);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) die(std::string("consumer: ") + err);
  rd_kafka_poll_set_consumer(rk);

  std::string leaders;
  const int parts = wait_topic(rk, o.topic, 30, &leaders);
  std::vector<int64_t> lo(static_cast<size_t>(parts)), hi(static_cast<size_t>(parts));
  int64_t expect = 0;
  rd_kafka_topic_partition_list_t* assign = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++) {
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), p, &lo[static_cast<size_t>(p)], &hi[static_cast<size_t>(p)], 10000);
    if (e) die("watermarks of partition " + std::to_string(p) + ": " + rd_kafka_err2str(e));
    expect += hi[static_cast<size_t>(p)] - lo[static_cast<size_t>(p)];
    rd_kafka_topic_partition_list_add(assign, o.topic.c_str(), p)->offset = lo[static_cast<size_t>(p)];
  }
  if (o.count > 0 && o.count < expect) expect = o.count;
  std::fprintf(stderr, "kafka_bench: consuming %" PRId64 " messages from %d partitions\n", expect, parts);

  std::vector<bool> done(static_cast<size_t>(parts));
  int parts_done = 0;
  for (int p = 0; p < parts; p++) {
    if (hi[static_cast<size_t>(p)] <= lo[static_cast<size_t>(p)]) {
      done[static_cast<size_t>(p)] = true;
      parts_done++;
    }
  }
  const int64_t start = now_ns();
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, assign);
  if (e) die(std::string("assign: ") + rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(assign);

  const int64_t stop_at = start + static_cast<int64_t>(o.max_seconds * 1e9);
  int64_t got = 0, bytes = 0, errors = 0, bad_size = 0, last_ns = start, next_progress = start + 1000000000LL,
          last_got = 0;
  bool timed_out = false;
  while (parts_done < parts && got < expect) {
    const int64_t now = now_ns();
    if (o.progress && now >= next_progress) {
      std::fprintf(stderr, "kafka_bench: t=%.1fs consumed=%" PRId64 " (+%" PRId64 "/s) of %" PRId64 "\n",
                   (now - start) / 1e9, got, got - last_got, expect);
      last_got = got;
      next_progress += 1000000000LL;
    }
    if (now >= stop_at) {
      timed_out = true;
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    const auto p = static_cast<size_t>(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (p < done.size() && !done[p] && m->offset >= hi[p]) {
        done[p] = true;
        parts_done++;
      }
    } else if (m->err) {
      if (errors++ < 5) std::fprintf(stderr, "kafka_bench: consume error: %s\n", rd_kafka_message_errstr(m));
    } else {
      got++;
      bytes += static_cast<int64_t>(m->len);
      if (static_cast<int>(m->len) != o.size && o.size > 0) bad_size++;
      last_ns = now_ns();
      if (p < done.size() && !done[p] && m->offset + 1 >= hi[p]) {
        done[p] = true;
        parts_done++;
      }
    }
    rd_kafka_message_destroy(m);
  }
  const double secs = (std::max(last_ns, start + 1) - start) / 1e9;
  std::printf("mode=consume topic=%s partitions=%d leaders=%s expected=%" PRId64 " msgs=%" PRId64
              " secs=%.2f msgs_per_s=%.0f mib_per_s=%.1f bad_size=%" PRId64 " errors=%" PRId64
              " complete=%d stopped_by_time=%d leaders_end=%s\n",
              o.topic.c_str(), parts, leaders.c_str(), expect, got, secs, got / secs, bytes / secs / 1048576.0, bad_size, errors,
              got >= expect ? 1 : 0, timed_out ? 1 : 0, leaders_now(rk, o.topic).c_str());
  std::fflush(stdout);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return got >= expect && expect > 0 ? 0 : 1;
}

int create_only(const Options& o) {
  rd_kafka_conf_t* conf = base_conf(o);
  apply_props(conf, o);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) die(std::string("client: ") + err);
  create_topic(rk, o);
  std::string leaders;
  const int parts = wait_topic(rk, o.topic, 60, &leaders);
  std::printf("mode=create topic=%s partitions=%d leaders=%s\n", o.topic.c_str(), parts, leaders.c_str());
  rd_kafka_destroy(rk);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"kafka_bench: Kafka produce/consume throughput and produce latency through librdkafka"};
  app.add_option("mode", o.mode, "produce | consume | create")->required()->check(
      CLI::IsMember({"produce", "consume", "create"}));
  app.add_option("-b,--bootstrap", o.bootstrap, "bootstrap servers, H:P[,H:P...]")->capture_default_str();
  app.add_option("-t,--topic", o.topic, "topic")->capture_default_str();
  app.add_option("-p,--partitions", o.partitions, "partitions of the topic when it is created")->capture_default_str();
  app.add_option("--replication-factor", o.replication, "replication factor asked for when creating")
      ->capture_default_str();
  app.add_option("-n,--count", o.count, "messages to produce (consume: at most this many; 0 = the whole topic)")
      ->capture_default_str();
  app.add_option("-s,--size", o.size, "message value bytes (consume: expected size, 0 = any)")->capture_default_str();
  app.add_option("--max-seconds", o.max_seconds, "stop producing / consuming after this long")->capture_default_str();
  app.add_option("--rate", o.rate, "produce: pace at this many messages/s (0 = as fast as possible)")
      ->capture_default_str();
  app.add_option("--acks", o.acks, "acks (all, 1, 0)")->capture_default_str();
  app.add_option("--linger-ms", o.linger_ms, "linger.ms")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "batch.size (bytes per partition batch)")->capture_default_str();
  app.add_option("--batch-messages", o.batch_messages, "batch.num.messages")->capture_default_str();
  app.add_option("--queue-messages", o.queue_messages, "queue.buffering.max.messages (messages waiting in the client)")
      ->capture_default_str();
  app.add_option("--message-timeout-ms", o.message_timeout_ms, "message.timeout.ms")->capture_default_str();
  app.add_option("--flush-seconds", o.flush_seconds, "wait this long for delivery reports after the last produce()")
      ->capture_default_str();
  app.add_option("--compression", o.compression, "compression.codec")->capture_default_str();
  app.add_flag("--idempotent", o.idempotent, "enable.idempotence=true");
  app.add_flag("!--no-progress", o.progress, "no progress lines on stderr");
  app.add_option("--stats", o.stats_path, "append librdkafka statistics JSON (every second) to this file");
  app.add_option("-X", o.props, "librdkafka property key=value (repeatable; applied last)");
  CLI11_PARSE(app, argc, argv);
  if (o.mode == "consume" && app.count("-n") == 0) o.count = 0;  // the whole topic
  if (o.size < 0 || o.partitions < 1 || o.count < 0 || (o.mode == "produce" && o.count == 0)) {
    std::fprintf(stderr, "kafka_bench: bad --size/--partitions/--count\n");
    return 2;
  }
  std::fprintf(stderr, "kafka_bench: librdkafka %s\n", rd_kafka_version_str());
  int rc = 0;
  if (o.mode == "produce") rc = produce(o);
  else if (o.mode == "consume") rc = consume(o);
  else rc = create_only(o);
  if (g_stats) std::fclose(g_stats);
  return rc;
}
