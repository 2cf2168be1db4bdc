"""Helpers shared by the FUSE test modules."""

import ctypes
import ctypes.util
import os
import subprocess

import harness  # tests/e2e/harness.py (conftest.py puts it on sys.path)

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
AT_FDCWD = -100
MiB = 1 << 20

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def renameat2(src, dst, flags):
    """renameat2(2); raises OSError with the errno."""
    rc = _libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst),
                         ctypes.c_uint(flags))
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), src)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def user_credentials(server, name):
    """Creates user `name` and an access key with the CLI; returns the path
    of its credentials file."""
    server.cli_ok("user", "create", name)
    text = server.cli_ok("key", "create", name)
    path = os.path.join(server.root, f"{name}.credentials")
    with open(path, "w") as f:
        f.write(text)
    return path


def cli_get(server, path):
    """A file's bytes as the server has them (tessera get PATH -)."""
    e = server._env()
    e["TESSERA_ENDPOINT"] = server.grpc_addr
    e["TESSERA_CREDENTIALS"] = server.creds_path
    p = subprocess.run([harness.TESSERA_CLI, "get", path, "-"], capture_output=True, env=e,
                       timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


