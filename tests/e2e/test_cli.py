"""The tessera CLI: every command against a live node, exit codes, error
messages on stderr, --json output and credentials handling."""

import json
import os

import pytest

from harness import acl, format_credentials, parse_credentials, parse_json_output, pb


@pytest.fixture(scope="module")
def dave(tessera):
    """An ordinary user made through the CLI, with a credentials file made by
    `tessera key create`."""
    t = tessera
    t.cli_ok("user", "create", "dave")
    out = t.cli_ok("key", "create", "dave")
    creds = parse_credentials(out)
    assert creds.get("user") == "dave", out
    assert creds.get("key_id") and creds.get("secret"), out
    path = os.path.join(t.root, "dave.credentials")
    with open(path, "w") as f:
        f.write(out)
    return path


def doc_of(value):
    """The row document in a `table get` output value (the document itself,
    or an object carrying it)."""
    if isinstance(value, dict) and "document" in value:
        d = value["document"]
        return json.loads(d) if isinstance(d, str) else d
    return value


def test_whoami_and_status(tessera):
    t = tessera
    assert "admin" in t.cli_ok("whoami")
    who = parse_json_output(t.cli_ok("--json", "whoami"))
    assert who and "admin" in json.dumps(who[0])
    out = t.cli_ok("status")
    assert out.strip()
    st = parse_json_output(t.cli_ok("--json", "status"))
    assert len(st) == 1 and isinstance(st[0], dict), st
    assert t.grpc_addr in json.dumps(st[0]) or t.data_dir in json.dumps(st[0]), st[0]


def test_usage_errors_exit_nonzero(tessera):
    t = tessera
    rc, _, _ = t.cli()
    assert rc != 0
    rc, _, err = t.cli("no-such-command")
    assert rc != 0 and err
    rc, _, err = t.cli("mkdir")
    assert rc != 0 and err


def test_mkdir_ls_stat_rm(tessera):
    t = tessera
    d = t.unique("cli")
    err = t.cli_fail("mkdir", f"{d}/a/b")
    assert "not found" in err, err
    t.cli_ok("mkdir", "-p", f"{d}/a/b")
    t.cli_ok("mkdir", f"{d}/a/c")
    assert t.admin.stat(f"{d}/a/b").kind == pb.KIND_DIRECTORY
    err = t.cli_fail("mkdir", f"{d}/a/c")
    assert "already exists" in err, err
    out = t.cli_ok("ls", f"{d}/a")
    assert out.split() == ["b", "c"] or {"b", "c"} <= set(out.split()), out
    entries = parse_json_output(t.cli_ok("--json", "ls", f"{d}/a"))
    assert len(entries) == 2, entries
    assert all(isinstance(e, dict) for e in entries)
    blob = json.dumps(entries)
    assert "b" in blob and "c" in blob
    out = t.cli_ok("stat", f"{d}/a")
    assert f"{d}/a" in out
    st = parse_json_output(t.cli_ok("--json", "stat", f"{d}/a"))
    assert len(st) == 1 and isinstance(st[0], dict)
    assert f"{d}/a" in json.dumps(st[0])
    err = t.cli_fail("stat", f"{d}/nope")
    assert f"{d}/nope" in err and "not found" in err, err
    err = t.cli_fail("mkdir", "relative/path")
    assert "relative/path" in err, err
    t.cli_ok("rm", f"{d}/a/c")
    t.cli_fail("rm", f"{d}/a")
    t.cli_ok("rm", "-r", d)
    t.cli_fail("stat", d)


def test_chmod_chown(tessera, dave):
    t = tessera
    f = t.unique("chm")
    t.admin.put_file(f, b"x")
    t.cli_ok("chmod", "600", f)
    assert t.admin.stat(f).mode & 0o7777 == 0o600
    t.cli_ok("chmod", "0640", f)
    assert t.admin.stat(f).mode & 0o7777 == 0o640
    err = t.cli_fail("chmod", "999", f)
    assert t.admin.stat(f).mode & 0o7777 == 0o640
    t.cli_ok("chown", "dave:dave", f)
    st = t.admin.stat(f)
    assert st.owner == "dave" and st.group == "dave"
    t.cli_ok("chown", "admin", f)
    st = t.admin.stat(f)
    assert st.owner == "admin" and st.group == "dave"
    err = t.cli_fail("chmod", "777", f, creds=dave)
    assert err.strip() == f"tessera: {f}: permission denied" or \
        f"{f}: permission denied" in err, err


def test_acl_set_and_get(tessera, dave):
    t = tessera
    t.cli_ok("user", "create", "erin", "--group", "devs")
    who = t.make_key("erin").admin.WhoAmI(pb.WhoAmIRequest()).user
    assert "devs" in who.groups
    f = t.unique("acl")
    t.admin.put_file(f, b"acl")
    t.cli_ok("chmod", "600", f)
    t.cli_ok("acl", "set", f, "user:dave:rw,deny:group:devs:w")
    out = t.cli_ok("acl", "get", f)
    assert "user:dave:rw" in out and "deny:group:devs:w" in out, out
    got = t.ns.GetAcl(pb.GetAclRequest(path=f)).entries
    assert sorted(map(str, got)) == sorted(map(str, acl("user:dave:rw,deny:group:devs:w")))
    assert t.cli_ok("cat", f, creds=dave) == "acl"
    err = t.cli_fail("acl", "set", f, "user:dave:rwz")
    err = t.cli_fail("acl", "set", f, "user:dave:r", creds=dave)
    assert "permission denied" in err, err
    t.cli_ok("acl", "set", f, "")
    assert list(t.ns.GetAcl(pb.GetAclRequest(path=f)).entries) == []
    t.cli_fail("cat", f, creds=dave)


def test_table_commands(tessera):
    t = tessera
    tb = t.unique("tbl")
    t.cli_ok("table", "create", tb)
    assert t.admin.stat(tb).kind == pb.KIND_TABLE
    t.cli_ok("table", "put", tb, "alice", '{"age": 30}')
    got = parse_json_output(t.cli_ok("table", "get", tb, "alice"))
    assert doc_of(got[0]) == {"age": 30}, got
    got = parse_json_output(t.cli_ok("--json", "table", "get", tb, "alice"))
    assert len(got) == 1 and "30" in json.dumps(got[0]), got
    err = t.cli_fail("table", "put", tb, "alice", '{"age": 99}', "--if-absent")
    assert "already exists" in err, err
    err = t.cli_fail("table", "put", tb, "alice", '{"age": 99}', "--if-version", "7")
    assert "version" in err, err
    assert json.loads(t.admin.get_row(tb, "alice").document) == {"age": 30}
    t.cli_ok("table", "put", tb, "alice", '{"age": 31}', "--if-version", "1")
    assert json.loads(t.admin.get_row(tb, "alice").document) == {"age": 31}
    t.cli_ok("table", "put", tb, "bob", '{"age": 5}', "--if-absent")
    t.cli_fail("table", "put", tb, "carl", "[1, 2]")
    for i in range(12):
        t.cli_ok("table", "put", tb, f"item{i:02d}", json.dumps({"i": i}))
    out = t.cli_ok("table", "scan", tb, "--prefix", "item", "--limit", "3")
    assert "item00" in out and "item02" in out and "item03" not in out, out
    rows = parse_json_output(t.cli_ok("--json", "table", "scan", tb, "--prefix", "item"))
    assert len(rows) == 12, rows
    rows = parse_json_output(t.cli_ok("--json", "table", "scan", tb, "--start", "item05",
                                      "--end", "item08"))
    blob = json.dumps(rows)
    assert len(rows) == 3 and "item05" in blob and "item07" in blob and "item08" not in blob
    t.cli_ok("table", "delete", tb, "bob")
    err = t.cli_fail("table", "get", tb, "bob")
    assert "not found" in err, err
    out = t.cli_ok("table", "scan", tb)
    assert "alice" in out and "bob" not in out


def test_stream_commands(tessera):
    t = tessera
    s = t.unique("strm")
    t.cli_ok("stream", "create", s, "--retention-age", "1h", "--retention-bytes", "1M")
    st = t.admin.stat(s)
    assert st.kind == pb.KIND_STREAM
    assert st.retention_age_ms == 3600_000 and st.retention_bytes == 1 << 20
    t.cli_ok("stream", "topic", "create", f"{s}:events", "--partitions", "1")
    t.cli_ok("stream", "topic", "create", f"{s}:wide", "--partitions", "3")
    assert t.admin.topic(s, "wide").partitions == 3
    t.cli_ok("stream", "produce", f"{s}:events", input="one\ntwo\nthree\n")
    assert t.admin.topic(s, "events").end_offsets[0] == 3
    out = t.cli_ok("stream", "consume", f"{s}:events", "--from-beginning", "--max", "3")
    assert out.splitlines() == ["one", "two", "three"]
    t.cli_ok("stream", "produce", f"{s}:events", "--key", "user-7", input="four\n")
    out = t.cli_ok("--json", "stream", "consume", f"{s}:events", "--from-beginning",
                   "--max", "4")
    recs = parse_json_output(out)
    assert len(recs) == 4, out
    for r in recs:
        assert {"key", "value", "partition", "offset", "timestamp", "headers"} <= set(r), r
    assert [r["value"] for r in recs] == ["one", "two", "three", "four"]
    assert [r["offset"] for r in recs] == [0, 1, 2, 3]
    assert recs[3]["key"] == "user-7"
    assert all(r["partition"] == 0 for r in recs)
    # A consumer group resumes where it stopped.
    t.cli_ok("stream", "topic", "create", f"{s}:jobs", "--partitions", "1")
    t.cli_ok("stream", "produce", f"{s}:jobs", input="a\nb\nc\nd\n")
    out = t.cli_ok("stream", "consume", f"{s}:jobs", "--group", "workers",
                   "--from-beginning", "--max", "2")
    assert out.splitlines() == ["a", "b"]
    out = t.cli_ok("stream", "consume", f"{s}:jobs", "--group", "workers", "--max", "2")
    assert out.splitlines() == ["c", "d"]
    err = t.cli_fail("stream", "produce", f"{s}:missing", input="x\n")
    assert "not found" in err, err


def test_key_create_output_is_usable_credentials(tessera, dave):
    t = tessera
    # Via the environment (TESSERA_CREDENTIALS) ...
    assert "dave" in t.cli_ok("whoami", creds=dave)
    # ... and via --credentials / --endpoint flags with no environment.
    out = t.cli_ok("--endpoint", t.grpc_addr, "--credentials", dave, "whoami",
                   creds="", endpoint=False)
    assert "dave" in out
    # The endpoint written in a credentials file is used when no other is given.
    c = parse_credentials(open(dave).read())
    path = os.path.join(t.root, "dave-endpoint.credentials")
    with open(path, "w") as f:
        f.write(format_credentials("dave", c["key_id"], c["secret"], t.grpc_addr))
    assert "dave" in t.cli_ok("--credentials", path, "whoami", creds="", endpoint=False)
    # A wrong secret is refused.
    bad = os.path.join(t.root, "bad.credentials")
    with open(bad, "w") as f:
        f.write(format_credentials("dave", c["key_id"], "nope", t.grpc_addr))
    t.cli_fail("whoami", creds=bad)


def test_permission_denied_messages(tessera, dave):
    t = tessera
    d = t.unique("priv")
    t.admin.mkdir(d)
    t.admin.put_file(f"{d}/secret", b"s")
    t.cli_ok("chmod", "600", f"{d}/secret")
    t.cli_ok("table", "create", f"{d}/tb")
    t.cli_ok("table", "put", f"{d}/tb", "k", '{"a": 1}')
    t.cli_ok("chmod", "600", f"{d}/tb")
    t.cli_ok("stream", "create", f"{d}/s")
    t.cli_ok("stream", "topic", "create", f"{d}/s:t", "--partitions", "1")
    t.cli_ok("chmod", "600", f"{d}/s")
    cases = [
        (("cat", f"{d}/secret"), f"{d}/secret"),
        (("table", "get", f"{d}/tb", "k"), f"{d}/tb"),
        (("table", "put", f"{d}/tb", "k", "{}"), f"{d}/tb"),
        (("stream", "consume", f"{d}/s:t", "--from-beginning", "--max", "1"), f"{d}/s"),
        (("mkdir", f"{d}/mine"), f"{d}/mine"),
        (("rm", f"{d}/secret"), f"{d}/secret"),
    ]
    for args, path in cases:
        err = t.cli_fail(*args, creds=dave)
        assert f"{path}" in err and "permission denied" in err, (args, err)
    rc, out, err = t.cli("stream", "produce", f"{d}/s:t", creds=dave, input="x\n")
    assert rc != 0 and "permission denied" in err, err
    assert t.admin.topic(f"{d}/s", "t").end_offsets[0] == 0


def test_unreachable_endpoint_fails_cleanly(tessera):
    t = tessera
    from harness import free_port
    rc, out, err = t.cli("whoami", env={"TESSERA_ENDPOINT": f"127.0.0.1:{free_port()}"},
                         timeout=30)
    assert rc != 0
    assert err.startswith("tessera: "), err
