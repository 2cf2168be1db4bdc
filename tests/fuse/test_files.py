"""File data through the mount: create, write, read, append, truncate,
sparse writes, checksums against what the server holds."""

import errno
import hashlib
import os

import pytest

from fusetest import MiB, cli_get, read_file, write_file


def test_small_file_round_trip(tessera, d):
    local, remote = d
    write_file(os.path.join(local, "a.txt"), b"hello tessera\n")
    assert read_file(os.path.join(local, "a.txt")) == b"hello tessera\n"
    assert os.stat(os.path.join(local, "a.txt")).st_size == 14
    assert cli_get(tessera, remote + "/a.txt") == b"hello tessera\n"


@pytest.mark.parametrize("size", [3 * MiB + 17, 9 * MiB + 4095])
def test_large_file_checksum(tessera, d, size):
    local, remote = d
    data = os.urandom(size)
    path = os.path.join(local, "big.bin")
    with open(path, "wb") as f:
        # Writes of odd sizes cross the 4 MiB buffer and 1 MiB chunk edges.
        pos = 0
        while pos < size:
            n = min(777_777, size - pos)
            f.write(data[pos:pos + n])
            pos += n
    want = hashlib.sha256(data).hexdigest()
    assert os.stat(path).st_size == size
    assert hashlib.sha256(read_file(path)).hexdigest() == want
    assert hashlib.sha256(cli_get(tessera, remote + "/big.bin")).hexdigest() == want


def test_size_visible_while_buffered(d):
    local, _ = d
    path = os.path.join(local, "growing")
    with open(path, "wb") as f:
        f.write(b"x" * 1000)
        f.flush()
        assert os.stat(path).st_size == 1000
        assert os.fstat(f.fileno()).st_size == 1000


def test_append(tessera, d):
    local, remote = d
    path = os.path.join(local, "log")
    write_file(path, b"one\n")
    write_file(path, b"two\n", "ab")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"three\n")
        os.write(fd, b"four\n")
    finally:
        os.close(fd)
    assert read_file(path) == b"one\ntwo\nthree\nfour\n"
    assert cli_get(tessera, remote + "/log") == b"one\ntwo\nthree\nfour\n"


def test_truncate_shrink_grow_and_o_trunc(tessera, d):
    local, remote = d
    path = os.path.join(local, "t")
    write_file(path, b"0123456789")
    os.truncate(path, 4)
    assert read_file(path) == b"0123"
    os.truncate(path, 8)
    assert read_file(path) == b"0123\0\0\0\0"
    with open(path, "r+b") as f:
        f.write(b"ab")
        f.truncate(1)  # buffered bytes go first, then the cut
    assert read_file(path) == b"a"
    write_file(path, b"new")  # O_TRUNC on an existing file
    assert read_file(path) == b"new"
    assert cli_get(tessera, remote + "/t") == b"new"


def test_writes_at_offsets_and_holes(d):
    local, _ = d
    path = os.path.join(local, "sparse")
    model = bytearray()
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        for off, chunk in [(0, b"a" * 10), (2 * MiB, b"b" * 100), (5, b"c" * 10),
                           (MiB - 3, b"d" * 6), (2 * MiB + 50, b"e" * 100)]:
            os.pwrite(fd, chunk, off)
            if len(model) < off + len(chunk):
                model.extend(b"\0" * (off + len(chunk) - len(model)))
            model[off:off + len(chunk)] = chunk
        assert os.pread(fd, 20, 0) == bytes(model[:20])  # read-after-write, same handle
    finally:
        os.close(fd)
    assert read_file(path) == bytes(model)


def test_read_only_create_mode_applies_after_close(tessera, d):
    local, remote = d
    path = os.path.join(local, "obj")
    # As git writes its objects: create 0444, write through that descriptor.
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o444)
    try:
        os.write(fd, b"blob")
    finally:
        os.close(fd)
    assert read_file(path) == b"blob"
    assert os.stat(path).st_mode & 0o777 == 0o444


def test_unlinked_open_file_stays_usable(d):
    local, _ = d
    path = os.path.join(local, "tmp")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.write(fd, b"before")
        os.unlink(path)
        assert not os.path.exists(path)
        os.write(fd, b" after")
        assert os.pread(fd, 100, 0) == b"before after"
    finally:
        os.close(fd)
    assert os.listdir(local) == []


def test_two_handles_see_each_others_writes(d):
    local, _ = d
    path = os.path.join(local, "shared")
    write_file(path, b"")
    with open(path, "r+b", buffering=0) as w, open(path, "rb", buffering=0) as r:
        w.write(b"visible")
        assert os.pread(r.fileno(), 100, 0) == b"visible"


def test_fsync_makes_data_visible_to_the_server(tessera, d):
    local, remote = d
    path = os.path.join(local, "synced")
    with open(path, "wb") as f:
        f.write(b"durable")
        f.flush()
        os.fsync(f.fileno())
        assert cli_get(tessera, remote + "/synced") == b"durable"


def test_utimens_is_refused_honestly(d):
    local, _ = d
    path = os.path.join(local, "times")
    write_file(path, b"x")
    with pytest.raises(OSError) as e:
        os.utime(path, (1_000_000, 1_000_000))
    assert e.value.errno == errno.ENOSYS


def test_open_file_follows_renames(tessera, d):
    local, remote = d
    os.mkdir(os.path.join(local, "dir"))
    with open(os.path.join(local, "dir", "f"), "wb") as f:
        f.write(b"before ")
        os.rename(os.path.join(local, "dir"), os.path.join(local, "moved"))
        f.write(b"after")
    assert read_file(os.path.join(local, "moved", "f")) == b"before after"
    assert cli_get(tessera, remote + "/moved/f") == b"before after"


def test_o_trunc_after_buffered_writes_of_another_handle(d):
    local, _ = d
    path = os.path.join(local, "f")
    with open(path, "wb") as first:
        first.write(b"buffered bytes")
        first.flush()  # to the mount, not yet to the cluster
        with open(path, "wb") as second:  # O_TRUNC: the buffered bytes go first
            second.write(b"new")
    assert read_file(path) == b"new"
