"""Test harness for Tessera's end-to-end suite.

`Server` runs one real `tesserad` on free loopback ports in a private data
directory; `Client` holds gRPC stubs bound to one access key. Tests reach
both through the fixtures in conftest.py.

Environment:
  TESSERAD, TESSERA_CLI   paths of the daemon and CLI binaries, or
  TESSERA_BIN_DIR         a directory holding both (or the build tree root)
  TESSERA_PYGEN           directory with generated tessera/v1/*_pb2*.py; when
                          unset the stubs are generated into a temporary
                          directory with /usr/bin/protoc.
  TESSERAD_ARGS           extra tesserad flags, space-separated (for example
                          "--file-data-shards 0" to run the suite without data shards)
"""

import atexit
import collections
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import grpc
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

READY_TIMEOUT_S = 20.0
RPC_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 60.0
MiB = 1 << 20


def _pygen_dir():
    d = os.environ.get("TESSERA_PYGEN")
    if d:
        return d
    out = tempfile.mkdtemp(prefix="tessera-pygen-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(
        ["protoc", "-I", os.path.join(REPO, "proto"), f"--python_out={out}",
         f"--grpc_out={out}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
         "tessera/v1/tessera.proto"],
        check=True)
    return out


sys.path.insert(0, _pygen_dir())
from tessera.v1 import tessera_pb2 as pb  # noqa: E402
from tessera.v1 import tessera_pb2_grpc as pbg  # noqa: E402


def _find_binary(env_name, name, subdir):
    p = os.environ.get(env_name)
    if p:
        return p
    candidates = []
    bin_dir = os.environ.get("TESSERA_BIN_DIR")
    if bin_dir:
        candidates += [os.path.join(bin_dir, name), os.path.join(bin_dir, "src", subdir, name)]
    for build in ("build/e2e", "build/release", "build/debug", "build"):
        candidates.append(os.path.join(REPO, build, "src", subdir, name))
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    return None


TESSERAD = _find_binary("TESSERAD", "tesserad", "node")
TESSERA_CLI = _find_binary("TESSERA_CLI", "tessera", "cli")

# ------------------------------------------------------------------ errors ---

# Tessera error code name -> gRPC status code, as the contract fixes it.
ERRC_GRPC = {
    "not_found": grpc.StatusCode.NOT_FOUND,
    "already_exists": grpc.StatusCode.ALREADY_EXISTS,
    "permission_denied": grpc.StatusCode.PERMISSION_DENIED,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "quota_exceeded": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "version_mismatch": grpc.StatusCode.FAILED_PRECONDITION,
    "not_empty": grpc.StatusCode.FAILED_PRECONDITION,
    "cross_volume": grpc.StatusCode.FAILED_PRECONDITION,
    "wrong_kind": grpc.StatusCode.FAILED_PRECONDITION,
    "not_a_directory": grpc.StatusCode.FAILED_PRECONDITION,
    "is_a_directory": grpc.StatusCode.FAILED_PRECONDITION,
    "invalid_argument": grpc.StatusCode.INVALID_ARGUMENT,
    "too_large": grpc.StatusCode.INVALID_ARGUMENT,
}


def errc(err):
    """The Tessera error code name (x-tessera-errc) of a grpc.RpcError."""
    for key, value in err.trailing_metadata() or ():
        if key == "x-tessera-errc":
            return value.decode() if isinstance(value, bytes) else value
    return None


def describe(err):
    return f"{err.code().name} errc={errc(err)!r} message={err.details()!r}"


def expect_errc(expected, fn, *args, **kwargs):
    """Calls fn(*args, **kwargs), which must fail with one of the Tessera
    error codes `expected` (a name or a tuple of names) carried with the gRPC
    status the contract maps it to. Returns the grpc.RpcError."""
    names = (expected,) if isinstance(expected, str) else tuple(expected)
    try:
        result = fn(*args, **kwargs)
        # Server-streaming calls fail while being iterated.
        if hasattr(result, "__iter__") and not isinstance(result, (bytes, str)) \
                and not hasattr(result, "DESCRIPTOR"):
            result = list(result)
    except grpc.RpcError as err:
        code = errc(err)
        assert code in names, f"expected errc in {names}, got {describe(err)}"
        want = ERRC_GRPC.get(code)
        if want is not None:
            assert err.code() == want, \
                f"errc {code} must map to gRPC {want.name}, got {describe(err)}"
        return err
    pytest.fail(f"expected an error with errc in {names}, call succeeded: {result!r}")


# ------------------------------------------------------------------ client ---

class _Details(collections.namedtuple(
        "_Details", ("method", "timeout", "metadata", "credentials",
                     "wait_for_ready", "compression")), grpc.ClientCallDetails):
    pass


class _Auth(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
            grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the access key to every call and a default deadline."""

    def __init__(self, key_id, secret):
        self._md = []
        if key_id is not None:
            self._md.append(("x-tessera-key-id", key_id))
        if secret is not None:
            self._md.append(("x-tessera-secret", secret))

    def _details(self, d):
        md = list(d.metadata or []) + self._md
        timeout = d.timeout if d.timeout is not None else RPC_TIMEOUT_S
        return _Details(d.method, timeout, md, d.credentials, d.wait_for_ready,
                        d.compression)

    def intercept_unary_unary(self, cont, d, req):
        return cont(self._details(d), req)

    def intercept_unary_stream(self, cont, d, req):
        return cont(self._details(d), req)

    def intercept_stream_unary(self, cont, d, it):
        return cont(self._details(d), it)

    def intercept_stream_stream(self, cont, d, it):
        return cont(self._details(d), it)


class Client:
    """gRPC stubs bound to one access key, plus small helpers."""

    def __init__(self, endpoint, user, key_id, secret, creds_path=None):
        self.endpoint = endpoint
        self.user = user
        self.key_id = key_id
        self.secret = secret
        self.creds_path = creds_path
        raw = grpc.insecure_channel(endpoint, options=[
            ("grpc.max_receive_message_length", 64 * MiB),
            ("grpc.max_send_message_length", 64 * MiB)])
        self._raw = raw
        ch = grpc.intercept_channel(raw, _Auth(key_id, secret))
        self.ns = pbg.NamespaceStub(ch)
        self.files = pbg.FilesStub(ch)
        self.tables = pbg.TablesStub(ch)
        self.streams = pbg.StreamsStub(ch)
        self.admin = pbg.AdminStub(ch)

    def close(self):
        self._raw.close()

    # namespace
    def stat(self, path, follow=False):
        return self.ns.Stat(pb.StatRequest(path=path, follow_symlinks=follow)).stat

    def mkdir(self, path, mode=0, parents=False):
        return self.ns.Mkdir(pb.MkdirRequest(path=path, mode=mode, parents=parents)).stat

    def list(self, path, limit=0):
        """All entries of a directory, following page tokens."""
        entries, token = [], ""
        for _ in range(10000):
            resp = self.ns.List(pb.ListRequest(path=path, limit=limit, page_token=token))
            entries.extend(resp.entries)
            token = resp.next_page_token
            if not token:
                return entries
        raise AssertionError(f"List {path}: page tokens never ended")

    def chmod(self, path, mode):
        return self.ns.Chmod(pb.ChmodRequest(path=path, mode=mode)).stat

    def set_acl(self, path, entries):
        self.ns.SetAcl(pb.SetAclRequest(path=path, entries=entries))

    # files
    def write(self, path, data, offset=0, append=False, create=True, truncate=False,
              chunk_bytes=MiB):
        """One Write stream sending `data` in pieces of chunk_bytes."""
        def gen():
            first = True
            pos = 0
            while first or pos < len(data):
                piece = data[pos:pos + chunk_bytes]
                req = pb.WriteRequest(data=piece, append=append)
                if not append:
                    req.offset = offset + pos
                if first:
                    req.path = path
                    req.create = create
                    req.truncate = truncate
                first = False
                pos += len(piece)
                yield req
        return self.files.Write(gen())

    def put_file(self, path, data):
        return self.write(path, data, create=True, truncate=True)

    def read(self, path, offset=0, length=0):
        out = bytearray()
        for msg in self.files.Read(pb.ReadRequest(path=path, offset=offset, length=length)):
            out += msg.data
        return bytes(out)

    # tables
    def create_table(self, path, mode=0):
        return self.tables.Create(pb.CreateTableRequest(path=path, mode=mode)).stat

    def put_row(self, path, key, doc, **kw):
        if isinstance(key, str):
            key = key.encode()
        if not isinstance(doc, str):
            doc = json.dumps(doc)
        return self.tables.Put(pb.PutRowRequest(path=path, key=key, document=doc, **kw)).version

    def get_row(self, path, key):
        if isinstance(key, str):
            key = key.encode()
        return self.tables.Get(pb.GetRowRequest(path=path, key=key)).row

    def scan_all(self, path, limit=0, page_token="", **kw):
        rows, token = [], page_token
        for _ in range(10000):
            resp = self.tables.Scan(pb.ScanRequest(path=path, limit=limit, page_token=token, **kw))
            rows.extend(resp.rows)
            token = resp.next_page_token
            if not token:
                return rows
        raise AssertionError(f"Scan {path}: page tokens never ended")

    # streams
    def create_stream(self, path, topic=None, partitions=1, **kw):
        st = self.streams.Create(pb.CreateStreamRequest(path=path, **kw)).stat
        if topic is not None:
            self.streams.CreateTopic(pb.CreateTopicRequest(stream=path, topic=topic,
                                                           partitions=partitions))
        return st

    def produce(self, stream, topic, records, partition=-1):
        recs = []
        for r in records:
            if isinstance(r, (bytes, str)):
                r = pb.Record(value=r.encode() if isinstance(r, str) else r)
            recs.append(r)
        return self.streams.Produce(pb.ProduceRequest(stream=stream, topic=topic,
                                                      partition=partition, records=recs))

    def fetch(self, stream, topic, partition=0, offset=0, max_bytes=0, max_wait_ms=0,
              timeout=None):
        return self.streams.Fetch(pb.FetchRequest(stream=stream, topic=topic,
                                                  partition=partition, offset=offset,
                                                  max_bytes=max_bytes,
                                                  max_wait_ms=max_wait_ms), timeout=timeout)

    def topic(self, stream, name):
        for t in self.streams.ListTopics(pb.ListTopicsRequest(stream=stream)).topics:
            if t.name == name:
                return t
        raise AssertionError(f"topic {name} not listed in {stream}")


def acl(spec):
    """AclEntry list from the CLI's spec syntax: "user:bob:rw,deny:group:g:w"."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        deny = False
        parts = item.split(":")
        if parts[0] in ("allow", "deny"):
            deny = parts[0] == "deny"
            parts = parts[1:]
        ptype, name, perms = parts[0], ":".join(parts[1:-1]), parts[-1]
        out.append(pb.AclEntry(deny=deny, principal_type=ptype, name=name,
                               read="r" in perms, write="w" in perms, admin="a" in perms))
    return out


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def parse_json_output(text):
    """CLI --json output: one JSON document, or one JSON value per line.
    Returns a list of values (a top-level array is flattened)."""
    text = text.strip()
    if not text:
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return value if isinstance(value, list) else [value]


def wait_until(pred, timeout_s, interval_s=0.2, what="condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


# ------------------------------------------------------------------ server ---

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_credentials(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def format_credentials(user, key_id, secret, endpoint):
    return (f"# Tessera credentials\nuser={user}\nkey_id={key_id}\n"
            f"secret={secret}\nendpoint={endpoint}\n")


class Server:
    """One tesserad process with its own data directory and loopback ports."""

    def __init__(self, root):
        if not TESSERAD or not TESSERA_CLI:
            pytest.fail("tesserad/tessera binaries not found: set TESSERAD and TESSERA_CLI "
                        "(or TESSERA_BIN_DIR)", pytrace=False)
        self.root = root
        self.data_dir = os.path.join(root, "data")
        self.home = os.path.join(root, "home")
        os.makedirs(self.home, exist_ok=True)
        self.log_path = os.path.join(root, "tesserad.log")
        self.proc = None
        self.clients = []
        self._users = 0
        self._paths = 0

    # lifecycle
    def start(self):
        last = ""
        for _attempt in range(3):
            self.grpc_port, self.http_port = free_port(), free_port()
            while self.http_port == self.grpc_port:
                self.http_port = free_port()
            self.grpc_addr = f"127.0.0.1:{self.grpc_port}"
            self.http_addr = f"127.0.0.1:{self.http_port}"
            self.kafka_port = free_port()
            self.kafka_addr = f"127.0.0.1:{self.kafka_port}"
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [TESSERAD, "--data-dir", self.data_dir, "--grpc-addr", self.grpc_addr,
                 "--http-addr", self.http_addr, "--kafka-addr", self.kafka_addr,
                 *os.environ.get("TESSERAD_ARGS", "").split()],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=self._env())
            log.close()
            if self._wait_ready():
                break
            last = self.log_tail()
            if self.proc.poll() is None:
                self.stop()
                pytest.fail(f"tesserad not ready after {READY_TIMEOUT_S}s; log:\n{last}",
                            pytrace=False)
            self.proc = None
        else:
            pytest.fail(f"tesserad exited before becoming ready; log:\n{last}", pytrace=False)
        self.creds_path = os.path.join(self.data_dir, "admin.credentials")
        wait_until(lambda: os.path.exists(self.creds_path), 5, 0.05, "admin.credentials")
        self.admin_creds = parse_credentials(open(self.creds_path).read())
        self.admin = self._client("admin", self.admin_creds["key_id"],
                                  self.admin_creds["secret"], self.creds_path)
        self.ns, self.files, self.tables = self.admin.ns, self.admin.files, self.admin.tables
        self.streams, self.adm = self.admin.streams, self.admin.admin

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env["HOME"] = self.home
        env.pop("XDG_DATA_HOME", None)
        return env

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                status, _, _ = self.http_get("/readyz", timeout=1)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def restart(self):
        """Stops the daemon (SIGTERM) and starts it again on the same data
        directory; returns the exit status of the stopped process."""
        rc = self.stop(expect_running=True)
        self.start()
        return rc

    def stop(self, expect_running=False):
        for c in self.clients:
            c.close()
        self.clients = []
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                rc = "killed (no exit within 10s of SIGTERM)"
        elif expect_running:
            rc = f"already exited with {rc}"
        self.proc = None
        return rc

    def log_tail(self, nbytes=8000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return f.read().decode(errors="replace")
        except OSError:
            return "(no log)"

    # clients
    def _client(self, user, key_id, secret, creds_path=None):
        c = Client(self.grpc_addr, user, key_id, secret, creds_path)
        self.clients.append(c)
        return c

    def client(self, key_id, secret, user="?"):
        """A client with arbitrary (possibly wrong, or None = absent) key."""
        return self._client(user, key_id, secret)

    def make_user(self, name=None, groups=(), admin=False):
        """Creates a user and an access key; returns its Client (with a
        credentials file at .creds_path)."""
        if name is None:
            self._users += 1
            name = f"user{self._users}"
        self.adm.CreateUser(pb.CreateUserRequest(name=name, groups=list(groups), admin=admin))
        return self.make_key(name)

    def make_key(self, name):
        key = self.adm.CreateKey(pb.CreateKeyRequest(user=name))
        assert key.key_id and key.secret, f"CreateKey({name}) returned an empty key"
        path = os.path.join(self.root, f"{name}-{key.key_id}.credentials")
        with open(path, "w") as f:
            f.write(format_credentials(name, key.key_id, key.secret, self.grpc_addr))
        return self._client(name, key.key_id, key.secret, path)

    def unique(self, prefix="t"):
        """A fresh absolute path directly under the root."""
        self._paths += 1
        return f"/{prefix}-{self._paths}"

    # CLI
    def cli(self, *args, creds=None, input=None, timeout=CLI_TIMEOUT_S, env=None,
            endpoint=True):
        """Runs the tessera CLI; returns (rc, stdout, stderr) as text.
        creds: a Client, a credentials file path, or None for admin."""
        if creds is None:
            creds = self.creds_path
        elif isinstance(creds, Client):
            creds = creds.creds_path
        e = self._env()
        if endpoint:
            e["TESSERA_ENDPOINT"] = self.grpc_addr
        if creds:
            e["TESSERA_CREDENTIALS"] = creds
        if env:
            e.update(env)
        if isinstance(input, str):
            input = input.encode()
        try:
            p = subprocess.run([TESSERA_CLI, *map(str, args)], input=input,
                               stdin=None if input is not None else subprocess.DEVNULL,
                               capture_output=True, timeout=timeout, env=e, cwd=self.root)
        except subprocess.TimeoutExpired:
            pytest.fail(f"tessera {' '.join(map(str, args))}: no exit within {timeout}s")
        return (p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"))

    def cli_ok(self, *args, **kw):
        rc, out, err = self.cli(*args, **kw)
        assert rc == 0, f"tessera {' '.join(map(str, args))} exited {rc}: {err.strip()}"
        return out

    def cli_fail(self, *args, **kw):
        rc, out, err = self.cli(*args, **kw)
        assert rc != 0, f"tessera {' '.join(map(str, args))} succeeded, expected failure: {out!r}"
        assert err.startswith("tessera: "), f"error must be 'tessera: <message>', got {err!r}"
        return err

    # HTTP
    def http_get(self, path, timeout=5):
        url = f"http://{self.http_addr}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode(errors="replace")


def start_server():
    root = tempfile.mkdtemp(prefix="tessera-e2e-")
    s = Server(root)
    s.start()
    return s


def stop_server(s, keep_on_failure=False):
    rc = s.stop()
    if not keep_on_failure:
        shutil.rmtree(s.root, ignore_errors=True)
    return rc
