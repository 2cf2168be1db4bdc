#!/usr/bin/python3
"""Tablet split under load: three tesserad processes (RF 3) with a small
--tablet-split-mib; writer threads put rows of DOC_KIB KiB with random keys
until the table has split SPLITS times and settled; prints, as Markdown, how
long each split took (from the node logs' "splitting at" to "done"), the put
latency percentiles overall and while a split ran, the longest single put
(a put to the moving half waits for the copy), and failed puts (must be 0).

Usage (release binaries; Debian's interpreter):
  TESSERAD=build/release/src/node/tesserad TESSERA_CLI=build/release/src/cli/tessera \\
  TESSERA_PYGEN=build/release/tests/pygen SPLIT_MIB=32 /usr/bin/python3 bench/split.py
Environment: SPLIT_MIB (32), DOC_KIB (16), WRITERS (4), SPLITS (3).
Everything started is stopped on exit.
"""

import json
import os
import random
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cluster"))
import cluster_harness as ch  # noqa: E402

SPLIT_MIB = int(os.environ.get("SPLIT_MIB", "32"))
DOC_KIB = int(os.environ.get("DOC_KIB", "16"))
WRITERS = int(os.environ.get("WRITERS", "4"))
SPLITS = int(os.environ.get("SPLITS", "3"))
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\]")


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def log_times(cluster, pattern):
    """Wall-clock times (epoch s) of log lines matching `pattern`, all nodes."""
    out = []
    for n in cluster.nodes:
        with open(n.log_path, errors="replace") as f:
            for line in f:
                if re.search(pattern, line):
                    m = STAMP.match(line)
                    if m:
                        out.append(time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%d %H:%M:%S"))
                                   + int(m.group(1)[20:]) / 1000)
    return sorted(out)


def main():
    c = ch.Cluster.start(3, node_args=["--tablet-split-mib", str(SPLIT_MIB)], name="split")
    try:
        c.wait_healthy(3)
        table = "/bench-split"
        c.nodes[0].client().create_table(table)
        stop = threading.Event()
        calls, failures = [], []  # (start epoch s, seconds)
        lock = threading.Lock()
        doc = json.dumps({"pad": "x" * (DOC_KIB * 1024)})

        def writer(i):
            cl = c.nodes[i % 3].client()
            r = random.Random(i)
            while not stop.is_set():
                key = b"%016x" % r.getrandbits(64)
                t0 = time.time()
                try:
                    cl.put_row(table, key, doc)
                    with lock:
                        calls.append((t0, time.time() - t0))
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    failures.append(str(exc)[:200])

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
        t_start = time.time()
        for t in threads:
            t.start()
        want = SPLITS + 1
        deadline = time.time() + 600
        while time.time() < deadline:
            doc_h = c.health()
            tablets = [s for s in doc_h["shards"] if s.get("kind") == "tablet"] if doc_h else []
            if len(tablets) >= want and len(log_times(c, r"split at .* done")) >= SPLITS:
                break
            time.sleep(0.5)
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.time() - t_start
        starts = log_times(c, r"splitting at")
        ends = log_times(c, r"split at .* done")
        spans = list(zip(starts, ends))
        during = [d for (t0, d) in calls if any(s <= t0 <= e for s, e in spans)]
        lat = [d for _, d in calls]
        mib = len(calls) * DOC_KIB / 1024
        print(f"| split size | {SPLIT_MIB} MiB |\n|---|---|")
        print(f"| rows | {DOC_KIB} KiB documents, random keys, {WRITERS} writers |")
        print(f"| written | {mib:.0f} MiB in {elapsed:.1f} s ({len(calls) / elapsed:.0f} puts/s) |")
        print(f"| splits | {len(spans)}: " + ", ".join(f"{e - s:.2f} s" for s, e in spans) + " |")
        print(f"| put p50 / p99, all | {pct(lat, 50) * 1000:.1f} / {pct(lat, 99) * 1000:.1f} ms |")
        print(f"| put p50 / p99, during splits | {pct(during, 50) * 1000:.1f} / {pct(during, 99) * 1000:.1f} ms ({len(during)} puts) |")
        print(f"| longest put | {max(lat) * 1000:.0f} ms |")
        print(f"| failed puts | {len(failures)} |")
        if failures:
            print("failures:", failures[:3], file=sys.stderr)
            return 1
        return 0
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
