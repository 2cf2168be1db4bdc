"""Directories, names and attributes through the mount."""

import errno
import json
import os
import stat

import pytest

from fusetest import RENAME_EXCHANGE, RENAME_NOREPLACE, read_file, renameat2, write_file


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, f"expected {errno.errorcode[code]}, got {e.value!r}"


def test_mkdir_readdir_many_entries(tessera, d):
    local, remote = d
    names = [f"f{i:05d}" for i in range(2500)]  # more than one List page
    for n in names:
        os.close(os.open(os.path.join(local, n), os.O_CREAT | os.O_WRONLY, 0o644))
    os.mkdir(os.path.join(local, "sub"))
    listed = sorted(os.listdir(local))
    assert listed == sorted(names + ["sub"])
    # readdirplus: the kinds come with the listing.
    kinds = {e.name: e.is_dir() for e in os.scandir(local)}
    assert kinds["sub"] and not kinds["f00000"]
    sizes = {e.name: e.stat().st_size for e in os.scandir(local)}
    assert sizes["f02499"] == 0
    assert len(tessera.admin.list(remote)) == 2501


def test_rmdir(d):
    local, _ = d
    os.makedirs(os.path.join(local, "a", "b"))
    expect_errno(errno.ENOTEMPTY, os.rmdir, os.path.join(local, "a"))
    os.rmdir(os.path.join(local, "a", "b"))
    os.rmdir(os.path.join(local, "a"))
    assert not os.path.exists(os.path.join(local, "a"))
    write_file(os.path.join(local, "f"), b"")
    expect_errno(errno.ENOTDIR, os.rmdir, os.path.join(local, "f"))
    expect_errno(errno.ENOENT, os.rmdir, os.path.join(local, "missing"))


def test_rename_file_dir_and_replace(tessera, d):
    local, remote = d
    write_file(os.path.join(local, "a"), b"A")
    os.rename(os.path.join(local, "a"), os.path.join(local, "b"))
    assert not os.path.exists(os.path.join(local, "a"))
    assert read_file(os.path.join(local, "b")) == b"A"
    os.makedirs(os.path.join(local, "dir", "inner"))
    write_file(os.path.join(local, "dir", "inner", "x"), b"X")
    os.rename(os.path.join(local, "dir"), os.path.join(local, "moved"))
    assert read_file(os.path.join(local, "moved", "inner", "x")) == b"X"
    # Replacing an existing file.
    write_file(os.path.join(local, "c"), b"C")
    os.rename(os.path.join(local, "c"), os.path.join(local, "b"))
    assert read_file(os.path.join(local, "b")) == b"C"
    assert sorted(os.listdir(local)) == ["b", "moved"]
    names = [e["path"] for e in json.loads(tessera.cli_ok("--json", "ls", remote))]
    assert sorted(n.rsplit("/", 1)[1] for n in names) == ["b", "moved"]


def test_rename_noreplace_and_exchange(d):
    local, _ = d
    a, b = os.path.join(local, "a"), os.path.join(local, "b")
    write_file(a, b"A")
    write_file(b, b"B")
    expect_errno(errno.EEXIST, renameat2, a, b, RENAME_NOREPLACE)
    assert read_file(b) == b"B"
    expect_errno(errno.EINVAL, renameat2, a, b, RENAME_EXCHANGE)
    renameat2(a, os.path.join(local, "c"), RENAME_NOREPLACE)
    assert read_file(os.path.join(local, "c")) == b"A"


def test_rename_errors(d):
    local, _ = d
    os.makedirs(os.path.join(local, "full", "x"))
    os.mkdir(os.path.join(local, "empty"))
    write_file(os.path.join(local, "f"), b"")
    expect_errno(errno.ENOTEMPTY, os.rename, os.path.join(local, "empty"), os.path.join(local, "full"))
    expect_errno(errno.EISDIR, os.rename, os.path.join(local, "f"), os.path.join(local, "empty"))
    expect_errno(errno.ENOTDIR, os.rename, os.path.join(local, "empty"), os.path.join(local, "f"))
    expect_errno(errno.ENOENT, os.rename, os.path.join(local, "nope"), os.path.join(local, "g"))


def test_unlink(d):
    local, _ = d
    write_file(os.path.join(local, "f"), b"x")
    os.unlink(os.path.join(local, "f"))
    assert not os.path.exists(os.path.join(local, "f"))
    expect_errno(errno.ENOENT, os.unlink, os.path.join(local, "f"))
    os.mkdir(os.path.join(local, "dir"))
    expect_errno(errno.EISDIR, os.unlink, os.path.join(local, "dir"))


def test_symlink_readlink(d):
    local, _ = d
    write_file(os.path.join(local, "target"), b"through the link")
    os.symlink("target", os.path.join(local, "link"))
    assert os.readlink(os.path.join(local, "link")) == "target"
    assert stat.S_ISLNK(os.lstat(os.path.join(local, "link")).st_mode)
    assert read_file(os.path.join(local, "link")) == b"through the link"
    os.symlink("nowhere", os.path.join(local, "dangling"))
    expect_errno(errno.ENOENT, read_file, os.path.join(local, "dangling"))
    expect_errno(errno.EEXIST, os.symlink, "x", os.path.join(local, "link"))


def test_hard_link(d):
    local, _ = d
    a, b = os.path.join(local, "a"), os.path.join(local, "b")
    write_file(a, b"shared")
    os.link(a, b)
    sa, sb = os.stat(a), os.stat(b)
    assert sa.st_ino == sb.st_ino
    assert sa.st_nlink == 2 and sb.st_nlink == 2
    write_file(b, b"changed")
    assert read_file(a) == b"changed"
    os.unlink(a)
    assert os.stat(b).st_nlink == 1
    assert read_file(b) == b"changed"
    os.mkdir(os.path.join(local, "dir"))
    expect_errno(errno.EPERM, os.link, os.path.join(local, "dir"), os.path.join(local, "dir2"))


def test_chmod_and_chown(tessera, d):
    local, remote = d
    path = os.path.join(local, "f")
    write_file(path, b"x")
    os.chmod(path, 0o640)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    st = json.loads(tessera.cli_ok("--json", "stat", remote + "/f"))
    assert st["mode"] == 0o640
    tessera.cli_ok("user", "create", "chowned")
    users = json.loads(tessera.cli_ok("--json", "user", "ls"))
    uid = next(u["uid"] for u in users if u["name"] == "chowned")
    os.chown(path, uid, -1)
    assert os.stat(path).st_uid == uid
    st = json.loads(tessera.cli_ok("--json", "stat", remote + "/f"))
    assert st["owner"] == "chowned"
    expect_errno(errno.EINVAL, os.chown, path, 4242, -1)


def test_errnos(d):
    local, _ = d
    expect_errno(errno.ENOENT, open, os.path.join(local, "missing"), "rb")
    expect_errno(errno.ENOENT, os.stat, os.path.join(local, "missing", "deeper"))
    write_file(os.path.join(local, "f"), b"")
    expect_errno(errno.EEXIST, os.open, os.path.join(local, "f"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    expect_errno(errno.EEXIST, os.mkdir, os.path.join(local, "f"))
    expect_errno(errno.ENOTDIR, os.stat, os.path.join(local, "f", "x"))
    expect_errno(errno.ENAMETOOLONG, os.stat, os.path.join(local, "n" * 256))
    expect_errno(errno.EISDIR, open, local, "wb")


def test_tables_and_streams_are_listed_but_not_opened(tessera, d):
    local, remote = d
    tessera.cli_ok("table", "create", remote + "/users")
    tessera.cli_ok("stream", "create", remote + "/events")
    assert sorted(os.listdir(local)) == ["events", "users"]
    for name, kind in [("users", b"table"), ("events", b"stream")]:
        path = os.path.join(local, name)
        assert stat.S_ISREG(os.stat(path).st_mode)
        assert os.getxattr(path, "user.tessera.kind") == kind
        expect_errno(errno.ENODEV, open, path, "rb")
        expect_errno(errno.ENODEV, open, path, "r+b")
    write_file(os.path.join(local, "f"), b"")
    assert os.getxattr(os.path.join(local, "f"), "user.tessera.kind") == b"file"
    assert os.getxattr(local, "user.tessera.kind") == b"directory"
    assert os.listxattr(os.path.join(local, "users")) == ["user.tessera.kind"]
    expect_errno(errno.ENODATA, os.getxattr, os.path.join(local, "f"), "user.other")


def test_statfs(fs):
    s = os.statvfs(fs.path)
    assert s.f_bsize > 0 and s.f_blocks > 0 and s.f_bavail <= s.f_blocks
    assert s.f_namemax == 255
