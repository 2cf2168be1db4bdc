"""Harness for Tessera's multi-process cluster suite.

`Cluster` runs N real `tesserad` processes on fixed loopback ports (picked
once per node, kept across restarts) with private data directories under one
temporary directory in /tmp. Node 1 bootstraps the cluster; every other node
starts with `--join` to a running member. Nodes can be killed (SIGKILL),
stopped (SIGTERM), frozen (SIGSTOP), thawed (SIGCONT) and restarted on the
same data directory and ports.

The gRPC stubs, the `Client` wrapper, credential parsing and binary lookup
come from tests/e2e/harness.py (imported, not copied).

Environment: TESSERAD, TESSERA_CLI, TESSERA_PYGEN as for tests/e2e;
TESSERA_CLUSTER_KEEP=1 keeps the data directories and logs.
"""

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import grpc
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness as e2e  # noqa: E402  (tests/e2e/harness.py)

pb = e2e.pb
pbg = e2e.pbg
describe = e2e.describe
errc = e2e.errc
parse_json_output = e2e.parse_json_output
wait_until = e2e.wait_until

# The e2e client's default deadline (read at call time) is 60 s; a cluster
# test would rather see a stuck call fail and retry elsewhere.
RPC_TIMEOUT_S = 20.0
e2e.RPC_TIMEOUT_S = RPC_TIMEOUT_S

SETPRIV = "/usr/bin/setpriv"
HEARTBEAT_MS = 200
# A joining node is ready only once the meta shard reached it, which the
# server allows up to 120 s for.
READY_TIMEOUT_S = 130.0
FIRST_READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
HEALTH_TIMEOUT_S = 90.0
LOG_TAIL_LINES = 60
META_SHARD = 1
READY_RE = re.compile(rb"tesserad: node (\d+) ready")


REDIRECT_TRAILER = "x-tessera-redirect"
REDIRECT_HOPS_MAX = 4


def redirect_address(err):
    """The `x-tessera-redirect` trailer of a grpc.RpcError, or None."""
    if errc(err) != "not_leader":
        return None
    for key, value in err.trailing_metadata() or ():
        if key == REDIRECT_TRAILER:
            return value.decode() if isinstance(value, bytes) else value
    return None


class _Redirecting:
    """One service's stub that follows redirects the way the C++ client
    does (client/connection.h): a call refused with not_leader and an
    `x-tessera-redirect: HOST:PORT` trailer was not proposed, so a unary
    call, or a file read that returned no data yet, is sent again to that
    endpoint, at most REDIRECT_HOPS_MAX times within the call's one
    deadline. File write streams are never redirected (the server forwards
    their pieces itself)."""

    def __init__(self, client, service):
        self._client = client
        self._service = service
        self._desc = pb.DESCRIPTOR.services_by_name[service]

    def __getattr__(self, name):
        method = self._desc.methods_by_name.get(name)
        if method is None:
            raise AttributeError(f"{self._service} has no method {name}")
        if method.client_streaming:
            return getattr(self._client.stub(self._client.endpoint, self._service), name)
        if method.server_streaming:
            return lambda req, timeout=None, **kw: self._stream(name, req, timeout, kw)
        return lambda req, timeout=None, **kw: self._unary(name, req, timeout, kw)

    def _unary(self, name, req, timeout, kw):
        deadline = time.monotonic() + (timeout if timeout is not None else RPC_TIMEOUT_S)
        addr = self._client.endpoint
        for hop in range(REDIRECT_HOPS_MAX + 1):
            call = getattr(self._client.stub(addr, self._service), name)
            try:
                return call(req, timeout=max(0.001, deadline - time.monotonic()), **kw)
            except grpc.RpcError as err:
                to = redirect_address(err)
                if to is None or hop == REDIRECT_HOPS_MAX:
                    raise
                self._client.redirects += 1
                addr = to

    def _stream(self, name, req, timeout, kw):
        deadline = time.monotonic() + (timeout if timeout is not None else RPC_TIMEOUT_S)
        addr = self._client.endpoint
        for hop in range(REDIRECT_HOPS_MAX + 1):
            call = getattr(self._client.stub(addr, self._service), name)
            got_data = False
            try:
                for msg in call(req, timeout=max(0.001, deadline - time.monotonic()), **kw):
                    got_data = True
                    yield msg
                return
            except grpc.RpcError as err:
                to = redirect_address(err)
                if got_data or to is None or hop == REDIRECT_HOPS_MAX:
                    raise
                self._client.redirects += 1
                addr = to


class ClusterClient(e2e.Client):
    """tests/e2e's Client (stubs bound to one access key, helpers) whose
    unary and server-streaming calls follow redirects to other nodes."""

    SERVICES = {"ns": "Namespace", "files": "Files", "tables": "Tables", "streams": "Streams",
                "admin": "Admin"}

    def __init__(self, endpoint, user, key_id, secret, creds_path=None):
        super().__init__(endpoint, user, key_id, secret, creds_path)
        self.redirects = 0
        self._channels = {}   # address -> raw channel (redirect targets)
        self._stubs = {endpoint: {svc: getattr(self, attr)
                                  for attr, svc in self.SERVICES.items()}}
        for attr, svc in self.SERVICES.items():
            setattr(self, attr, _Redirecting(self, svc))

    def stub(self, address, service):
        stubs = self._stubs.get(address)
        if stubs is None:
            raw = grpc.insecure_channel(address, options=[
                ("grpc.max_receive_message_length", 64 * e2e.MiB),
                ("grpc.max_send_message_length", 64 * e2e.MiB)])
            self._channels[address] = raw
            ch = grpc.intercept_channel(raw, e2e._Auth(self.key_id, self.secret))
            stubs = {svc: getattr(pbg, f"{svc}Stub")(ch) for svc in self.SERVICES.values()}
            self._stubs[address] = stubs
        return stubs[service]

    def close(self):
        for raw in self._channels.values():
            raw.close()
        self._channels = {}
        super().close()


class ClusterError(AssertionError):
    """A node did not start, a cluster did not converge, or similar."""


def _pick_ports(taken, count):
    out = []
    while len(out) < count:
        p = e2e.free_port()
        if p not in taken and p not in out:
            out.append(p)
    return out


class Node:
    """One tesserad: fixed ports, one data directory, one log file (stdout
    and stderr of every start, appended)."""

    def __init__(self, cluster, index, grpc_port, http_port, labels=None, extra_args=()):
        self.cluster = cluster
        self.index = index          # position in the cluster (1-based)
        self.id = None              # node id the daemon reports when ready
        self.root = os.path.join(cluster.root, f"n{index}")
        self.data_dir = os.path.join(self.root, "data")
        self.home = os.path.join(self.root, "home")
        os.makedirs(self.home, exist_ok=True)
        self.log_path = os.path.join(self.root, "tesserad.log")
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.grpc_addr = f"127.0.0.1:{grpc_port}"
        self.http_addr = f"127.0.0.1:{http_port}"
        self.kafka_port = e2e.free_port()
        self.kafka_addr = f"127.0.0.1:{self.kafka_port}"
        self.labels = labels
        self.extra_args = list(extra_args)
        self.proc = None
        self.frozen = False
        self.starts = 0
        self._clients = []

    def __repr__(self):
        return f"<node {self.id or '?'} #{self.index} {self.grpc_addr} " \
               f"{'running' if self.running else 'stopped'}>"

    # ------------------------------------------------------------ lifecycle --

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def argv(self, join):
        a = [e2e.TESSERAD, "--data-dir", self.data_dir, "--grpc-addr", self.grpc_addr,
             "--http-addr", self.http_addr, "--kafka-addr", self.kafka_addr,
             "--heartbeat-ms", str(self.cluster.heartbeat_ms),
             "--node-dead-after-ms", str(self.cluster.dead_after_ms)]
        if join:
            a += ["--join", join]
        if self.labels:
            a += ["--node-labels", self.labels]
        a += self.extra_args
        # The daemon dies with the test process even if that is killed outright.
        if os.access(SETPRIV, os.X_OK):
            a = [SETPRIV, "--pdeathsig", "KILL", "--"] + a
        return a

    def spawn(self, join=None):
        """Starts the daemon without waiting; returns the log offset its
        output starts at."""
        assert not self.running, f"{self} already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== cluster harness: start #{self.starts}"
                      f"{' --join ' + join if join else ''} =====\n".encode())
            log.flush()
            offset = log.tell()
            env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
            env["HOME"] = self.home
            env.pop("XDG_DATA_HOME", None)
            self.proc = subprocess.Popen(self.argv(join), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         env=env)
        self.frozen = False
        return offset

    def wait_ready(self, offset, timeout_s):
        """Waits for `tesserad: node N ready` past `offset` of the log."""
        deadline = time.monotonic() + timeout_s
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                m = READY_RE.search(f.read())
            if m:
                node_id = int(m.group(1))
                if self.id is not None and node_id != self.id:
                    raise ClusterError(f"{self}: restarted as node {node_id}, was node {self.id}")
                self.id = node_id
                return
            if self.proc.poll() is not None:
                raise ClusterError(f"node #{self.index} exited with status "
                                   f"{self.proc.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise ClusterError(f"node #{self.index} not ready after {timeout_s:.0f}s")
            time.sleep(0.05)

    def start(self, join=None, timeout_s=READY_TIMEOUT_S):
        self.wait_ready(self.spawn(join), timeout_s)
        return self

    def restart(self, timeout_s=READY_TIMEOUT_S):
        """Starts a stopped node again on its data directory and ports
        (--join is not passed: the node knows its cluster)."""
        if self.running:
            self.stop()
        return self.start(timeout_s=timeout_s)

    def kill(self):
        """SIGKILL, no warning; reaps the process."""
        self.close_clients()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
        rc = self.proc.wait()
        self.proc = None
        self.frozen = False
        return rc

    def stop(self, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM (after SIGCONT if frozen); SIGKILL if it does not exit in
        time. Returns the exit status, or a string saying it was killed."""
        self.close_clients()
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            with contextlib.suppress(ProcessLookupError):
                if self.frozen:
                    os.kill(self.proc.pid, signal.SIGCONT)
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                rc = f"killed (no exit within {timeout_s}s of SIGTERM)"
        self.proc = None
        self.frozen = False
        return rc

    def freeze(self):
        """SIGSTOP: the process keeps its sockets but answers nothing."""
        assert self.running
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if self.proc is not None and self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    # -------------------------------------------------------------- clients --

    def client(self):
        """An admin ClusterClient on this node's gRPC endpoint."""
        c = self.cluster.creds
        cl = ClusterClient(self.grpc_addr, "admin", c["key_id"], c["secret"],
                           self.cluster.creds_path)
        self._clients.append(cl)
        return cl

    def close_clients(self):
        for c in self._clients:
            with contextlib.suppress(Exception):
                c.close()
        self._clients = []

    def http_get(self, path, timeout=5):
        """(status, parsed JSON or raw text)."""
        url = f"http://{self.http_addr}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                status, body = r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode(errors="replace")
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256 * lines))
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_grep(self, pattern):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        return [ln for ln in text.splitlines() if re.search(pattern, ln)]


class Cluster:
    """N tesserad processes forming one cluster on loopback."""

    def __init__(self, heartbeat_ms=HEARTBEAT_MS, dead_after_ms=60000, name="cluster",
                 node_args=()):
        if not e2e.TESSERAD or not e2e.TESSERA_CLI:
            pytest.fail("tesserad/tessera binaries not found: set TESSERAD and TESSERA_CLI",
                        pytrace=False)
        self.root = tempfile.mkdtemp(prefix=f"tessera-{name}-", dir="/tmp")
        self.heartbeat_ms = heartbeat_ms
        self.dead_after_ms = dead_after_ms
        self.node_args = list(node_args)  # extra tesserad flags for every node
        self.nodes = []
        self.creds = None
        self.creds_path = None
        self._ports = set()
        self.failed = False

    # ------------------------------------------------------------ lifecycle --

    def add_node(self, labels=None, start=True, extra_args=()):
        """Creates node #len+1 (ports fixed from now on) and, if `start`,
        starts it: the first bootstraps, later ones join a running member."""
        gp, hp = _pick_ports(self._ports, 2)
        self._ports |= {gp, hp}
        n = Node(self, len(self.nodes) + 1, gp, hp, labels, self.node_args + list(extra_args))
        self.nodes.append(n)
        if start:
            self.start_new(n)
        return n

    def start_new(self, n):
        if n.index == 1:
            n.start(timeout_s=FIRST_READY_TIMEOUT_S)
            self.creds_path = os.path.join(n.data_dir, "admin.credentials")
            wait_until(lambda: os.path.exists(self.creds_path), 5, 0.05, "admin.credentials")
            self.creds = e2e.parse_credentials(open(self.creds_path).read())
        else:
            seed = self.any_running(exclude=(n,))
            n.start(join=seed.grpc_addr)
        return n

    @classmethod
    def start(cls, count, **kw):
        """A cluster of `count` nodes, started one after the other (each
        joins once the previous one is ready)."""
        c = cls(**kw)
        try:
            for _ in range(count):
                c.add_node()
        except ClusterError as exc:
            c.failed = True
            report = c.log_report()
            c.close()
            raise ClusterError(f"starting a {count}-node cluster: {exc}\n{report}") from None
        except BaseException:
            c.failed = True
            c.close()
            raise
        return c

    def node(self, node_id):
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node with id {node_id}: {self.nodes}")

    def running(self):
        return [n for n in self.nodes if n.running and not n.frozen]

    def any_running(self, exclude=()):
        live = [n for n in self.running() if n not in exclude]
        if not live:
            raise ClusterError("no running node")
        return live[0]

    def close(self):
        """Stops every node (thawing frozen ones first); removes the
        temporary directory unless the test failed or TESSERA_CLUSTER_KEEP."""
        errors = []
        for n in self.nodes:
            n.thaw()
        for n in self.nodes:
            try:
                n.stop()
            except Exception as exc:  # noqa: BLE001 - every node must be stopped
                errors.append(f"{n}: {exc}")
        keep = self.failed or bool(os.environ.get("TESSERA_CLUSTER_KEEP"))
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise ClusterError("stopping nodes: " + "; ".join(errors))

    def log_report(self, lines=LOG_TAIL_LINES):
        out = [f"cluster root: {self.root}"]
        for n in self.nodes:
            state = "running" if n.running else (
                f"exited {n.proc.returncode}" if n.proc is not None else "stopped")
            out.append(f"----- node #{n.index} (id {n.id}, {n.grpc_addr}, http {n.http_addr}, "
                       f"{state}{', frozen' if n.frozen else ''}): last {lines} log lines -----")
            out.append(n.log_tail(lines))
        return "\n".join(out)

    # --------------------------------------------------------------- health --

    def health(self, via=None, timeout=8):
        """The /v1/health document from `via` (else any running node), or
        None while no node answers 200."""
        nodes = [via] if via is not None else self.running()
        for n in nodes:
            with contextlib.suppress(OSError):
                status, doc = n.http_get("/v1/health", timeout=timeout)
                if status == 200 and isinstance(doc, dict):
                    return doc
        return None

    def wait_health(self, pred, timeout_s=HEALTH_TIMEOUT_S, what="cluster health", via=None):
        """Polls /v1/health until pred(doc) holds; returns the document.
        Fails with the last document seen."""
        last = {}

        def probe():
            doc = self.health(via=via)
            last["doc"] = doc
            return doc if doc is not None and pred(doc) else None

        try:
            return wait_until(probe, timeout_s, 0.25, what)
        except AssertionError:
            raise ClusterError(f"timed out after {timeout_s:.0f}s waiting for {what}; last "
                               f"/v1/health: {json.dumps(last.get('doc'))}") from None

    def wait_json(self, path, pred, timeout_s, what, via=None):
        """Polls GET `path` on `via` (else the first running node) until it
        answers 200 with a JSON object satisfying pred; returns it. Fails
        with the last answer."""
        last = {}

        def probe():
            n = via or self.any_running()
            try:
                status, body = n.http_get(path)
            except OSError as exc:
                last["answer"] = f"node {n.id}: {exc}"
                return None
            last["answer"] = f"node {n.id}: {status} {json.dumps(body)}"
            return body if status == 200 and isinstance(body, dict) and pred(body) else None

        try:
            return wait_until(probe, timeout_s, 0.25, what)
        except AssertionError:
            raise ClusterError(f"timed out after {timeout_s:.0f}s waiting for {what}; last "
                               f"answer to GET {path}: {last.get('answer')}") from None

    def wait_healthy(self, up=None, timeout_s=HEALTH_TIMEOUT_S, via=None):
        """Waits until the cluster is settled: `up` nodes (default: every
        running node) up, no shard under-replicated or unavailable, no
        rebalance pending, and every up node a member of the meta shard
        (placement keeps it on every usable node)."""
        want = up if up is not None else len(self.running())
        return self.wait_health(lambda d: settled(d, want), timeout_s,
                                f"a settled cluster: {want} nodes up, 0 under-replicated, "
                                f"0 unavailable, rebalance idle, meta shard on every node", via)

    def leader_of(self, shard, doc=None):
        doc = doc or self.health()
        if doc is None:
            return None
        for s in doc.get("shards", ()):
            if s["shard"] == shard:
                return s["leader"] or None
        return None

    def volume_shards(self, doc=None):
        return self.shards_of_kind("volume", doc)

    def partition_shards(self, doc=None):
        return self.shards_of_kind("partition", doc)

    def tablet_shards(self, doc=None):
        return self.shards_of_kind("tablet", doc)

    def shards_of_kind(self, kind, doc=None):
        doc = doc or self.health()
        return sorted(s["shard"] for s in doc["shards"] if s.get("kind") == kind)

    # ------------------------------------------------------------------ CLI --

    def cli(self, *args, via=None, timeout=60):
        """Runs `tessera --endpoint <via> --credentials <admin> ARGS`;
        returns (rc, stdout, stderr)."""
        n = via or self.any_running()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env["HOME"] = n.home
        argv = [e2e.TESSERA_CLI, "--endpoint", n.grpc_addr, "--credentials", self.creds_path,
                *map(str, args)]
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout, env=env, cwd=n.root)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"tessera {' '.join(map(str, args))}: no exit within {timeout}s")
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def cli_ok(self, *args, **kw):
        rc, out, err = self.cli(*args, **kw)
        assert rc == 0, f"tessera {' '.join(map(str, args))} exited {rc}: {err.strip()}"
        return out


def healthy(doc, up):
    """`up` nodes up, none in another state than up/removed, no shard
    under-replicated or unavailable."""
    states = [n["state"] for n in doc.get("nodes", ()) if n["state"] != "removed"]
    return (states.count("up") == up and len(states) == up
            and doc.get("under_replicated_shards") == 0
            and doc.get("unavailable_shards") == 0)


def settled(doc, up):
    """healthy(), no rebalance pending, and every up node holding the meta
    shard."""
    if not healthy(doc, up) or doc.get("rebalance", {}).get("pending_moves") != 0:
        return False
    meta = [s for s in doc.get("shards", ()) if s["shard"] == META_SHARD]
    if not meta:
        return False
    members = set(meta[0]["voters"]) | set(meta[0]["learners"])
    return all(n["id"] in members for n in doc["nodes"] if n["state"] == "up")


def node_entry(doc, node_id):
    for n in doc.get("nodes", ()):
        if n["id"] == node_id:
            return n
    return None


def replicas_on(doc, node_id):
    """Shards listing `node_id` as a voter or learner."""
    return sorted(s["shard"] for s in doc.get("shards", ())
                  if node_id in s.get("voters", ()) or node_id in s.get("learners", ()))


def retry(fn, timeout_s, what, interval_s=0.3, exceptions=(Exception,)):
    """Calls fn() until it returns without raising; raises the last error
    (with `what`) after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except exceptions as exc:  # noqa: BLE001
            if time.monotonic() > deadline:
                detail = describe(exc) if hasattr(exc, "code") and hasattr(exc, "details") \
                    else f"{type(exc).__name__}: {exc}"
                raise ClusterError(f"{what}: still failing after {timeout_s:.0f}s: {detail}") \
                    from None
            time.sleep(interval_s)


def rng(seed=None):
    """A seeded Random (TESSERA_CLUSTER_SEED, else random); prints the seed."""
    if seed is None and os.environ.get("TESSERA_CLUSTER_SEED"):
        seed = int(os.environ["TESSERA_CLUSTER_SEED"])
    seed = seed if seed is not None else random.randrange(1 << 30)
    print(f"cluster harness: seed {seed}")
    return random.Random(seed)
