"""One namespace: directories, files, tables, streams and symlinks side by
side; stat, rename, remove, links; path syntax and error codes."""

import posixpath

import pytest

from harness import expect_errc, pb, wait_until


def names(entries):
    return {posixpath.basename(e.path.rstrip("/")): e for e in entries}


def make_mixed_dir(t, d):
    t.admin.mkdir(d)
    t.admin.mkdir(f"{d}/sub")
    t.admin.put_file(f"{d}/file.txt", b"hello")
    t.admin.create_table(f"{d}/users")
    t.admin.create_stream(f"{d}/events")
    t.ns.Symlink(pb.SymlinkRequest(path=f"{d}/link", target=f"{d}/file.txt"))


def test_mkdir_parents_creates_every_level(tessera):
    t = tessera
    base = t.unique("mk")
    st = t.admin.mkdir(f"{base}/a/b/c", parents=True)
    assert st.kind == pb.KIND_DIRECTORY
    for p in (base, f"{base}/a", f"{base}/a/b", f"{base}/a/b/c"):
        st = t.admin.stat(p)
        assert st.kind == pb.KIND_DIRECTORY, p
        assert st.mode & 0o7777 == 0o755, f"{p}: default dir mode {oct(st.mode)}"
        assert st.owner == "admin"
    # -p on an existing directory is not an error.
    t.admin.mkdir(f"{base}/a/b", parents=True)
    # Without -p: an existing path and a missing parent are errors.
    expect_errc("already_exists", t.admin.mkdir, f"{base}/a")
    expect_errc("not_found", t.admin.mkdir, f"{base}/missing/x")


def test_list_shows_every_kind_side_by_side(tessera):
    t = tessera
    d = t.unique("mix")
    make_mixed_dir(t, d)
    got = names(t.admin.list(d))
    assert set(got) == {"sub", "file.txt", "users", "events", "link"}
    assert got["sub"].kind == pb.KIND_DIRECTORY
    assert got["file.txt"].kind == pb.KIND_FILE
    assert got["file.txt"].size == 5
    assert got["users"].kind == pb.KIND_TABLE
    assert got["events"].kind == pb.KIND_STREAM
    assert got["link"].kind == pb.KIND_SYMLINK
    assert got["link"].symlink_target == f"{d}/file.txt"


def test_list_pages_with_tokens(tessera):
    t = tessera
    d = t.unique("pages")
    t.admin.mkdir(d)
    want = {f"e{i:02d}" for i in range(23)}
    for n in want:
        t.admin.put_file(f"{d}/{n}", b"")
    first = t.ns.List(pb.ListRequest(path=d, limit=5))
    assert len(first.entries) == 5
    assert first.next_page_token, "a partial listing must return a page token"
    all_entries = t.admin.list(d, limit=5)
    listed = [posixpath.basename(e.path) for e in all_entries]
    assert sorted(listed) == sorted(want), "paging must list every entry exactly once"


def test_cli_ls_and_ls_long(tessera):
    t = tessera
    d = t.unique("clils")
    make_mixed_dir(t, d)
    out = t.cli_ok("ls", d)
    for n in ("sub", "file.txt", "users", "events", "link"):
        assert n in out, f"ls {d} does not show {n}: {out!r}"
    out = t.cli_ok("ls", "-l", d)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    for n in ("sub", "file.txt", "users", "events", "link"):
        line = [ln for ln in lines if n in ln]
        assert line, f"ls -l {d} does not show {n}: {out!r}"
        assert "admin" in line[0], f"ls -l must show the owner: {line[0]!r}"
    # Kinds are distinguishable in the long listing.
    kinds = {n: next(ln for ln in lines if n in ln).split()[0]
             for n in ("sub", "file.txt", "users", "events")}
    assert len(set(kinds.values())) == 4, f"ls -l does not tell kinds apart: {out!r}"


def test_stat_reports_kind_size_owner_and_version(tessera):
    t = tessera
    d = t.unique("stat")
    t.admin.mkdir(d)
    t.admin.put_file(f"{d}/f", b"0123456789")
    st = t.admin.stat(f"{d}/f")
    assert st.kind == pb.KIND_FILE
    assert st.size == 10
    assert st.mode & 0o7777 == 0o644
    assert st.owner == "admin"
    assert st.group, "files have a group"
    assert st.nlink == 1
    assert st.mtime_ms > 0
    assert st.inode != 0
    v = st.version
    t.admin.write(f"{d}/f", b"abc", offset=10, create=False)
    st2 = t.admin.stat(f"{d}/f")
    assert st2.size == 13
    assert st2.version > v, "every change bumps the version"
    assert st2.mtime_ms >= st.mtime_ms
    tb = t.admin.create_table(f"{d}/tb")
    assert tb.kind == pb.KIND_TABLE and tb.mode & 0o7777 == 0o644
    t.admin.put_row(f"{d}/tb", "k1", {"a": 1})
    t.admin.put_row(f"{d}/tb", "k2", {"a": 2})
    # Tablets report their rows to the table about once a second.
    wait_until(lambda: t.admin.stat(f"{d}/tb").rows == 2, 10, what="2 rows reported")
    s = t.admin.create_stream(f"{d}/s", topic="t1", retention_age_ms=3600_000,
                              retention_bytes=1 << 20)
    assert s.mode & 0o7777 == 0o644
    st = t.admin.stat(f"{d}/s")
    assert st.kind == pb.KIND_STREAM
    assert st.retention_age_ms == 3600_000
    assert st.retention_bytes == 1 << 20
    assert st.topics == 1
    # The CLI's stat names the object.
    out = t.cli_ok("stat", f"{d}/f")
    assert f"{d}/f" in out or "f" in out


def test_rename_moves_objects_and_subtrees(tessera):
    t = tessera
    d = t.unique("mv")
    t.admin.mkdir(f"{d}/src/inner", parents=True)
    t.admin.mkdir(f"{d}/dst")
    t.admin.put_file(f"{d}/src/inner/f", b"payload")
    t.admin.create_table(f"{d}/src/tb")
    t.admin.put_row(f"{d}/src/tb", "k", {"v": 1})
    # A directory with its subtree.
    t.ns.Rename(pb.RenameRequest(src=f"{d}/src", dst=f"{d}/dst/moved"))
    expect_errc("not_found", t.admin.stat, f"{d}/src")
    assert t.admin.read(f"{d}/dst/moved/inner/f") == b"payload"
    assert t.admin.get_row(f"{d}/dst/moved/tb", "k").document
    # A file to a new name.
    t.ns.Rename(pb.RenameRequest(src=f"{d}/dst/moved/inner/f", dst=f"{d}/g"))
    assert t.admin.read(f"{d}/g") == b"payload"
    # no_replace refuses an existing destination and leaves both alone.
    t.admin.put_file(f"{d}/h", b"other")
    expect_errc("already_exists", t.ns.Rename,
                pb.RenameRequest(src=f"{d}/g", dst=f"{d}/h", no_replace=True))
    assert t.admin.read(f"{d}/g") == b"payload"
    assert t.admin.read(f"{d}/h") == b"other"
    # Without no_replace an existing file is replaced.
    t.ns.Rename(pb.RenameRequest(src=f"{d}/g", dst=f"{d}/h"))
    assert t.admin.read(f"{d}/h") == b"payload"
    expect_errc("not_found", t.admin.stat, f"{d}/g")
    # A directory cannot move into its own subtree.
    t.admin.mkdir(f"{d}/dst/moved/inner/deeper")
    expect_errc("invalid_argument", t.ns.Rename,
                pb.RenameRequest(src=f"{d}/dst/moved", dst=f"{d}/dst/moved/inner/deeper/x"))
    assert t.admin.stat(f"{d}/dst/moved/inner/deeper").kind == pb.KIND_DIRECTORY
    # Renaming a missing source.
    expect_errc("not_found", t.ns.Rename, pb.RenameRequest(src=f"{d}/nope", dst=f"{d}/x"))
    # The CLI mv.
    t.cli_ok("mv", f"{d}/h", f"{d}/h2")
    assert t.admin.read(f"{d}/h2") == b"payload"
    expect_errc("not_found", t.admin.stat, f"{d}/h")


def test_remove_and_recursive_remove(tessera):
    t = tessera
    d = t.unique("rm")
    make_mixed_dir(t, d)
    t.admin.put_file(f"{d}/sub/deep", b"x")
    expect_errc("not_empty", t.ns.Remove, pb.RemoveRequest(path=d))
    expect_errc("not_empty", t.ns.Remove, pb.RemoveRequest(path=f"{d}/sub"))
    assert t.admin.read(f"{d}/sub/deep") == b"x", "a refused rmdir removes nothing"
    t.ns.Remove(pb.RemoveRequest(path=f"{d}/file.txt"))
    expect_errc("not_found", t.admin.stat, f"{d}/file.txt")
    t.ns.Remove(pb.RemoveRequest(path=d, recursive=True))
    expect_errc("not_found", t.admin.stat, d)
    expect_errc("not_found", t.admin.stat, f"{d}/users")
    expect_errc("not_found", t.ns.Remove, pb.RemoveRequest(path=d))
    # CLI rm and rm -r.
    d2 = t.unique("rmcli")
    t.admin.mkdir(f"{d2}/a/b", parents=True)
    t.admin.put_file(f"{d2}/a/b/f", b"x")
    err = t.cli_fail("rm", f"{d2}/a")
    assert "not empty" in err or "not_empty" in err, err
    t.cli_ok("rm", "-r", f"{d2}/a")
    expect_errc("not_found", t.admin.stat, f"{d2}/a")


def test_symlink_is_stored_and_reported(tessera):
    t = tessera
    d = t.unique("sym")
    t.admin.mkdir(f"{d}/real", parents=True)
    t.admin.put_file(f"{d}/real/f", b"target data")
    st = t.ns.Symlink(pb.SymlinkRequest(path=f"{d}/l", target=f"{d}/real")).stat
    assert st.kind == pb.KIND_SYMLINK
    st = t.admin.stat(f"{d}/l")
    assert st.kind == pb.KIND_SYMLINK and st.symlink_target == f"{d}/real"
    expect_errc("already_exists", t.ns.Symlink,
                pb.SymlinkRequest(path=f"{d}/l", target=f"{d}/other"))
    # A dangling link is fine to create and stat.
    t.ns.Symlink(pb.SymlinkRequest(path=f"{d}/dangling", target=f"{d}/nothing"))
    assert t.admin.stat(f"{d}/dangling").symlink_target == f"{d}/nothing"
    # Removing a link leaves its target.
    t.ns.Remove(pb.RemoveRequest(path=f"{d}/l"))
    expect_errc("not_found", t.admin.stat, f"{d}/l")
    assert t.admin.read(f"{d}/real/f") == b"target data"


def test_stat_follow_symlinks(tessera):
    t = tessera
    d = t.unique("follow")
    t.admin.mkdir(f"{d}/real", parents=True)
    t.admin.put_file(f"{d}/real/f", b"target data")
    t.ns.Symlink(pb.SymlinkRequest(path=f"{d}/dl", target=f"{d}/real"))
    t.ns.Symlink(pb.SymlinkRequest(path=f"{d}/fl", target=f"{d}/real/f"))
    t.ns.Symlink(pb.SymlinkRequest(path=f"{d}/dangling", target=f"{d}/nothing"))
    st = t.admin.stat(f"{d}/fl", follow=True)
    assert st.kind == pb.KIND_FILE and st.size == len(b"target data"), st
    assert t.admin.stat(f"{d}/dl", follow=True).kind == pb.KIND_DIRECTORY
    expect_errc("not_found", t.admin.stat, f"{d}/dangling", follow=True)


def test_hard_link_shares_data(tessera):
    t = tessera
    d = t.unique("ln")
    t.admin.mkdir(d)
    t.admin.put_file(f"{d}/a", b"shared")
    st = t.ns.Link(pb.LinkRequest(src=f"{d}/a", dst=f"{d}/b")).stat
    assert st.nlink == 2
    assert t.admin.stat(f"{d}/a").inode == t.admin.stat(f"{d}/b").inode
    t.admin.write(f"{d}/b", b"SH", create=False)
    assert t.admin.read(f"{d}/a") == b"SHared"
    t.ns.Remove(pb.RemoveRequest(path=f"{d}/a"))
    assert t.admin.read(f"{d}/b") == b"SHared"
    assert t.admin.stat(f"{d}/b").nlink == 1


BAD_PATHS = [
    "",
    "relative",
    "rel/ative",
    "/a//b",
    "/a/../b",
    "/a/./b",
    "/" + "x" * 256,
    "/a/" + "y" * 256 + "/c",
    "/a\x00b",
    "/" + "/".join(["d" * 200] * 21),  # > 4096 bytes
]


@pytest.mark.parametrize("path", BAD_PATHS, ids=lambda p: repr(p[:24]))
def test_invalid_paths_are_rejected(tessera, path):
    t = tessera
    expect_errc("invalid_argument", t.admin.mkdir, path)
    expect_errc("invalid_argument", t.admin.stat, path)
    expect_errc("invalid_argument", t.admin.put_file, path, b"x")
    expect_errc("invalid_argument", t.admin.create_table, path)


def test_longest_component_is_accepted(tessera):
    t = tessera
    d = t.unique("long")
    name = "n" * 255
    t.admin.mkdir(d)
    t.admin.put_file(f"{d}/{name}", b"ok")
    assert t.admin.read(f"{d}/{name}") == b"ok"
    # 255 bytes of UTF-8 (multi-byte characters count as bytes).
    expect_errc("invalid_argument", t.admin.mkdir, f"{d}/" + "é" * 128)
    t.admin.mkdir(f"{d}/" + "é" * 127)


def test_missing_objects_are_not_found(tessera):
    t = tessera
    d = t.unique("missing")
    t.admin.mkdir(d)
    expect_errc("not_found", t.admin.stat, f"{d}/nope")
    expect_errc("not_found", t.admin.list, f"{d}/nope")
    expect_errc("not_found", t.admin.read, f"{d}/nope")
    expect_errc("not_found", t.admin.get_row, f"{d}/nope", "k")
    expect_errc("not_found", t.admin.fetch, f"{d}/nope", "t")
    expect_errc("not_found", t.admin.stat, f"/no-such-dir-{d[1:]}/x")
    # Writing without create does not make a file.
    expect_errc("not_found", t.admin.write, f"{d}/nope", b"x", create=False)
    expect_errc("not_found", t.admin.stat, f"{d}/nope")
    err = expect_errc("not_found", t.admin.stat, f"{d}/nope")
    assert f"{d}/nope" in err.details(), f"the message names the path: {err.details()!r}"


def test_wrong_kind_operations(tessera):
    t = tessera
    d = t.unique("kind")
    make_mixed_dir(t, d)
    f, tb, s = f"{d}/file.txt", f"{d}/users", f"{d}/events"
    # Table operations on a file and a stream.
    expect_errc("wrong_kind", t.admin.put_row, f, "k", {"a": 1})
    expect_errc("wrong_kind", t.admin.get_row, s, "k")
    # Stream operations on a table and a file.
    expect_errc("wrong_kind", t.admin.produce, tb, "t", [b"x"], 0)
    expect_errc("wrong_kind", t.admin.fetch, f, "t")
    # File operations on a table, and on a directory.
    expect_errc("wrong_kind", t.admin.read, tb)
    expect_errc(("is_a_directory", "wrong_kind"), t.admin.read, d)
    expect_errc(("is_a_directory", "wrong_kind"), t.admin.write, f"{d}/sub", b"x")
    # A file is not a directory.
    expect_errc("not_a_directory", t.admin.mkdir, f"{f}/child")
    expect_errc("not_a_directory", t.admin.put_file, f"{f}/child", b"x")
    # Creating an object over an existing one of another kind.
    expect_errc("already_exists", t.admin.create_table, f)
    expect_errc("already_exists", t.admin.create_stream, tb)
    assert t.admin.read(f) == b"hello", "failed operations leave the file alone"
