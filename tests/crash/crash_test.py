#!/usr/bin/python3
"""Crash test: kill -9 a busy tesserad and check that no acknowledged write is
lost and nothing stored is corrupt after it restarts.

One `tesserad` runs on loopback ports in a temporary data directory. Writer
threads append to files, put table rows, update a counter row conditionally
and produce stream records, each remembering only what the server
acknowledged. Each cycle lets them run for a random 0.5-3 s, SIGKILLs the
daemon, marks the operations in flight at that moment as unknown, restarts
the daemon on the same data directory and verifies everything ever
acknowledged (see README.md for the exact checks). The state observed after a
restart becomes the baseline the next restart is held to.

Environment:
  TESSERAD        the daemon binary (required)
  TESSERA_PYGEN   directory holding tessera/v1/tessera_pb2*.py; when unset
                  the stubs are generated into a temporary directory
  CRASH_CYCLES    kill/restart cycles (default 8)
  CRASH_SEED      seed of every random choice (default: random, printed)
  CRASH_KEEP      1 = keep the data directory even when the test passes

Run with Debian's interpreter: /usr/bin/python3 crash_test.py, or through
pytest (`/usr/bin/python3 -m pytest -q crash_test.py`).
"""

import atexit
import contextlib
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib

import grpc

SETPRIV = "/usr/bin/setpriv"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

READY_TIMEOUT_S = 30.0
RPC_TIMEOUT_S = 15.0
JOIN_TIMEOUT_S = 30.0
WRITE_S_MIN, WRITE_S_MAX = 0.5, 3.0
RECOVERY_KILL_CHANCE = 0.3      # of a cycle also killing the restarting daemon
RECOVERY_KILL_S_MIN, RECOVERY_KILL_S_MAX = 0.05, 0.8
MiB = 1 << 20

FILE_WRITERS = 3
FILE_RECORD_BYTES = (4096, 8192, 16384, 32768, 65536)  # one size per writer
FILE_BYTES_MAX = 4 * MiB        # a writer moves on to a new file past this
ROW_WRITERS = 2
COUNTER_UPDATERS = 2
PRODUCERS = 3
PARTITIONS = 4
PRODUCE_BATCH_MAX = 16
ROW_GETS_PER_VERIFY_MAX = 400   # rows re-read with Get (all are scanned)
ROWS_REPORT_S = 10.0           # a tablet's row count reaches the table's Stat within this

ROOT = "/crash"
FILES_DIR = ROOT + "/files"
TABLE = ROOT + "/table"
STREAM = ROOT + "/stream"
TOPIC = "t"
COUNTER_KEY = b"counter"

FILE_MAGIC = b"TSCF"
FILE_HEADER = struct.Struct("<4sIQII")  # magic, writer, seq, size, file index
VALUE_MAGIC = b"TSCS"
VALUE_HEADER = struct.Struct("<4sIQI")  # magic, producer, seq, size


def _pygen_dir():
    d = os.environ.get("TESSERA_PYGEN")
    if d:
        return d
    out = tempfile.mkdtemp(prefix="tessera-crash-pygen-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(
        ["/usr/bin/protoc", "-I", os.path.join(REPO, "proto"), f"--python_out={out}",
         f"--grpc_out={out}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
         "tessera/v1/tessera.proto"],
        check=True)
    return out


sys.path.insert(0, _pygen_dir())
from tessera.v1 import tessera_pb2 as pb  # noqa: E402
from tessera.v1 import tessera_pb2_grpc as pbg  # noqa: E402


class CrashTestFailure(AssertionError):
    """A durability or integrity violation, or a server misbehaving."""


def check(cond, msg):
    if not cond:
        raise CrashTestFailure(msg)


def errc(err):
    for key, value in err.trailing_metadata() or ():
        if key == "x-tessera-errc":
            return value.decode() if isinstance(value, bytes) else value
    return None


def describe(err):
    return f"{err.code().name} errc={errc(err)!r}: {err.details()}"


# ------------------------------------------------------------------ content ---

def file_record(writer, seq, size, file_index):
    """The bytes of file record (writer, seq): a header, then bytes derived
    from the identity, so any record can be recomputed and recognised."""
    head = FILE_HEADER.pack(FILE_MAGIC, writer, seq, size, file_index)
    body = hashlib.shake_128(b"file/%d/%d" % (writer, seq)).digest(size - len(head))
    return head + body


def describe_file_bytes(data, pos):
    """What the bytes at `pos` look like, for failure messages."""
    chunk = data[pos:pos + FILE_HEADER.size]
    if len(chunk) == FILE_HEADER.size:
        magic, w, seq, size, idx = FILE_HEADER.unpack(chunk)
        if magic == FILE_MAGIC:
            return f"a record header (writer {w}, seq {seq}, size {size}, file {idx})"
    if chunk and chunk.count(0) == len(chunk):
        return "zeros"
    return f"unrecognised bytes {chunk[:16].hex()}..."


def stream_value(producer, seq):
    size = 16 + (zlib.crc32(b"size/%d/%d" % (producer, seq)) % 2048)
    head = VALUE_HEADER.pack(VALUE_MAGIC, producer, seq, size)
    return head + hashlib.shake_128(b"rec/%d/%d" % (producer, seq)).digest(size)


def stream_key(producer, seq):
    return b"p%d-%d" % (producer, seq)


def parse_stream_value(value):
    if len(value) < VALUE_HEADER.size:
        return None
    magic, p, seq, _size = VALUE_HEADER.unpack(value[:VALUE_HEADER.size])
    if magic != VALUE_MAGIC:
        return None
    return (p, seq)


def row_key(writer, seq):
    return b"w%d/%08d" % (writer, seq)


def row_doc(writer, seq):
    pad = hashlib.shake_128(b"row/%d/%d" % (writer, seq)).hexdigest(
        zlib.crc32(b"pad/%d/%d" % (writer, seq)) % 600)
    return {"writer": writer, "seq": seq, "pad": pad,
            "sum": zlib.crc32(f"{writer}:{seq}:{pad}".encode())}


def parse_row_key(key):
    try:
        w, seq = key.decode().lstrip("w").split("/")
        return int(w), int(seq)
    except (UnicodeDecodeError, ValueError):
        return None


# ------------------------------------------------------------------- daemon ---

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """One tesserad process at a time, always on the same data directory."""

    def __init__(self, binary, root):
        self.binary = binary
        self.data_dir = os.path.join(root, "data")
        self.log_path = os.path.join(root, "tesserad.log")
        self.proc = None
        self.grpc_port = self.http_port = None
        self.starts = 0
        atexit.register(self.kill)

    def _spawn(self, note=""):
        self.starts += 1
        argv = [self.binary, "--data-dir", self.data_dir,
                "--grpc-addr", f"127.0.0.1:{self.grpc_port}",
                "--http-addr", f"127.0.0.1:{self.http_port}", "--kafka-addr", "127.0.0.1:0"]
        argv += shlex.split(os.environ.get("TESSERAD_ARGS", ""))  # e.g. --file-data-shards 0
        # The daemon dies with this process even if it is killed outright
        # (setpriv execs: the pid stays the daemon's).
        if os.access(SETPRIV, os.X_OK):
            argv = [SETPRIV, "--pdeathsig", "KILL", "--"] + argv
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== crash_test: start #{self.starts}{note} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def start_and_kill(self, after_s):
        """Starts tesserad and SIGKILLs it `after_s` later, ready or not:
        typically while it opens the engine or replays its logs."""
        if self.grpc_port is None:
            self.grpc_port, self.http_port = free_port(), free_port()
        self._spawn(f" (to be killed after {after_s:.3f}s)")
        time.sleep(after_s)
        self.kill()

    def start(self):
        """Starts tesserad, on the previous ports when it can, and waits until
        /readyz answers 200. Returns the seconds it took."""
        t0 = time.monotonic()
        for attempt in range(3):
            if self.grpc_port is None or attempt > 0:
                self.grpc_port = free_port()
                self.http_port = free_port()
                while self.http_port == self.grpc_port:
                    self.http_port = free_port()
            self._spawn()
            if self._wait_ready(t0 + READY_TIMEOUT_S):
                return time.monotonic() - t0
            if self.proc.poll() is None:
                self.kill()
                raise CrashTestFailure(f"tesserad not ready within {READY_TIMEOUT_S:.0f}s")
            # Exited early: perhaps a port was taken meanwhile; try others,
            # but a daemon that cannot recover its data fails every time.
            self.proc = None
        raise CrashTestFailure("tesserad exited before becoming ready (3 attempts)")

    def _wait_ready(self, deadline):
        url = f"http://127.0.0.1:{self.http_port}/readyz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return True
            time.sleep(0.05)
        return False

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.grpc_port}"

    def credentials(self):
        out = {}
        with open(os.path.join(self.data_dir, "admin.credentials")) as f:
            for line in f:
                if "=" in line and not line.lstrip().startswith("#"):
                    k, v = line.split("=", 1)
                    out[k.strip()] = v.strip()
        return out

    def kill(self):
        """SIGKILL, no warning; reaps the process."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def log_tail(self, nbytes=6000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return f.read().decode(errors="replace")
        except OSError:
            return "(no log)"


class Conn:
    """A channel to the daemon with the admin key on every call."""

    def __init__(self, endpoint, creds):
        self.channel = grpc.insecure_channel(endpoint, options=[
            ("grpc.max_receive_message_length", 16 * MiB),
            ("grpc.max_send_message_length", 16 * MiB)])
        self.md = (("x-tessera-key-id", creds["key_id"]), ("x-tessera-secret", creds["secret"]))
        self.ns = pbg.NamespaceStub(self.channel)
        self.files = pbg.FilesStub(self.channel)
        self.tables = pbg.TablesStub(self.channel)
        self.streams = pbg.StreamsStub(self.channel)
        self.admin = pbg.AdminStub(self.channel)

    def call(self, method, request, timeout=RPC_TIMEOUT_S):
        return method(request, metadata=self.md, timeout=timeout)

    def read_file(self, path):
        out = bytearray()
        for msg in self.files.Read(pb.ReadRequest(path=path), metadata=self.md,
                                   timeout=RPC_TIMEOUT_S * 4):
            check(msg.offset == len(out),
                  f"{path}: read piece at offset {msg.offset}, expected {len(out)}")
            out += msg.data
        return bytes(out)

    def close(self):
        self.channel.close()


# ------------------------------------------------------------------ writers ---

class Writer:
    """One thread's workload. run() issues operations until `stop` is set or
    an RPC fails; an RPC failing after the kill leaves its operation unknown,
    one failing before it is a test failure. verify() runs after a restart,
    with no writer running, and moves the baseline to what it observed."""

    name = "writer"

    def __init__(self, index, seed):
        self.index = index
        self.rng = random.Random(f"{seed}/{self.name}/{index}")
        self.acked_total = 0
        self.unknown_total = 0

    def run(self, conn, stop, killed, errors):
        try:
            while not stop.is_set():
                try:
                    self.step(conn)
                except grpc.RpcError as err:
                    if killed.is_set():
                        return
                    errors.append(f"{self.name}{self.index}: RPC failed before the kill: "
                                  f"{describe(err)}")
                    return
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(f"{self.name}{self.index}: {type(exc).__name__}: {exc}")

    def step(self, conn):
        raise NotImplementedError

    def verify(self, conn):
        raise NotImplementedError


class FileWriter(Writer):
    """Appends fixed-size records to its own file; past FILE_BYTES_MAX it
    moves on to a new file (the old ones are still verified every cycle)."""

    name = "file"

    def __init__(self, index, seed):
        super().__init__(index, seed)
        self.record_bytes = FILE_RECORD_BYTES[(index + self.rng.randrange(5)) % 5]
        self.seq = 0
        self.files = []       # [path, baseline bytes (verified), acked records]
        self.unknown = None   # (file index, seq) of the append in flight at the kill
        self._new_file()

    def _new_file(self):
        self.files.append([f"{FILES_DIR}/w{self.index}.{len(self.files)}", b"", []])

    def step(self, conn):
        fi = len(self.files) - 1
        path, base, acked = self.files[fi]
        if len(base) + len(acked) * self.record_bytes >= FILE_BYTES_MAX:
            self._new_file()
            return
        seq = self.seq
        self.seq += 1
        data = file_record(self.index, seq, self.record_bytes, fi)
        self.unknown = (fi, seq)
        resp = conn.files.Write(iter([pb.WriteRequest(path=path, data=data, append=True,
                                                      create=True)]),
                                metadata=conn.md, timeout=RPC_TIMEOUT_S)
        self.unknown = None
        check(resp.bytes_written == len(data),
              f"{path}: append of seq {seq} acknowledged {resp.bytes_written} bytes, "
              f"sent {len(data)}")
        want_size = len(base) + (len(acked) + 1) * self.record_bytes
        # Exact: an append left unknown by a kill was resolved by verify().
        check(resp.size == want_size,
              f"{path}: append of seq {seq} acknowledged with size {resp.size}, expected "
              f"{want_size} (baseline {len(base)} + {len(acked) + 1} records of "
              f"{self.record_bytes})")
        acked.append(seq)
        self.acked_total += 1

    def verify(self, conn):
        unknown, self.unknown = self.unknown, None
        if unknown is not None:
            self.unknown_total += 1
        for fi, entry in enumerate(self.files):
            path, base, acked = entry
            want = base + b"".join(file_record(self.index, s, self.record_bytes, fi)
                                   for s in acked)
            try:
                got = conn.read_file(path)
                st = conn.call(conn.ns.Stat, pb.StatRequest(path=path)).stat
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND and not want:
                    continue  # created only by an unacknowledged append
                raise CrashTestFailure(f"{path}: cannot read after restart: {describe(err)}")
            check(st.size == len(got),
                  f"{path}: Stat.size {st.size} but Read returned {len(got)} bytes")
            extra = b""
            if unknown is not None and unknown[0] == fi:
                extra = file_record(self.index, unknown[1], self.record_bytes, fi)
            if got != want and got != want + extra:
                raise CrashTestFailure(self._mismatch(path, got, want, extra))
            entry[1], entry[2] = got, []

    def _mismatch(self, path, got, want, extra):
        n = min(len(got), len(want))
        first = next((i for i in range(n) if got[i] != want[i]), n)
        rec = first // self.record_bytes
        msg = (f"{path}: after restart holds {len(got)} bytes, expected {len(want)} "
               f"(acknowledged; records of {self.record_bytes} bytes)")
        if extra:
            msg += f" or {len(want) + len(extra)} (with the append in flight at the kill)"
        if first < n:
            msg += (f"; first difference at byte {first} (record #{rec}): expected "
                    f"{describe_file_bytes(want, rec * self.record_bytes)}, found "
                    f"{describe_file_bytes(got, rec * self.record_bytes)}")
        elif len(got) < len(want):
            msg += f"; LOST the acknowledged tail from byte {len(got)} (record #{rec})"
        else:
            msg += (f"; {len(got) - len(want)} bytes past the acknowledged end starting "
                    f"with {describe_file_bytes(got, len(want))}")
        return msg


class RowWriter(Writer):
    """Puts rows w<index>/<seq>, each once, with a self-checking document."""

    name = "rows"

    def __init__(self, index, seed):
        super().__init__(index, seed)
        self.seq = 0
        self.acked = []       # seqs acknowledged since the last verify
        self.present = set()  # seqs verified present
        self.unknown = None

    def step(self, conn):
        seq = self.seq
        self.seq += 1
        self.unknown = seq
        resp = conn.call(conn.tables.Put, pb.PutRowRequest(
            path=TABLE, key=row_key(self.index, seq), document=json.dumps(row_doc(self.index, seq)),
            if_absent=self.rng.random() < 0.5))
        self.unknown = None
        check(resp.version == 1, f"{TABLE}: put of new row {row_key(self.index, seq)!r} "
                                 f"acknowledged version {resp.version}, expected 1")
        self.acked.append(seq)
        self.acked_total += 1

    def verify_rows(self, conn, rows):
        """`rows`: key -> Row from a full scan of the table."""
        unknown, self.unknown = self.unknown, None
        if unknown is not None:
            self.unknown_total += 1
        allowed = self.present | set(self.acked) | ({unknown} if unknown is not None else set())
        seen = set()
        for key, row in rows.items():
            ident = parse_row_key(key)
            if ident is None or ident[0] != self.index:
                continue
            seq = ident[1]
            check(seq in allowed, f"{TABLE}: row {key!r} exists but was never written "
                                  f"(or was verified absent before)")
            self._check_row(key, row, seq)
            seen.add(seq)
        lost = sorted((self.present | set(self.acked)) - seen)
        check(not lost, f"{TABLE}: {len(lost)} acknowledged rows of writer {self.index} LOST "
                        f"after restart, e.g. {[row_key(self.index, s) for s in lost[:5]]}")
        # Re-read with Get, which takes another path than Scan.
        sample = set(self.acked)
        if len(sample) > ROW_GETS_PER_VERIFY_MAX:
            sample = set(self.rng.sample(sorted(sample), ROW_GETS_PER_VERIFY_MAX))
        if unknown is not None and unknown in seen:
            sample.add(unknown)
        for seq in sorted(sample):
            key = row_key(self.index, seq)
            try:
                row = conn.call(conn.tables.Get, pb.GetRowRequest(path=TABLE, key=key)).row
            except grpc.RpcError as err:
                raise CrashTestFailure(f"{TABLE}: Get {key!r} failed after restart: "
                                       f"{describe(err)}")
            self._check_row(key, row, seq)
        self.present = seen
        self.acked = []

    def _check_row(self, key, row, seq):
        try:
            doc = json.loads(row.document)
        except ValueError:
            raise CrashTestFailure(f"{TABLE}: row {key!r} holds invalid JSON "
                                   f"{row.document[:80]!r}")
        want = row_doc(self.index, seq)
        check(doc == want, f"{TABLE}: row {key!r} corrupt: {row.document[:120]!r}...")
        check(doc["sum"] == zlib.crc32(f"{doc['writer']}:{doc['seq']}:{doc['pad']}".encode()),
              f"{TABLE}: row {key!r} fails its checksum")
        check(row.version == 1, f"{TABLE}: row {key!r} written once has version {row.version}")


class Counter:
    """What the updaters know about the counter row; shared, under a lock.
    Invariant: the row's count == version - 1 (created with count 0 at
    version 1, and every conditional update adds one to both)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.baseline = 1     # version verified after the last restart
        self.acked_max = 1    # highest acknowledged version
        self.acked = 0        # updates acknowledged since the last verify
        self.unknown = 0      # updates in flight at the kill
        self.conflicts = 0

    def verify(self, conn):
        try:
            row = conn.call(conn.tables.Get, pb.GetRowRequest(path=TABLE, key=COUNTER_KEY)).row
        except grpc.RpcError as err:
            raise CrashTestFailure(f"{TABLE}: counter row unreadable after restart: "
                                   f"{describe(err)}")
        count = json.loads(row.document).get("count")
        check(row.version >= self.acked_max,
              f"{TABLE}: counter row at version {row.version} after restart, but version "
              f"{self.acked_max} was acknowledged: acknowledged updates LOST")
        check(row.version <= self.baseline + self.acked + self.unknown,
              f"{TABLE}: counter row at version {row.version}, more than the "
              f"{self.baseline} verified + {self.acked} acknowledged + {self.unknown} "
              f"unknown updates")
        check(count == row.version - 1,
              f"{TABLE}: counter row holds count {count} at version {row.version} "
              f"(must be version - 1): an update was lost or applied twice")
        self.baseline = self.acked_max = row.version
        self.acked = self.unknown = 0


class CounterUpdater(Writer):
    """Read-modify-write of the counter row with Update(if_version)."""

    name = "counter"

    def __init__(self, index, seed, counter):
        super().__init__(index, seed)
        self.counter = counter

    def run(self, conn, stop, killed, errors):
        self.in_flight = False
        super().run(conn, stop, killed, errors)
        if self.in_flight:
            with self.counter.lock:
                self.counter.unknown += 1
            self.unknown_total += 1

    def step(self, conn):
        row = conn.call(conn.tables.Get, pb.GetRowRequest(path=TABLE, key=COUNTER_KEY)).row
        count = json.loads(row.document)["count"]
        check(count == row.version - 1,
              f"{TABLE}: counter row read with count {count} at version {row.version}")
        self.in_flight = True
        try:
            resp = conn.call(conn.tables.Update, pb.UpdateRowRequest(
                path=TABLE, key=COUNTER_KEY, set=json.dumps({"count": count + 1, "by": self.index}),
                if_version=row.version))
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.FAILED_PRECONDITION and \
                    errc(err) == "version_mismatch":
                self.in_flight = False
                with self.counter.lock:
                    self.counter.conflicts += 1
                return
            raise
        self.in_flight = False
        got = json.loads(resp.row.document)["count"]
        check(resp.row.version == row.version + 1 and got == count + 1,
              f"{TABLE}: conditional update at version {row.version} acknowledged version "
              f"{resp.row.version} count {got}, expected {row.version + 1} / {count + 1}")
        with self.counter.lock:
            self.counter.acked += 1
            self.counter.acked_max = max(self.counter.acked_max, resp.row.version)
        self.acked_total += 1


class Producer(Writer):
    """Produces batches of records (producer, seq) to random partitions."""

    name = "producer"

    def __init__(self, index, seed, streams):
        super().__init__(index, seed)
        self.streams = streams
        self.seq = 0

    def run(self, conn, stop, killed, errors):
        self.in_flight = None
        super().run(conn, stop, killed, errors)
        if self.in_flight is not None:
            with self.streams.lock:
                self.streams.unknown.append(self.in_flight)
            self.unknown_total += 1

    def step(self, conn):
        partition = self.rng.randrange(PARTITIONS)
        n = self.rng.randint(1, PRODUCE_BATCH_MAX)
        idents = [(self.index, self.seq + i) for i in range(n)]
        self.seq += n
        records = [pb.Record(key=stream_key(*i), value=stream_value(*i)) for i in idents]
        self.in_flight = (partition, idents)
        resp = conn.call(conn.streams.Produce, pb.ProduceRequest(
            stream=STREAM, topic=TOPIC, partition=partition, records=records))
        self.in_flight = None
        check(len(resp.offsets) == n and list(resp.partitions) == [partition] * n,
              f"{STREAM}: produce of {n} records to partition {partition} acknowledged "
              f"partitions {list(resp.partitions)} offsets {list(resp.offsets)}")
        offs = list(resp.offsets)
        check(offs == list(range(offs[0], offs[0] + n)),
              f"{STREAM}: one produce got non-contiguous offsets {offs}")
        with self.streams.lock:
            acked = self.streams.acked[partition]
            for ident, off in zip(idents, offs):
                check(off not in acked and off >= len(self.streams.baseline[partition]),
                      f"{STREAM}: partition {partition} offset {off} acknowledged twice "
                      f"(for {ident} and {acked.get(off)})")
                acked[off] = ident
        self.acked_total += n


class Streams:
    """What the producers know about the topic; shared, under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.baseline = [[] for _ in range(PARTITIONS)]  # verified idents by offset
        self.acked = [{} for _ in range(PARTITIONS)]     # offset -> ident since verify
        self.unknown = []                                # (partition, idents)

    def fetch_all(self, conn, partition):
        out = []
        end = None
        for _ in range(100000):
            resp = conn.call(conn.streams.Fetch, pb.FetchRequest(
                stream=STREAM, topic=TOPIC, partition=partition, offset=len(out),
                max_bytes=MiB))
            check(resp.start_offset == 0,
                  f"{STREAM}: partition {partition} start offset {resp.start_offset} "
                  f"(no retention is set: records LOST)")
            end = resp.end_offset
            if not resp.records:
                break
            for r in resp.records:
                check(r.offset == len(out),
                      f"{STREAM}: partition {partition}: fetch from {len(out)} returned offset "
                      f"{r.offset} (gap or reordering)")
                out.append(r)
        check(end == len(out), f"{STREAM}: partition {partition} end offset {end} but "
                               f"{len(out)} records fetched")
        return out

    def verify(self, conn):
        topics = conn.call(conn.streams.ListTopics, pb.ListTopicsRequest(stream=STREAM)).topics
        info = next((t for t in topics if t.name == TOPIC), None)
        check(info is not None and info.partitions == PARTITIONS,
              f"{STREAM}: topic {TOPIC} missing or resized after restart: {topics}")
        unknown_by_ident = {}
        for part, idents in self.unknown:
            for i in idents:
                unknown_by_ident[i] = (part, idents)
        seen = {}
        landed = set()
        for p in range(PARTITIONS):
            recs = self.fetch_all(conn, p)
            check(info.end_offsets[p] == len(recs),
                  f"{STREAM}: ListTopics end offset {info.end_offsets[p]} for partition {p}, "
                  f"{len(recs)} records fetched")
            idents = []
            for r in recs:
                ident = parse_stream_value(r.value)
                check(ident is not None and r.value == stream_value(*ident) and
                      r.key == stream_key(*ident),
                      f"{STREAM}: partition {p} offset {r.offset} holds a corrupt record "
                      f"(key {r.key[:32]!r}, {len(r.value)} value bytes)")
                check(ident not in seen,
                      f"{STREAM}: record {ident} stored twice: at (partition, offset) "
                      f"{seen.get(ident)} and ({p}, {r.offset})")
                seen[ident] = (p, r.offset)
                idents.append(ident)
            base = self.baseline[p]
            check(idents[:len(base)] == base,
                  f"{STREAM}: partition {p}: records verified after an earlier restart "
                  f"changed or LOST (had {len(base)}, now {len(idents)})")
            for off, ident in sorted(self.acked[p].items()):
                check(off < len(idents),
                      f"{STREAM}: partition {p}: acknowledged offset {off} ({ident}) LOST; "
                      f"partition ends at {len(idents)}")
                check(idents[off] == ident,
                      f"{STREAM}: partition {p} offset {off} holds {idents[off]}, but "
                      f"{ident} was acknowledged there")
            for off in range(len(base), len(idents)):
                ident = idents[off]
                if self.acked[p].get(off) == ident:
                    continue
                u = unknown_by_ident.get(ident)
                check(u is not None and u[0] == p,
                      f"{STREAM}: partition {p} offset {off} holds {ident}, which was never "
                      f"produced to this partition by an unacknowledged request")
                if ident == u[1][0]:
                    batch = u[1]
                    check(idents[off:off + len(batch)] == batch,
                          f"{STREAM}: partition {p}: an unacknowledged batch of {len(batch)} "
                          f"records is stored partly or out of order at {off}")
                    landed.add(batch[0])
                else:
                    check(u[1][0] in landed,
                          f"{STREAM}: partition {p} offset {off}: {ident} stored without "
                          f"the start of its batch")
            self.baseline[p] = idents
            self.acked[p] = {}
        self.unknown = []


# -------------------------------------------------------------------- setup ---

def create_objects(conn):
    conn.call(conn.ns.Mkdir, pb.MkdirRequest(path=ROOT))
    # A volume of its own puts the files on a second shard, so group commits
    # span shards.
    conn.call(conn.admin.CreateVolume, pb.CreateVolumeRequest(path=FILES_DIR))
    conn.call(conn.tables.Create, pb.CreateTableRequest(path=TABLE))
    conn.call(conn.tables.Put, pb.PutRowRequest(path=TABLE, key=COUNTER_KEY,
                                                document=json.dumps({"count": 0})))
    conn.call(conn.streams.Create, pb.CreateStreamRequest(path=STREAM))
    conn.call(conn.streams.CreateTopic, pb.CreateTopicRequest(stream=STREAM, topic=TOPIC,
                                                              partitions=PARTITIONS))


def verify_all(conn, files, rows, counter, streams):
    """Runs every check; raises one CrashTestFailure listing each component
    that failed, so a report shows the whole extent of a loss."""
    failures = []

    def attempt(fn, *args):
        try:
            return fn(*args)
        except CrashTestFailure as exc:
            failures.append(str(exc))
        except grpc.RpcError as err:
            failures.append(f"{getattr(fn, '__qualname__', fn)}: RPC failed after restart: "
                            f"{describe(err)}")
        return None

    for w in files:
        attempt(w.verify, conn)
    all_rows = attempt(scan_table, conn)
    if all_rows is not None:
        attempt(check_table_stat, conn, all_rows)
        for w in rows:
            attempt(w.verify_rows, conn, all_rows)
    attempt(counter.verify, conn)
    attempt(streams.verify, conn)
    if failures:
        raise CrashTestFailure(f"{len(failures)} check(s) failed after restart:\n  - " +
                               "\n  - ".join(failures))
    return len(all_rows) if all_rows is not None else 0


def scan_table(conn):
    """Every row of the table, by key."""
    all_rows = {}
    token = ""
    for _ in range(100000):
        resp = conn.call(conn.tables.Scan, pb.ScanRequest(path=TABLE, limit=1000,
                                                          page_token=token))
        for r in resp.rows:
            check(r.key not in all_rows, f"{TABLE}: scan returned row {r.key!r} twice")
            all_rows[r.key] = r
        token = resp.next_page_token
        if not token:
            break
    return all_rows


def check_table_stat(conn, all_rows):
    # The table's row count is what its tablet last reported (about once a
    # second, and again by the tablet's leader after a restart).
    deadline = time.monotonic() + ROWS_REPORT_S
    while True:
        st = conn.call(conn.ns.Stat, pb.StatRequest(path=TABLE)).stat
        if st.rows == len(all_rows) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(st.rows == len(all_rows),
          f"{TABLE}: Stat.rows {st.rows} but a scan returns {len(all_rows)} rows")
    check(COUNTER_KEY in all_rows, f"{TABLE}: counter row missing from the scan")
    for k in all_rows:
        check(k == COUNTER_KEY or parse_row_key(k) is not None,
              f"{TABLE}: unexpected row {k!r}")


# --------------------------------------------------------------------- main ---

def replay_command(seed, cycles):
    env = {"CRASH_SEED": str(seed), "CRASH_CYCLES": str(cycles),
           "TESSERAD": os.environ.get("TESSERAD", "")}
    if os.environ.get("TESSERA_PYGEN"):
        env["TESSERA_PYGEN"] = os.environ["TESSERA_PYGEN"]
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + \
        f" /usr/bin/python3 {shlex.quote(os.path.abspath(__file__))}"


def run(seed, cycles, log=print):
    binary = os.environ.get("TESSERAD")
    if not binary or not os.access(binary, os.X_OK):
        raise CrashTestFailure(f"TESSERAD must name the tesserad binary (got {binary!r})")
    rng = random.Random(seed)
    root = tempfile.mkdtemp(prefix="tessera-crash-")
    daemon = Daemon(binary, root)
    log(f"crash_test: seed={seed} cycles={cycles} dir={root}")
    log(f"crash_test: replay with: {replay_command(seed, cycles)}")
    t_start = time.monotonic()
    ok = False
    conn = None
    where = "setup"
    try:
        daemon.start()
        creds = daemon.credentials()
        conn = Conn(daemon.endpoint, creds)
        create_objects(conn)
        conn.close()
        counter, streams = Counter(), Streams()
        files = [FileWriter(i, seed) for i in range(FILE_WRITERS)]
        rows = [RowWriter(i, seed) for i in range(ROW_WRITERS)]
        updaters = [CounterUpdater(i, seed, counter) for i in range(COUNTER_UPDATERS)]
        producers = [Producer(i, seed, streams) for i in range(PRODUCERS)]
        writers = files + rows + updaters + producers

        for cycle in range(1, cycles + 1):
            where = f"cycle {cycle}/{cycles}"
            write_s = rng.uniform(WRITE_S_MIN, WRITE_S_MAX)
            conn = Conn(daemon.endpoint, creds)
            stop, killed = threading.Event(), threading.Event()
            errors = []
            before = [w.acked_total for w in writers]
            threads = [threading.Thread(target=w.run, args=(conn, stop, killed, errors),
                                        name=f"{w.name}{w.index}", daemon=True)
                       for w in writers]
            for t in threads:
                t.start()
            time.sleep(write_s)
            # Writers see `killed` before any RPC can fail because of it.
            killed.set()
            stop.set()
            pid = daemon.proc.pid
            rc = daemon.proc.poll()
            check(rc is None, f"tesserad (pid {pid}) exited by itself with status {rc} "
                              f"while the writers ran")
            daemon.kill()
            deadline = time.monotonic() + JOIN_TIMEOUT_S
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
            stuck = [t.name for t in threads if t.is_alive()]
            check(not stuck, f"writer threads did not stop after the kill: {stuck}")
            conn.close()
            check(not errors, "operations failed while the daemon was up:\n  " +
                  "\n  ".join(errors))
            acked = [w.acked_total - b for w, b in zip(writers, before)]

            def total(kind, acked=acked):
                return sum(a for w, a in zip(writers, acked) if w.name == kind)

            note = ""
            if rng.random() < RECOVERY_KILL_CHANCE:
                after_s = rng.uniform(RECOVERY_KILL_S_MIN, RECOVERY_KILL_S_MAX)
                daemon.start_and_kill(after_s)
                note = f", killed again {after_s:.2f}s into its restart"
            restart_s = daemon.start()
            check(daemon.credentials() == creds, "admin.credentials changed across a restart")
            t0 = time.monotonic()
            conn = Conn(daemon.endpoint, creds)
            nrows = verify_all(conn, files, rows, counter, streams)
            conn.close()
            conn = None
            nbytes = sum(len(f[1]) for w in files for f in w.files)
            nrecs = sum(len(b) for b in streams.baseline)
            log(f"cycle {cycle}/{cycles}: wrote {write_s:.2f}s, killed pid {pid}{note}; acked "
                f"{total('file')} appends, {total('rows')} rows, {total('counter')} counter "
                f"updates, {total('producer')} records; restart {restart_s:.2f}s, verify "
                f"{time.monotonic() - t0:.2f}s ok ({nbytes} file bytes, {nrows} rows, "
                f"counter v{counter.baseline}, {nrecs} records)")
        unknown = sum(w.unknown_total for w in writers)
        log(f"crash_test: PASS seed={seed}: {cycles} kill -9 cycles in "
            f"{time.monotonic() - t_start:.1f}s, {unknown} operations left unknown by kills, "
            f"{counter.conflicts} counter conflicts")
        ok = True
    except (CrashTestFailure, grpc.RpcError) as exc:
        detail = describe(exc) if isinstance(exc, grpc.RpcError) else str(exc)
        raise CrashTestFailure(
            f"crash test FAILED (seed {seed}, {where}): {detail}\n"
            f"replay with: {replay_command(seed, cycles)}\n"
            f"data directory kept: {root}\n"
            f"----- tesserad log tail ({daemon.log_path}) -----\n{daemon.log_tail()}") from None
    finally:
        if conn is not None:
            conn.close()
        daemon.kill()
        if ok and os.environ.get("CRASH_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


def settings():
    seed = os.environ.get("CRASH_SEED")
    seed = int(seed) if seed else int.from_bytes(os.urandom(4), "little")
    cycles = int(os.environ.get("CRASH_CYCLES", "8"))
    return seed, cycles


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through run()'s cleanup


def _run_main_thread(seed, cycles):
    """run() with SIGTERM (a ctest timeout) turned into a clean exit, so the
    daemon is killed and not left running."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        run(seed, cycles, log=lambda s: print(s, flush=True))
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_crash():
    import pytest
    seed, cycles = settings()
    try:
        _run_main_thread(seed, cycles)
    except CrashTestFailure as exc:
        pytest.fail(str(exc), pytrace=False)


def main():
    seed, cycles = settings()
    try:
        _run_main_thread(seed, cycles)
    except CrashTestFailure as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
