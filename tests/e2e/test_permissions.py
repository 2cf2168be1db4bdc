"""One permission scheme for files, tables and streams: owner/group/mode
bits, ACLs where deny wins, admin rights for chmod/chown/setacl, parent
write for creating and removing entries, and authentication."""

import pytest

from harness import acl, expect_errc, pb


@pytest.fixture(scope="module")
def users(tessera):
    bob = tessera.make_user("bob")
    carol = tessera.make_user("carol")
    return bob, carol


def make_objects(t, mode):
    """A file, a table and a stream (topic "t") in a fresh 0755 directory."""
    d = t.unique("perm")
    t.admin.mkdir(d)
    f, tb, s = f"{d}/f", f"{d}/tb", f"{d}/s"
    t.files.Create(pb.CreateFileRequest(path=f, mode=mode))
    t.admin.write(f, b"secret", create=False)
    t.admin.create_table(tb, mode=mode)
    t.admin.put_row(tb, "k", {"v": 1})
    t.admin.create_stream(s, topic="t", partitions=1, mode=mode)
    t.admin.produce(s, "t", [b"r0"], partition=0)
    for p in (f, tb, s):
        assert t.admin.stat(p).mode & 0o7777 == mode, p
    return d, f, tb, s


def reads(c, f, tb, s):
    """One read per kind; each returns what it read."""
    return {
        "file": lambda: c.read(f),
        "table": lambda: c.get_row(tb, "k").document,
        "scan": lambda: c.scan_all(tb),
        "stream": lambda: [r.value for r in c.fetch(s, "t", 0, 0).records],
    }


def writes(c, f, tb, s):
    return {
        "file": lambda: c.write(f, b"X", create=False),
        "table": lambda: c.put_row(tb, "k2", {"v": 2}),
        "delete": lambda: c.tables.Delete(pb.DeleteRowRequest(path=tb, key=b"k")),
        "stream": lambda: c.produce(s, "t", [b"intruder"], 0),
    }


def assert_denied(fn, path, text="permission denied"):
    err = expect_errc("permission_denied", fn)
    assert path in err.details() and text in err.details(), \
        f"message must name the path and say {text!r}: {err.details()!r}"


def test_denied_alike_on_every_kind_until_acl_grants(tessera, users):
    t = tessera
    bob, _ = users
    _, f, tb, s = make_objects(t, 0o600)
    paths = {"file": f, "table": tb, "scan": tb, "stream": s, "delete": tb}
    for kind, fn in reads(bob, f, tb, s).items():
        assert_denied(fn, paths[kind])
    for kind, fn in writes(bob, f, tb, s).items():
        assert_denied(fn, paths[kind])
    # Nothing changed.
    assert t.admin.read(f) == b"secret"
    assert [r.key for r in t.admin.scan_all(tb)] == [b"k"]
    assert t.admin.topic(s, "t").end_offsets[0] == 1

    for p in (f, tb, s):
        t.admin.set_acl(p, acl("user:bob:r"))
        assert t.admin.stat(p).has_acl
    got = {k: fn() for k, fn in reads(bob, f, tb, s).items()}
    assert got["file"] == b"secret"
    assert got["stream"] == [b"r0"]
    for kind, fn in writes(bob, f, tb, s).items():
        assert_denied(fn, paths[kind])

    for p in (f, tb, s):
        t.admin.set_acl(p, acl("user:bob:rw"))
    for fn in writes(bob, f, tb, s).values():
        fn()
    assert t.admin.read(f) == b"Xecret"
    assert t.admin.get_row(tb, "k2").document
    assert t.admin.topic(s, "t").end_offsets[0] == 2


def test_other_bits_allow_read_not_write(tessera, users):
    t = tessera
    bob, _ = users
    _, f, tb, s = make_objects(t, 0o644)
    got = {k: fn() for k, fn in reads(bob, f, tb, s).items()}
    assert got["file"] == b"secret"
    paths = {"file": f, "table": tb, "stream": s, "delete": tb}
    for kind, fn in writes(bob, f, tb, s).items():
        assert_denied(fn, paths[kind])
    # Consuming (group offsets) is a read; creating a topic is a write.
    bob.streams.CommitOffset(pb.CommitOffsetRequest(stream=s, topic="t", group="bobs",
                                                    partition=0, offset=1))
    r = bob.streams.GetOffset(pb.GetOffsetRequest(stream=s, topic="t", group="bobs",
                                                  partition=0))
    assert r.found and r.offset == 1
    assert_denied(lambda: bob.streams.CreateTopic(
        pb.CreateTopicRequest(stream=s, topic="new", partitions=1)), s)


def test_group_bits_apply_to_group_members(tessera, users):
    t = tessera
    bob, carol = users
    _, f, tb, s = make_objects(t, 0o640)
    for p in (f, tb, s):
        st = t.ns.Chown(pb.ChownRequest(path=p, group="bob")).stat
        assert st.group == "bob" and st.owner == "admin"
    assert bob.read(f) == b"secret"
    assert bob.get_row(tb, "k").document
    assert bob.fetch(s, "t").records[0].value == b"r0"
    assert_denied(lambda: bob.write(f, b"X", create=False), f)
    assert_denied(lambda: carol.read(f), f)
    assert_denied(lambda: carol.get_row(tb, "k"), tb)
    assert_denied(lambda: carol.fetch(s, "t"), s)


def test_deny_entry_overrides_mode_and_allow(tessera, users):
    t = tessera
    bob, carol = users
    _, f, tb, s = make_objects(t, 0o666)
    for p in (f, tb, s):
        t.admin.set_acl(p, acl("deny:user:bob:r"))
    assert_denied(lambda: bob.read(f), f)
    assert_denied(lambda: bob.get_row(tb, "k"), tb)
    assert_denied(lambda: bob.fetch(s, "t"), s)
    assert carol.read(f) == b"secret", "a deny for bob does not affect carol"
    # Deny for bob's group beats an allow for bob himself.
    t.admin.set_acl(f, acl("user:bob:rw,deny:group:bob:w"))
    got = t.ns.GetAcl(pb.GetAclRequest(path=f)).entries
    assert {(e.deny, e.principal_type, e.name, e.read, e.write, e.admin) for e in got} == {
        (False, "user", "bob", True, True, False), (True, "group", "bob", False, True, False)}
    assert bob.read(f) == b"secret"
    assert_denied(lambda: bob.write(f, b"X", create=False), f)
    carol.write(f, b"C", create=False)
    # Clearing the ACL restores the mode bits.
    t.admin.set_acl(f, [])
    assert not t.admin.stat(f).has_acl
    assert list(t.ns.GetAcl(pb.GetAclRequest(path=f)).entries) == []
    bob.write(f, b"B", create=False)
    assert t.admin.read(f) == b"Becret"


def test_chmod_chown_setacl_need_admin_rights(tessera, users):
    t = tessera
    bob, carol = users
    d, f, tb, s = make_objects(t, 0o644)
    for p in (f, tb, s):
        assert_denied(lambda: bob.chmod(p, 0o666), p)
        assert_denied(lambda: bob.ns.Chown(pb.ChownRequest(path=p, owner="bob")), p)
        assert_denied(lambda: bob.set_acl(p, acl("user:bob:rwa")), p)
        assert t.admin.stat(p).mode & 0o7777 == 0o644
        assert not t.admin.stat(p).has_acl
    # An owner administers their own objects.
    t.ns.Chown(pb.ChownRequest(path=f, owner="bob"))
    assert t.admin.stat(f).owner == "bob"
    assert bob.chmod(f, 0o600).mode & 0o7777 == 0o600
    assert_denied(lambda: carol.read(f), f)
    bob.set_acl(f, acl("user:carol:r"))
    assert carol.read(f) == b"secret"
    # Giving an object away needs a superuser.
    assert_denied(lambda: bob.ns.Chown(pb.ChownRequest(path=f, owner="carol")), f, text="")
    assert t.admin.stat(f).owner == "bob"
    # The ACL admin right allows chmod.
    t.admin.set_acl(tb, acl("user:carol:a"))
    assert carol.chmod(tb, 0o600).mode & 0o7777 == 0o600


def test_create_and_remove_need_parent_write(tessera, users):
    t = tessera
    bob, _ = users
    d, f, tb, s = make_objects(t, 0o666)
    assert_denied(lambda: bob.mkdir(f"{d}/bobdir"), f"{d}/bobdir")
    assert_denied(lambda: bob.put_file(f"{d}/new", b"x"), f"{d}/new")
    assert_denied(lambda: bob.create_table(f"{d}/newtb"), f"{d}/newtb")
    assert_denied(lambda: bob.create_stream(f"{d}/news"), f"{d}/news")
    # Writable objects in a read-only directory still cannot be removed or moved.
    bob.write(f, b"S", create=False)
    assert_denied(lambda: bob.ns.Remove(pb.RemoveRequest(path=f)), f)
    assert_denied(lambda: bob.ns.Rename(pb.RenameRequest(src=f, dst=f"{d}/moved")), f)
    assert t.admin.read(f) == b"Secret"
    # A directory bob owns is his to fill.
    home = t.unique("home")
    t.admin.mkdir(home)
    t.ns.Chown(pb.ChownRequest(path=home, owner="bob", group="bob"))
    st = bob.put_file(f"{home}/mine", b"m")
    st = bob.stat(f"{home}/mine")
    assert st.owner == "bob" and st.group == "bob" and st.mode & 0o7777 == 0o644
    st = bob.mkdir(f"{home}/sub")
    assert st.owner == "bob" and st.mode & 0o7777 == 0o755
    assert bob.create_table(f"{home}/tb").owner == "bob"
    assert bob.create_stream(f"{home}/s", topic="t").owner == "bob"
    bob.ns.Remove(pb.RemoveRequest(path=f"{home}/mine"))
    # An ACL write grant on a directory allows creating entries in it.
    t.admin.set_acl(d, acl("user:bob:rw"))
    bob.put_file(f"{d}/granted", b"g")
    assert t.admin.stat(f"{d}/granted").owner == "bob"


def test_whoami_and_superusers(tessera, users):
    t = tessera
    bob, _ = users
    me = bob.admin.WhoAmI(pb.WhoAmIRequest()).user
    assert me.name == "bob" and not me.admin
    assert "bob" in me.groups
    assert t.adm.WhoAmI(pb.WhoAmIRequest()).user.admin
    _, f, tb, s = make_objects(t, 0o600)
    root = t.make_user("root2", admin=True)
    assert root.read(f) == b"secret", "a superuser bypasses mode bits"
    assert root.get_row(tb, "k").document
    # The Admin API is closed to ordinary users.
    expect_errc("permission_denied", bob.admin.CreateUser, pb.CreateUserRequest(name="mallory"))
    expect_errc("permission_denied", bob.admin.CreateKey, pb.CreateKeyRequest(user="admin"))
    expect_errc("permission_denied", bob.admin.CreateVolume,
                pb.CreateVolumeRequest(path=t.unique("vol"), quota_bytes=1000))
    names = {u.name for u in t.adm.ListUsers(pb.ListUsersRequest()).users}
    assert {"admin", "bob", "carol", "root2"} <= names and "mallory" not in names


def test_unauthenticated_calls_are_refused(tessera):
    t = tessera
    good = t.admin_creds
    for c in (t.client(good["key_id"], "wrong-secret"),
              t.client("TKDOESNOTEXIST", good["secret"]),
              t.client(None, None),
              t.client(good["key_id"], None)):
        expect_errc("unauthenticated", c.stat, "/")
        expect_errc("unauthenticated", c.admin.WhoAmI, pb.WhoAmIRequest())
        expect_errc("unauthenticated", c.mkdir, "/should-not-exist")
    expect_errc("not_found", t.admin.stat, "/should-not-exist")
