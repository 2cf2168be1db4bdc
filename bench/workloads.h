#pragma once
// The named workloads of tessera_bench. Each creates its objects under
// `base_dir` (a directory unique to the run), measures, and adds its figures
// to the report. A failed call ends the workload with that call's Status:
// a benchmark that hides errors measures nothing.

#include <cstdint>
#include <string>

#include "bench/bench_common.h"

namespace tessera::bench {

// files: one file written through one Files.Write stream in messages of
// `message_bytes` (the server acknowledges once all is durable), then read
// back through one Files.Read stream, checking every message's offset stamp.
// With drop_caches (root, server on this machine) the kernel page cache is
// dropped before the read, so the read comes from the disk.
struct FilesOptions {
  uint64_t file_bytes = 1 * kGiB;
  uint64_t message_bytes = 1 * kMiB;
  bool drop_caches = false;
};
Status run_files(Target& target, const std::string& base_dir, const FilesOptions& opts, Report& report);

// tables: `rows` durable Tables.Put of `document_bytes` JSON documents under
// 16-byte keys from `threads` clients (keys in a scrambled order), then
// uniformly random Tables.Get from `threads` clients for `get_seconds`, or
// `get_ops` calls when non-zero.
struct TablesOptions {
  uint64_t rows = 1'000'000;
  uint64_t document_bytes = 1 * kKiB;
  int threads = 16;
  double get_seconds = 30;
  uint64_t get_ops = 0;
};
Status run_tables(Target& target, const std::string& base_dir, const TablesOptions& opts, Report& report);

// streams: `producers` clients produce `total_bytes` of `record_bytes`
// records in Produce calls of `batch_records` (producer i writes partition
// i % partitions), then `consumers` clients (0 = one per partition) fetch
// every partition from offset 0 to its end with Fetch(max_bytes).
struct StreamsOptions {
  uint64_t total_bytes = 512 * kMiB;
  uint64_t record_bytes = 1 * kKiB;
  int batch_records = 100;
  int producers = 4;
  int partitions = 4;
  int consumers = 0;
  uint32_t fetch_max_bytes = 4 * kMiB;
};
Status run_streams(Target& target, const std::string& base_dir, const StreamsOptions& opts, Report& report);

}  // namespace tessera::bench
