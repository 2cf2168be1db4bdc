// tesserad: a Tessera node. With no arguments it is a complete one-node
// cluster: data under the default data directory, every endpoint on its
// default port on 127.0.0.1.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <pthread.h>

#include "client/credentials.h"
#include "node/node.h"

int main(int argc, char** argv) {
  tessera::node::NodeOptions opts;
  CLI::App app{"tesserad: a Tessera node (files, tables and streams in one namespace)"};
  app.add_option("--data-dir", opts.data_dir,
                 "Where data lives (default: $TESSERA_DATA_DIR, $XDG_DATA_HOME/tessera or "
                 "~/.local/share/tessera)");
  app.add_option("--grpc-addr", opts.grpc_addr, "Native API (gRPC) listen address")
      ->capture_default_str();
  app.add_option("--http-addr", opts.http_addr, "Admin HTTP listen address (/healthz, /metrics)")
      ->capture_default_str();
  app.add_option("--retention-interval-ms", opts.retention_interval_ms,
                 "How often stream retention runs")
      ->capture_default_str();
  app.add_option("--join", opts.join,
                 "gRPC address (host:port) of any member of a cluster to join; first start only");
  std::string labels;
  app.add_option("--node-labels", labels, "Placement labels, e.g. zone=a,rack=r1");
  app.add_option("--node-dead-after-ms", opts.node_dead_after_ms,
                 "A node silent this long has its replicas re-created elsewhere")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", opts.heartbeat_ms, "How often a node reports to the meta leader")
      ->capture_default_str();
  app.add_option("--recovery-rate-mib", opts.recovery_rate_mib,
                 "MiB/s this node's snapshot streams (re-replication, new replicas) may use "
                 "together, leaving the rest of the disk to foreground writes; 0 = unlimited")
      ->capture_default_str();
  app.add_option("--tablet-split-mib", opts.tablet_split_mib,
                 "A table's tablet (one key range, one raft shard) splits in two past this size")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  app.add_option("--file-data-shards", opts.file_data_shards,
                 "File data shards of each new volume (the root volume at bootstrap): one "
                 "volume's file bytes spread over them and the nodes leading them; 0 keeps "
                 "them in the volume's own shard")
      ->check(CLI::Range(0u, 64u))
      ->capture_default_str();
  app.add_option("--kafka-addr", opts.kafka_addr,
                 "Kafka wire-protocol listen address (\"\" turns the Kafka gateway off)")
      ->capture_default_str();
  app.add_option("--kafka-advertised-addr", opts.kafka_advertised_addr,
                 "host:port Kafka clients are told to connect to (default: the listen address)");
  app.add_option("--kafka-default-stream", opts.kafka_default_stream,
                 "Stream holding Kafka topics with plain names (\"/path:topic\" names any stream)")
      ->capture_default_str();
  app.add_option("--kafka-auto-create", opts.kafka_auto_create,
                 "Create topics (and their streams) when clients first ask for them")
      ->capture_default_str();
  app.add_option("--kafka-default-partitions", opts.kafka_default_partitions,
                 "Partitions of auto-created topics")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  app.add_option("--kafka-allow-anonymous", opts.kafka_allow_anonymous,
                 "Let Kafka clients that do not authenticate (SASL) act as user \"anonymous\"")
      ->capture_default_str();
  app.add_option("--kafka-group-initial-delay-ms", opts.kafka_initial_rebalance_delay_ms,
                 "How long a new consumer group waits for more members before its first rebalance")
      ->check(CLI::Range(0, 300000))
      ->capture_default_str();
  bool no_sync = false;
  app.add_flag("--unsafe-no-fsync", no_sync,
               "Acknowledge writes before they are fsync'd (benchmarks only: loses data on crash)");
  CLI11_PARSE(app, argc, argv);
  opts.sync = !no_sync;
  auto parsed = tessera::node::parse_labels(labels);
  if (!parsed.is_ok()) {
    std::fprintf(stderr, "tesserad: --node-labels: %s\n", parsed.status().message().c_str());
    return 2;
  }
  opts.labels = *parsed;

  if (opts.data_dir.empty()) {
    auto dir = tessera::client::default_data_dir(tessera::client::process_env());
    if (!dir.is_ok()) {
      std::fprintf(stderr, "tesserad: %s\n", dir.status().message().c_str());
      return 2;
    }
    opts.data_dir = *dir;
  }

  // Signals are taken by sigwait below, not by whichever thread they hit.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto node = tessera::node::Node::start(opts);
  if (!node.is_ok()) {
    std::fprintf(stderr, "tesserad: %s\n", node.status().message().c_str());
    return 1;
  }
  std::printf("tesserad: node %llu ready\n", static_cast<unsigned long long>((*node)->node_id()));
  std::printf("  data dir:    %s\n", opts.data_dir.c_str());
  std::printf("  gRPC:        %s\n", (*node)->grpc_address().c_str());
  std::printf("  admin HTTP:  http://%s\n", (*node)->http_address().c_str());
  std::printf("  credentials: %s\n", (*node)->admin_credentials_path().c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&set, &sig);
  std::printf("tesserad: signal %d, shutting down\n", sig);
  std::fflush(stdout);
  (*node)->stop();
  return 0;
}
