"""Fixtures for the FUSE suite: `tessera mount` against a real tesserad.

`tessera`: one fresh tesserad per test module on free loopback ports with
a temporary data directory (the e2e suite's fixture, tests/e2e/conftest.py).
`mount(path, creds=None, options=())`: runs `tessera mount PATH MOUNTPOINT
--foreground` in the background with the admin's (or `creds`') credentials
file, waits until the mount point is a mount, and returns a Mount. Every
mount still up at teardown is unmounted (SIGTERM, then `fusermount3 -uz`)
and its process killed if it lingers, whatever the test did.

The whole suite is skipped when /dev/fuse cannot be opened (no FUSE in
this kernel or container).
"""

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402  (tests/e2e/harness.py)

MOUNT_TIMEOUT_S = 20.0
UNMOUNT_TIMEOUT_S = 30.0


def _fuse_unusable():
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as e:
        return f"/dev/fuse cannot be opened ({e.strerror}): FUSE is not available here"
    os.close(fd)
    return None


def pytest_collection_modifyitems(config, items):
    reason = _fuse_unusable()
    if reason is None:
        return
    for item in items:
        item.add_marker(pytest.mark.skip(reason=reason))


class Mount:
    """One `tessera mount --foreground` process and its mount point."""

    def __init__(self, server, path, creds, options, root):
        self.server = server
        self.tessera_path = path
        self.path = tempfile.mkdtemp(prefix="mnt-", dir=root)
        self.log_path = self.path + ".log"
        env = server._env()
        env["TESSERA_ENDPOINT"] = server.grpc_addr
        env["TESSERA_CREDENTIALS"] = creds or server.creds_path
        args = [harness.TESSERA_CLI, "mount", path, self.path, "--foreground"]
        for o in options:
            args += ["-o", o]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not os.path.ismount(self.path):
            if self.proc.poll() is not None:
                pytest.fail(f"tessera mount exited with {self.proc.returncode}: {self.log()}",
                            pytrace=False)
            if time.monotonic() > deadline:
                self.close()
                pytest.fail(f"{self.path} not mounted after {MOUNT_TIMEOUT_S}s: {self.log()}",
                            pytrace=False)
            time.sleep(0.05)

    def p(self, *parts):
        """A path inside the mount."""
        return os.path.join(self.path, *parts)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def terminate(self, sig=signal.SIGTERM, timeout=UNMOUNT_TIMEOUT_S):
        """Signals the mount process and waits for it; returns its exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.terminate()
        if os.path.ismount(self.path):
            subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if os.path.ismount(self.path):
            subprocess.run(["umount", "-l", self.path], capture_output=True)
        with contextlib.suppress(OSError):
            os.rmdir(self.path)


def _load_e2e_conftest():
    spec = importlib.util.spec_from_file_location(
        "e2e_conftest", os.path.join(HERE, "..", "e2e", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The e2e suite's own fixture (one tesserad per module, stopped at teardown
# and reported if it died) and its hook adding the daemon's log to failures.
_e2e = _load_e2e_conftest()
tessera = _e2e.tessera
pytest_runtest_makereport = _e2e.pytest_runtest_makereport


@pytest.fixture(scope="module")
def mount(tessera):
    """mount(path, creds=None, options=()) -> Mount; unmounted at the end
    of the module."""
    made = []

    def make(path, creds=None, options=()):
        m = Mount(tessera, path, creds, options, tessera.root)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


@pytest.fixture(scope="module")
def fs(tessera, mount):
    """The root volume's /fs directory, mounted as the admin."""
    tessera.cli_ok("mkdir", "/fs")
    return mount("/fs")


@pytest.fixture
def d(fs, request):
    """A fresh directory inside the `fs` mount for one test: (local path,
    Tessera path)."""
    name = request.node.name.replace("[", "-").replace("]", "")[:100]
    os.mkdir(fs.p(name))
    return fs.p(name), "/fs/" + name
