"""The mount as a whole: its lifecycle (SIGTERM, fusermount3 -u, the
background mode), consistency between two mounts, options, volumes, quota,
and a second, non-admin principal."""

import errno
import os
import signal
import stat
import subprocess
import time

import pytest

import harness
from fusetest import MiB, cli_get, read_file, user_credentials, write_file


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, f"expected {errno.errorcode[code]}, got {e.value!r}"


def test_second_mount_sees_writes_after_close(tessera, mount):
    tessera.cli_ok("mkdir", "/c2o")
    a = mount("/c2o")
    b = mount("/c2o")
    write_file(a.p("f"), b"first")
    assert read_file(b.p("f")) == b"first"  # b now caches the size 5
    write_file(a.p("f"), b"second version, longer")
    assert read_file(b.p("f")) == b"second version, longer"
    os.mkdir(a.p("dir"))
    write_file(a.p("dir", "g"), b"g")
    assert os.listdir(b.p("dir")) == ["g"]
    os.unlink(a.p("dir", "g"))
    deadline = time.monotonic() + 5
    while os.path.exists(b.p("dir", "g")) and time.monotonic() < deadline:
        time.sleep(0.1)  # the entry cache lives entry_timeout (1 s)
    assert not os.path.exists(b.p("dir", "g"))


def test_sigterm_flushes_buffered_writes(tessera, mount):
    tessera.cli_ok("mkdir", "/term")
    m = mount("/term")
    data = os.urandom(MiB + 123)  # below the 4 MiB send threshold: still buffered
    fd = os.open(m.p("open-at-exit"), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, data)
    assert m.terminate() == 0, m.log()
    assert not os.path.ismount(m.path)
    try:
        os.close(fd)
    except OSError:
        pass  # the mount is gone under the descriptor
    assert cli_get(tessera, "/term/open-at-exit") == data


def test_fusermount_unmount_ends_the_process(tessera, mount):
    tessera.cli_ok("mkdir", "/fum")
    m = mount("/fum")
    write_file(m.p("x"), b"x")
    subprocess.run(["fusermount3", "-u", m.path], check=True, capture_output=True)
    assert m.proc.wait(30) == 0, m.log()
    assert cli_get(tessera, "/fum/x") == b"x"


def test_background_mount(tessera):
    tessera.cli_ok("mkdir", "/bg")
    mp = os.path.join(tessera.root, "bg-mnt")
    os.mkdir(mp)
    env = {"TESSERA_ENDPOINT": tessera.grpc_addr, "TESSERA_CREDENTIALS": tessera.creds_path}
    try:
        out = tessera.cli_ok("mount", "/bg", mp, env=env)
        assert out == ""
        assert os.path.ismount(mp)
        write_file(os.path.join(mp, "f"), b"daemon")
        assert cli_get(tessera, "/bg/f") == b"daemon"
    finally:
        subprocess.run(["fusermount3", "-u", mp], capture_output=True)
        deadline = time.monotonic() + 10
        while os.path.ismount(mp) and time.monotonic() < deadline:
            time.sleep(0.1)
        if os.path.ismount(mp):
            subprocess.run(["fusermount3", "-u", "-z", mp], capture_output=True)
    # Errors reach the caller even in the background.
    err = tessera.cli_fail("mount", "/no/such/path", mp, env=env)
    assert "not found" in err
    err = tessera.cli_fail("mount", "/bg", mp, "-o", "bogus", env=env)
    assert "bogus" in err


def test_direct_io_and_cache_options(tessera, mount):
    tessera.cli_ok("mkdir", "/dio")
    m = mount("/dio", options=["direct_io,attr_timeout=0.2", "entry_timeout=0"])
    data = os.urandom(2 * MiB + 5)
    write_file(m.p("f"), data)
    assert read_file(m.p("f")) == data
    with open(m.p("f"), "rb", buffering=0) as f:
        f.seek(MiB)
        assert f.read(10) == data[MiB:MiB + 10]
    ro = mount("/dio", options=["ro"])
    assert read_file(ro.p("f")) == data
    expect_errno(errno.EROFS, write_file, ro.p("g"), b"x")
    expect_errno(errno.EROFS, os.unlink, ro.p("f"))


def test_volumes_exdev_ebusy_quota(tessera, mount):
    tessera.cli_ok("mkdir", "/vols")
    tessera.cli_ok("volume", "create", "/vols/q", "--quota", "2M")
    m = mount("/vols")
    write_file(m.p("outside"), b"o")
    expect_errno(errno.EXDEV, os.rename, m.p("outside"), m.p("q", "inside"))
    expect_errno(errno.EXDEV, os.link, m.p("outside"), m.p("q", "inside"))
    expect_errno(errno.EBUSY, os.rmdir, m.p("q"))
    expect_errno(errno.EBUSY, os.rename, m.p("q"), m.p("r"))
    assert os.getxattr(m.p("q"), "user.tessera.kind") == b"volume"
    assert stat.S_ISDIR(os.stat(m.p("q")).st_mode)
    assert "q" in os.listdir(m.path)
    # Inode numbers of the two volumes do not collide.
    write_file(m.p("q", "inside"), b"i")
    assert os.stat(m.p("q", "inside")).st_ino != os.stat(m.p("outside")).st_ino

    q = mount("/vols/q")
    s = os.statvfs(q.path)
    assert s.f_blocks * s.f_frsize == 2 * MiB
    with pytest.raises(OSError) as e:
        with open(q.p("too-big"), "wb") as f:
            f.write(os.urandom(3 * MiB))
    assert e.value.errno == errno.EDQUOT


def test_second_user_is_denied(tessera, mount):
    tessera.cli_ok("mkdir", "/shared")
    tessera.cli_ok("chmod", "755", "/shared")
    admin = mount("/shared")
    write_file(admin.p("private"), b"secret")
    os.chmod(admin.p("private"), 0o600)
    write_file(admin.p("public"), b"hello")
    os.chmod(admin.p("public"), 0o644)
    os.mkdir(admin.p("open"), 0o777)
    os.chmod(admin.p("open"), 0o777)

    bob = mount("/shared", creds=user_credentials(tessera, "bob"))
    assert sorted(os.listdir(bob.path)) == ["open", "private", "public"]
    expect_errno(errno.EACCES, open, bob.p("private"), "rb")
    expect_errno(errno.EACCES, open, bob.p("public"), "ab")
    assert read_file(bob.p("public")) == b"hello"
    assert os.access(bob.p("public"), os.R_OK)
    assert not os.access(bob.p("public"), os.W_OK)
    assert not os.access(bob.p("private"), os.R_OK)
    expect_errno(errno.EACCES, write_file, bob.p("new"), b"x")
    expect_errno(errno.EACCES, os.mkdir, bob.p("newdir"))
    expect_errno(errno.EACCES, os.unlink, bob.p("public"))
    expect_errno(errno.EPERM, os.chmod, bob.p("public"), 0o666)
    # In a directory open to all, bob creates and owns files.
    write_file(bob.p("open", "mine"), b"bob's")
    st = os.stat(admin.p("open", "mine"))
    assert read_file(admin.p("open", "mine")) == b"bob's"
    users = {u.name: u.uid for u in tessera.adm.ListUsers(harness.pb.ListUsersRequest()).users}
    assert st.st_uid == users["bob"]
    assert os.stat(bob.p("open", "mine")).st_uid == os.getuid()  # bob's own files: the mounting user


def test_unmount_with_open_files_after_signal(tessera, mount):
    """SIGINT ends the mount like SIGTERM."""
    tessera.cli_ok("mkdir", "/intr")
    m = mount("/intr")
    with open(m.p("f"), "wb") as f:
        f.write(b"kept")
    assert m.terminate(signal.SIGINT) == 0, m.log()
    assert cli_get(tessera, "/intr/f") == b"kept"
