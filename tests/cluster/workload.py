"""Concurrent writers for the failover tests, and the checks of what they
were told.

Each writer thread loops: pick a running node, issue one write with a fresh
identity (a new file path, a new row key, a new record value), remember it
only if the server acknowledged it. A failed or timed-out write is never
retried with the same identity: its outcome is unknown, so it may or may not
be present afterwards, but it must never be present twice or corrupt.

`Workload.verify()` then checks, through the nodes given:
  - every acknowledged file reads back byte for byte;
  - every acknowledged row is present with its document, version 1;
  - each stream partition's offsets run 0..end without a gap, each record
    value appears once, and every acknowledged record sits at the offset
    its acknowledgement gave.
"""

import collections
import hashlib
import json
import random
import threading
import time
import zlib

import grpc

import cluster_harness as ch
from cluster_harness import pb

WRITE_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
ERROR_BACKOFF_S = 0.1
FILE_BYTES_MAX = 48 * 1024


def file_bytes(writer, seq):
    size = 1 + zlib.crc32(b"size/%d/%d" % (writer, seq)) % FILE_BYTES_MAX
    return hashlib.shake_128(b"file/%d/%d" % (writer, seq)).digest(size)


def row_doc(writer, seq):
    return {"writer": writer, "seq": seq,
            "pad": hashlib.sha256(b"row/%d/%d" % (writer, seq)).hexdigest()}


def record_value(producer, seq):
    return b"p%d-s%d-" % (producer, seq) + hashlib.sha256(b"rec/%d/%d" % (producer, seq)).digest()


class Writer(threading.Thread):
    kind = "writer"

    def __init__(self, workload, index):
        super().__init__(name=f"{self.kind}{index}", daemon=True)
        self.w = workload
        self.index = index
        self.rng = random.Random(f"{workload.seed}/{self.kind}/{index}")
        self.seq = 0
        self.acked = []          # (monotonic time of the ack, identity, extra)
        self.errors = collections.Counter()
        self.failure = None      # an unexpected exception: the test fails
        self._clients = {}

    def client(self, node):
        c = self._clients.get(node.grpc_addr)
        if c is None:
            cr = self.w.cluster.creds
            c = ch.ClusterClient(node.grpc_addr, "admin", cr["key_id"], cr["secret"])
            self._clients[node.grpc_addr] = c
        return c

    def run(self):
        try:
            while not self.w.stop.is_set():
                live = self.w.cluster.running()
                if not live:
                    time.sleep(ERROR_BACKOFF_S)
                    continue
                node = self.rng.choice(live)
                seq = self.seq
                self.seq += 1
                try:
                    extra = self.step(self.client(node), seq)
                except grpc.RpcError as err:
                    kind = f"{err.code().name} errc={ch.errc(err)}"
                    self.errors[kind] += 1
                    self.w.note_error(node, kind, err)
                    time.sleep(ERROR_BACKOFF_S)
                    continue
                self.acked.append((time.monotonic(), seq, extra))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.failure = f"{self.name}: {type(exc).__name__}: {exc}"
        finally:
            for c in self._clients.values():
                c.close()

    def step(self, client, seq):
        raise NotImplementedError


class FileWriter(Writer):
    kind = "file"

    def path(self, seq):
        return f"{self.w.root}/files/w{self.index}-{seq}"

    def step(self, client, seq):
        data = file_bytes(self.index, seq)
        resp = client.files.Write(iter([pb.WriteRequest(path=self.path(seq), data=data,
                                                        create=True, truncate=True)]),
                                  timeout=WRITE_TIMEOUT_S)
        assert resp.bytes_written == len(data) and resp.size == len(data), \
            f"{self.path(seq)}: write of {len(data)} bytes acknowledged as {resp}"
        return None


class RowWriter(Writer):
    kind = "rows"

    def step(self, client, seq):
        resp = client.tables.Put(pb.PutRowRequest(
            path=self.w.table, key=b"w%d/%08d" % (self.index, seq),
            document=json.dumps(row_doc(self.index, seq))), timeout=WRITE_TIMEOUT_S)
        assert resp.version == 1, f"new row w{self.index}/{seq} acknowledged version {resp.version}"
        return None


class Producer(Writer):
    kind = "produce"

    def step(self, client, seq):
        resp = client.streams.Produce(pb.ProduceRequest(
            stream=self.w.stream, topic=self.w.topic, partition=self.index,
            records=[pb.Record(value=record_value(self.index, seq))]), timeout=WRITE_TIMEOUT_S)
        assert list(resp.partitions) == [self.index], f"produce to {self.index}: {resp}"
        assert len(resp.offsets) == 1, resp
        return resp.offsets[0]


class Workload:
    """File writers, row writers and producers (one partition each) under
    `root`, running until stop()."""

    def __init__(self, cluster, root="/load", files=2, rows=2, producers=2, seed=None):
        self.cluster = cluster
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.root = root
        self.table = f"{root}/table"
        self.stream = f"{root}/stream"
        self.topic = "t"
        self.partitions = producers
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.events = []          # (monotonic time, description)
        self.error_events = []    # (monotonic time, node id, kind, details)
        self.writers = ([FileWriter(self, i) for i in range(files)]
                        + [RowWriter(self, i) for i in range(rows)]
                        + [Producer(self, i) for i in range(producers)])

    def note_error(self, node, kind, err):
        with self._lock:
            self.error_events.append((time.monotonic(), node.id, kind, err.details()))

    def note(self, what):
        """Records a cluster event (a kill, a restart) for error reports."""
        with self._lock:
            self.events.append((time.monotonic(), what))

    def errors_of(self, kinds):
        """Error events whose kind starts with one of `kinds`, described
        relative to the cluster events before them."""
        out = []
        with self._lock:
            events = list(self.events)
            errors = [e for e in self.error_events if e[2].startswith(tuple(kinds))]
        for t, node_id, kind, details in errors:
            before = [f"{what} {t - te:.2f}s before" for te, what in events if te <= t][-2:]
            out.append(f"via node {node_id}: {kind} {details!r} ({'; '.join(before) or 'no event before'})")
        return out

    def setup(self, client):
        client.mkdir(self.root)
        client.mkdir(f"{self.root}/files")
        client.create_table(self.table)
        client.create_stream(self.stream, topic=self.topic, partitions=self.partitions)

    def start(self):
        for w in self.writers:
            w.start()

    def halt(self):
        self.stop.set()
        for w in self.writers:
            w.join(WRITE_TIMEOUT_S * 3)
        stuck = [w.name for w in self.writers if w.is_alive()]
        assert not stuck, f"writer threads did not stop: {stuck}"
        failures = [w.failure for w in self.writers if w.failure]
        assert not failures, "writers failed: " + "; ".join(failures)

    def acks_between(self, t0, t1):
        return sum(1 for w in self.writers for (t, _, _) in w.acked if t0 <= t <= t1)

    def summary(self):
        parts = []
        for w in self.writers:
            errs = ", ".join(f"{k}: {v}" for k, v in w.errors.most_common(4))
            parts.append(f"{w.name}: {len(w.acked)} acked, {sum(w.errors.values())} failed"
                         f"{' (' + errs + ')' if errs else ''}")
        return "; ".join(parts)

    # ---------------------------------------------------------------- checks --

    def verify(self, client, full=True):
        """Checks everything acknowledged through `client`. full=False reads
        files only for a sample (used for the second and later nodes)."""
        problems = []
        files = [w for w in self.writers if isinstance(w, FileWriter)]
        for w in files:
            acked = [seq for _, seq, _ in w.acked]
            if not full and len(acked) > 20:
                acked = w.rng.sample(acked, 20)
            for seq in acked:
                path = w.path(seq)
                want = file_bytes(w.index, seq)
                try:
                    got = bytearray()
                    for msg in client.files.Read(pb.ReadRequest(path=path), timeout=READ_TIMEOUT_S):
                        got += msg.data
                except grpc.RpcError as err:
                    problems.append(f"{path}: acknowledged, read fails: {ch.describe(err)}")
                    continue
                if bytes(got) != want:
                    problems.append(f"{path}: acknowledged {len(want)} bytes, reads back "
                                    f"{len(got)} bytes that differ")

        rows = {}
        try:
            for r in client.scan_all(self.table):
                rows[bytes(r.key)] = r
        except grpc.RpcError as err:
            problems.append(f"{self.table}: scan fails: {ch.describe(err)}")
        for w in (w for w in self.writers if isinstance(w, RowWriter)):
            for _, seq, _ in w.acked:
                key = b"w%d/%08d" % (w.index, seq)
                r = rows.get(key)
                if r is None:
                    problems.append(f"{self.table}: acknowledged row {key!r} LOST")
                    continue
                if json.loads(r.document) != row_doc(w.index, seq) or r.version != 1:
                    problems.append(f"{self.table}: row {key!r} wrong: version {r.version}, "
                                    f"{r.document[:80]!r}")

        for w in (w for w in self.writers if isinstance(w, Producer)):
            problems += self._verify_partition(client, w)
        return problems

    def _verify_partition(self, client, w):
        problems = []
        where = f"{self.stream}:{self.topic}/{w.index}"
        records, offset, end = [], 0, None
        try:
            for _ in range(100000):
                f = client.fetch(self.stream, self.topic, partition=w.index, offset=offset,
                                 timeout=READ_TIMEOUT_S)
                end = f.end_offset
                if f.start_offset != 0:
                    problems.append(f"{where}: start offset {f.start_offset}, expected 0")
                records.extend(f.records)
                if not f.records or offset >= end:
                    break
                offset = f.records[-1].offset + 1
                if offset >= end:
                    break
        except grpc.RpcError as err:
            return [f"{where}: fetch at {offset} fails: {ch.describe(err)}"]
        offsets = [r.offset for r in records]
        if offsets != list(range(len(records))) or len(records) != end:
            problems.append(f"{where}: offsets are not 0..{end - 1} without gaps: "
                            f"{len(records)} records, first irregular around "
                            f"{next((i for i, o in enumerate(offsets) if o != i), len(offsets))}")
        at = collections.defaultdict(list)
        for r in records:
            at[bytes(r.value)].append(r.offset)
        dups = {v: o for v, o in at.items() if len(o) > 1}
        if dups:
            v, o = next(iter(dups.items()))
            problems.append(f"{where}: {len(dups)} record values appear more than once, e.g. "
                            f"{v[:12]!r} at offsets {o}")
        for _, seq, acked_offset in w.acked:
            v = record_value(w.index, seq)
            if v not in at:
                problems.append(f"{where}: acknowledged record seq {seq} (offset {acked_offset}) "
                                f"LOST")
            elif acked_offset not in at[v]:
                problems.append(f"{where}: acknowledged record seq {seq} at offset "
                                f"{acked_offset}, found at {at[v]}")
        acked_offsets = [o for _, _, o in w.acked]
        if len(set(acked_offsets)) != len(acked_offsets):
            problems.append(f"{where}: the same offset was acknowledged for different records")
        return problems
