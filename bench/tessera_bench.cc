// tessera_bench: measures a running tesserad through its native gRPC API.
//
// Runs the named workloads (files, tables, streams; see bench/workloads.h)
// against --endpoint as the key in --credentials and prints one line per
// figure to stdout, as TSV: name<TAB>value<TAB>unit<TAB>details. --json
// also writes the figures to a file. Progress and errors go to stderr.
// Exit status: 0 all workloads succeeded, 1 a workload failed, 2 usage.

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "bench/workloads.h"
#include "client/units.h"

namespace tb = tessera::bench;
using tessera::Status;

namespace {

// Adds a size option ("1G", "512M", "4096"; binary units) that parses into `out`.
CLI::Option* add_size(CLI::App& app, const std::string& name, uint64_t& out, const std::string& help) {
  auto* opt = app.add_option_function<std::string>(
      name,
      [&out, name](const std::string& text) {
        auto v = tessera::client::parse_size(text);
        if (!v.is_ok()) throw CLI::ValidationError(name, v.status().message());
        out = *v;
      },
      help);
  opt->default_str(tessera::client::format_size(out));
  return opt;
}

// Sizes of --smoke: enough to exercise every call, seconds to run. Flags
// given explicitly win.
void apply_smoke(const CLI::App& app, tb::FilesOptions& f, tb::TablesOptions& t, tb::StreamsOptions& s) {
  auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  if (unset("--file-size")) f.file_bytes = 8 * tb::kMiB;
  if (unset("--rows")) t.rows = 2000;
  if (unset("--table-threads")) t.threads = 4;
  if (unset("--get-ops") && unset("--get-seconds")) t.get_ops = 2000;
  if (unset("--stream-size")) s.total_bytes = 4 * tb::kMiB;
  if (unset("--producers")) s.producers = 2;
  if (unset("--partitions")) s.partitions = 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tessera_bench: throughput and latency of a running tesserad (files, tables, streams)"};
  std::string endpoint, creds_path, json_path, base_dir;
  std::vector<std::string> workloads{"all"};
  bool smoke = false;
  int server_pid = 0;
  tb::FilesOptions files;
  tb::TablesOptions tables;
  tb::StreamsOptions streams;
  uint64_t fetch_max_bytes = streams.fetch_max_bytes;

  app.add_option("--endpoint", endpoint, "Server address (default: credentials file, $TESSERA_ENDPOINT, 127.0.0.1:7070)");
  app.add_option("--credentials", creds_path, "Credentials file (default: $TESSERA_CREDENTIALS, <data dir>/admin.credentials)");
  app.add_option("--workload,-w", workloads, "files, tables, streams or all (repeatable, comma-separated)")
      ->delimiter(',')->capture_default_str();
  app.add_flag("--smoke", smoke, "Tiny sizes (seconds): checks the harness, measures nothing");
  app.add_option("--server-pid", server_pid,
                 "tesserad's pid when on this machine: adds its CPU time and disk writes per phase");
  app.add_option("--json", json_path, "Also write the figures as JSON to this file");
  app.add_option("--base-dir", base_dir, "Directory for the bench's objects (default: /bench-<time>-<pid>)");
  add_size(app, "--file-size", files.file_bytes, "files: file size");
  app.add_flag("--drop-caches", files.drop_caches,
               "files: drop the page cache before the read (root; server on this machine)");
  add_size(app, "--file-message-size", files.message_bytes, "files: bytes per WriteRequest (<= 4M)");
  app.add_option("--rows", tables.rows, "tables: rows to put")->capture_default_str();
  add_size(app, "--doc-size", tables.document_bytes, "tables: JSON document size");
  app.add_option("--table-threads", tables.threads, "tables: concurrent clients (put and get)")->capture_default_str();
  app.add_option("--get-seconds", tables.get_seconds, "tables: duration of the random gets")->capture_default_str();
  app.add_option("--get-ops", tables.get_ops, "tables: number of gets instead of a duration (0 = use duration)")
      ->capture_default_str();
  add_size(app, "--stream-size", streams.total_bytes, "streams: total record bytes to produce");
  add_size(app, "--record-size", streams.record_bytes, "streams: record value size");
  app.add_option("--batch-records", streams.batch_records, "streams: records per Produce call")->capture_default_str();
  app.add_option("--producers", streams.producers, "streams: concurrent producers")->capture_default_str();
  app.add_option("--partitions", streams.partitions, "streams: topic partitions")->capture_default_str();
  app.add_option("--consumers", streams.consumers, "streams: concurrent consumers (0 = one per partition)")
      ->capture_default_str();
  add_size(app, "--fetch-max-bytes", fetch_max_bytes, "streams: Fetch max_bytes");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a ParseError that exits 0
  }

  if (smoke) apply_smoke(app, files, tables, streams);
  if (fetch_max_bytes == 0 || fetch_max_bytes > (64u << 20)) {
    std::fprintf(stderr, "tessera_bench: --fetch-max-bytes must be 1..64M\n");
    return 2;
  }
  streams.fetch_max_bytes = static_cast<uint32_t>(fetch_max_bytes);

  bool run_files = false, run_tables = false, run_streams = false;
  for (const auto& w : workloads) {
    if (w == "all") {
      run_files = run_tables = run_streams = true;
    } else if (w == "files") {
      run_files = true;
    } else if (w == "tables") {
      run_tables = true;
    } else if (w == "streams") {
      run_streams = true;
    } else {
      std::fprintf(stderr, "tessera_bench: unknown workload '%s' (files, tables, streams, all)\n", w.c_str());
      return 2;
    }
  }

  auto env = tessera::client::process_env();
  auto creds = tessera::client::find_credentials(creds_path, env);
  if (!creds.is_ok()) {
    std::fprintf(stderr, "tessera_bench: %s\n", creds.status().message().c_str());
    return 2;
  }
  if (!creds->has_value()) {
    std::fprintf(stderr, "tessera_bench: no credentials: pass --credentials or set TESSERA_CREDENTIALS\n");
    return 2;
  }
  const tessera::client::Credentials& c = **creds;
  tb::Target target(tessera::client::resolve_endpoint(endpoint, env, &c), c, server_pid);

  if (base_dir.empty()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
    base_dir = fmt::format("/bench-{}-{}", ms, getpid());
  }
  std::fprintf(stderr, "tessera_bench: %s, objects under %s\n", target.endpoint().c_str(), base_dir.c_str());

  tb::Report report;
  auto step = [&](const char* name, const std::string& dir, auto&& fn) {
    std::fprintf(stderr, "tessera_bench: %s ...\n", name);
    Status st = tb::make_dir(target, dir);
    if (st.is_ok()) st = fn(dir);
    if (!st.is_ok()) std::fprintf(stderr, "tessera_bench: %s failed: %s\n", name, st.to_string().c_str());
    return st.is_ok();
  };
  bool ok = true;
  if (ok && run_files) {
    ok = step("files", base_dir + "/files", [&](const std::string& d) { return tb::run_files(target, d, files, report); });
  }
  if (ok && run_tables) {
    ok = step("tables", base_dir + "/tables", [&](const std::string& d) { return tb::run_tables(target, d, tables, report); });
  }
  if (ok && run_streams) {
    ok = step("streams", base_dir + "/streams",
              [&](const std::string& d) { return tb::run_streams(target, d, streams, report); });
  }

  if (!json_path.empty()) {
    std::ofstream out(json_path, std::ios::trunc);
    out << report.json();
    if (!out.flush()) {
      std::fprintf(stderr, "tessera_bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return ok ? 0 : 1;
}
