"""Volumes: mounting with quotas (CLI and API), quota enforcement alike for
file bytes, table rows and stream records, usage reporting and the
cross-volume boundary."""

import json
import time

import grpc

from harness import expect_errc, parse_json_output, pb, wait_until

KiB = 1024


def volumes(t):
    return {v.path: v for v in t.adm.ListVolumes(pb.ListVolumesRequest()).volumes}


def create_volume(t, quota_bytes):
    p = t.unique("vol")
    v = t.adm.CreateVolume(pb.CreateVolumeRequest(path=p, quota_bytes=quota_bytes)).volume
    assert v.path == p and v.quota_bytes == quota_bytes
    return p


def test_create_volume_via_api(tessera):
    t = tessera
    p = create_volume(t, 64 * KiB)
    v = volumes(t)[p]
    assert v.quota_bytes == 64 * KiB and v.used_bytes == 0 and v.id != 0
    root = {e.path.rsplit("/", 1)[-1]: e for e in t.admin.list("/")}
    assert root[p[1:]].kind in (pb.KIND_VOLUME, pb.KIND_DIRECTORY)
    t.admin.mkdir(f"{p}/d")
    t.admin.put_file(f"{p}/d/f", b"x")
    assert t.admin.stat(f"{p}/d/f").volume == p
    assert t.admin.stat(f"{p}/d").volume == p
    assert t.admin.list(p)
    expect_errc("already_exists", t.adm.CreateVolume,
                pb.CreateVolumeRequest(path=p, quota_bytes=1))
    expect_errc("not_found", t.adm.CreateVolume,
                pb.CreateVolumeRequest(path=f"{p}-missing/v", quota_bytes=1))
    # Volumes nest inside volumes.
    inner = t.adm.CreateVolume(pb.CreateVolumeRequest(path=f"{p}/inner")).volume
    assert inner.quota_bytes == 0
    t.admin.put_file(f"{p}/inner/f", b"y")
    assert t.admin.stat(f"{p}/inner/f").volume == f"{p}/inner"


def test_volume_create_ls_rm_via_cli(tessera):
    t = tessera
    p = t.unique("vcli")
    t.cli_ok("volume", "create", p, "--quota", "10M")
    v = volumes(t)[p]
    assert v.quota_bytes == 10 * 1024 * 1024
    t.admin.put_file(f"{p}/data", b"z" * 5000)
    out = t.cli_ok("volume", "ls")
    line = [ln for ln in out.splitlines() if p in ln]
    assert line, f"volume ls does not list {p}: {out!r}"
    out = t.cli_ok("--json", "volume", "ls")
    entries = parse_json_output(out)
    mine = [e for e in entries if isinstance(e, dict) and e.get("path") == p]
    assert mine, f"--json volume ls has no entry with path {p}: {out!r}"
    used = [v for k, v in mine[0].items() if "used" in k.lower()]
    assert used and int(used[0]) >= 5000, f"used bytes missing or wrong: {mine[0]}"
    quota = [v for k, v in mine[0].items() if "quota" in k.lower()]
    assert quota and int(quota[0]) == 10 * 1024 * 1024, mine[0]
    # A volume holding data is not removed.
    err = t.cli_fail("volume", "rm", p)
    assert p in err, err
    assert p in volumes(t)
    assert t.admin.read(f"{p}/data") == b"z" * 5000
    # An empty volume can be removed.
    p2 = t.unique("vrm")
    t.cli_ok("volume", "create", p2)
    t.cli_ok("volume", "rm", p2)
    assert p2 not in volumes(t)
    err = t.cli_fail("volume", "create", f"{p2}-missing/x", "--quota", "1M")
    assert "not found" in err, err


def test_used_bytes_count_files_rows_and_records(tessera):
    t = tessera
    p = create_volume(t, 0)
    t.admin.put_file(f"{p}/f", b"a" * 10000)
    assert volumes(t)[p].used_bytes == 10000
    t.admin.create_table(f"{p}/tb")
    doc = json.dumps({"d": "b" * 1000}, separators=(",", ":"))
    for i in range(5):
        t.admin.put_row(f"{p}/tb", f"row{i}", doc)
    rows_bytes = 5 * (len("row0") + len(doc))
    # Tablet and partition shards report their bytes to the volume about
    # once a second.
    used = wait_used(t, p, lambda u: u >= 10000 + rows_bytes, f"{10000 + rows_bytes} bytes")
    assert used < 10000 + rows_bytes + 5 * 256, used
    t.admin.create_stream(f"{p}/s", topic="t", partitions=1)
    t.admin.produce(f"{p}/s", "t", [b"c" * 2000] * 3, 0)
    used2 = wait_used(t, p, lambda u: u >= used + 6000, f"more than {used + 6000} bytes")
    # Removing data gives the bytes back.
    t.ns.Remove(pb.RemoveRequest(path=f"{p}/f"))
    assert volumes(t)[p].used_bytes == used2 - 10000


def test_quota_exceeded_on_file_write(tessera):
    t = tessera
    p = create_volume(t, 64 * KiB)
    f = f"{p}/f"
    t.admin.put_file(f, b"1" * (40 * KiB))
    expect_errc("quota_exceeded", t.admin.write, f, b"2" * (40 * KiB), offset=40 * KiB,
                create=False)
    assert t.admin.stat(f).size == 40 * KiB
    assert t.admin.read(f) == b"1" * (40 * KiB)
    expect_errc("quota_exceeded", t.admin.put_file, f"{p}/g", b"3" * (40 * KiB))
    if _exists(t, f"{p}/g"):
        assert t.admin.read(f"{p}/g") == b"", "a refused write stores nothing"
    expect_errc("quota_exceeded", t.admin.write, f, b"4" * (30 * KiB), append=True,
                create=False)
    assert t.admin.read(f) == b"1" * (40 * KiB)
    expect_errc("quota_exceeded", t.files.Truncate,
                pb.TruncateRequest(path=f, size=100 * KiB))
    assert t.admin.stat(f).size == 40 * KiB
    assert volumes(t)[p].used_bytes == 40 * KiB
    # Within the quota is fine; freeing space makes room again.
    t.admin.write(f, b"5" * (20 * KiB), append=True, create=False)
    t.ns.Remove(pb.RemoveRequest(path=f))
    t.admin.put_file(f"{p}/h", b"6" * (60 * KiB))
    assert t.admin.stat(f"{p}/h").size == 60 * KiB


def _exists(t, path):
    try:
        t.admin.stat(path)
        return True
    except grpc.RpcError:
        return False


def test_quota_exceeded_on_table_put(tessera):
    t = tessera
    p = create_volume(t, 16 * KiB)
    tb = f"{p}/tb"
    t.admin.create_table(tb)
    doc = json.dumps({"d": "x" * 1000})
    for i in range(10):
        t.admin.put_row(tb, f"r{i}", doc)
    big = json.dumps({"d": "y" * (8 * KiB)})
    expect_errc("quota_exceeded", t.admin.put_row, tb, "big", big)
    expect_errc("not_found", t.admin.get_row, tb, "big")
    expect_errc("quota_exceeded", t.admin.put_row, tb, "r0", big)
    row = t.admin.get_row(tb, "r0")
    assert row.document == doc or json.loads(row.document) == json.loads(doc)
    assert row.version == 1
    expect_errc("quota_exceeded", t.tables.Update,
                pb.UpdateRowRequest(path=tb, key=b"r1", set=big))
    assert json.loads(t.admin.get_row(tb, "r1").document) == json.loads(doc)
    assert len(t.admin.scan_all(tb)) == 10
    wait_until(lambda: t.admin.stat(tb).rows == 10, 10, what="10 rows reported")


def wait_used(t, path, pred, what, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while True:
        used = volumes(t)[path].used_bytes
        if pred(used):
            return used
        assert time.monotonic() < deadline, f"{path}: used_bytes {used}, waited for {what}"
        time.sleep(0.1)


def test_quota_exceeded_on_stream_produce(tessera):
    t = tessera
    p = create_volume(t, 16 * KiB)
    s = f"{p}/s"
    t.admin.create_stream(s, topic="t", partitions=1)
    t.admin.produce(s, "t", [b"a" * 1000] * 10, 0)
    # A batch that does not fit is refused whole.
    expect_errc("quota_exceeded", t.admin.produce, s, "t", [b"b" * 1000] * 8, 0)
    top = t.admin.topic(s, "t")
    assert top.end_offsets[0] == 10
    f = t.admin.fetch(s, "t", offset=0)
    assert [r.value for r in f.records] == [b"a" * 1000] * 10
    assert f.end_offset == 10


def test_cross_volume_rename_and_link(tessera):
    t = tessera
    va, vb = create_volume(t, 0), create_volume(t, 0)
    t.admin.put_file(f"{va}/f", b"stays")
    t.admin.mkdir(f"{va}/d")
    t.admin.create_table(f"{va}/tb")
    for src, dst in ((f"{va}/f", f"{vb}/f"), (f"{va}/f", t.unique("rootside")),
                     (f"{va}/d", f"{vb}/d"), (f"{va}/tb", f"{vb}/tb")):
        expect_errc("cross_volume", t.ns.Rename, pb.RenameRequest(src=src, dst=dst))
        expect_errc("not_found", t.admin.stat, dst)
    expect_errc("cross_volume", t.ns.Link, pb.LinkRequest(src=f"{va}/f", dst=f"{vb}/l"))
    assert t.admin.read(f"{va}/f") == b"stays"
    err = t.cli_fail("mv", f"{va}/f", f"{vb}/f")
    assert f"{va}/f" in err or f"{vb}/f" in err, err
    assert t.admin.read(f"{va}/f") == b"stays"
    # Within one volume rename works.
    t.ns.Rename(pb.RenameRequest(src=f"{va}/f", dst=f"{va}/d/f"))
    assert t.admin.read(f"{va}/d/f") == b"stays"
    # Refused renames moved no bytes between volumes.
    assert volumes(t)[va].used_bytes == 5
    assert volumes(t)[vb].used_bytes == 0


def test_stream_retention_gives_quota_back(tessera):
    t = tessera
    p = create_volume(t, 20000)
    s = f"{p}/s"
    t.admin.create_stream(s, topic="t", partitions=1, retention_bytes=4096)
    for _ in range(3):
        t.admin.produce(s, "t", [b"r" * 1000] * 5, 0)
    # The volume's usage follows within about a second (reported by the
    # partition shard), unless retention already dropped records.
    deadline = time.monotonic() + 10
    while not (volumes(t)[p].used_bytes >= 15000 or t.admin.topic(s, "t").start_offsets[0] > 0):
        assert time.monotonic() < deadline, volumes(t)[p]
        time.sleep(0.1)
    # Retention runs periodically; once it has, the dropped bytes are free.
    deadline = time.monotonic() + 15
    while volumes(t)[p].used_bytes > 8192 and time.monotonic() < deadline:
        time.sleep(0.25)
    used = volumes(t)[p].used_bytes
    assert used <= 8192, f"retention kept {used} bytes against retention_bytes=4096"
    t.admin.produce(s, "t", [b"n" * 1000] * 10, 0)
    assert t.admin.topic(s, "t").end_offsets[0] == 25
