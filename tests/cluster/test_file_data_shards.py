"""A volume's file bytes live in its data shards, led by different nodes: a
large file written through one node reads back byte for byte through the
others, shrinking then growing a file reads zeros where the cut bytes were,
appends from every node to one file land whole and in order,
a removed file's bytes are purged, and a volume's data shards go with it."""

import hashlib
import os
import threading

from cluster_harness import healthy, pb, retry

DATA_SHARDS = 4
MiB = 1 << 20


def data_docs(doc):
    return [s for s in doc["shards"] if s.get("kind") == "data"]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def test_file_bytes_spread_over_data_shards(make_cluster):
    c = make_cluster(3, node_args=["--file-data-shards", str(DATA_SHARDS)])
    # The root volume's data shards, grown to three voters as nodes joined.
    doc = c.wait_health(lambda d: len(data_docs(d)) == DATA_SHARDS and
                        all(len(s["voters"]) == 3 and s["leader"] for s in data_docs(d)) and
                        healthy(d, 3),
                        what=f"{DATA_SHARDS} data shards of the root volume, 3 voters each")
    doc = c.wait_health(lambda d: len({s["leader"] for s in data_docs(d)}) >= 2,
                        what="data shards led by more than one node")

    n1, n2, n3 = c.nodes
    a = n1.client()
    big = os.urandom(48 * MiB + 12345)  # 12 stripes and a bit: every shard
    a.mkdir("/data")
    a.put_file("/data/big", big)
    for node in (n2, n3):
        got = retry(lambda: node.client().read("/data/big"), 20, f"read via node {node.id}")
        assert len(got) == len(big) and sha(got) == sha(big), f"read via node {node.id}"
    # Ranged reads across chunk and stripe boundaries.
    b = n2.client()
    for off, n in ((MiB - 10, 20), (4 * MiB - 3, 7), (5 * MiB + 1, 9 * MiB), (len(big) - 5, 100)):
        assert b.read("/data/big", offset=off, length=n) == big[off:off + n], (off, n)

    # Writes at offsets, then a shrink and a growth: the cut bytes are gone.
    b.write("/data/big", b"X" * 100, offset=3 * MiB, create=False)
    big = big[:3 * MiB] + b"X" * 100 + big[3 * MiB + 100:]
    b.files.Truncate(pb.TruncateRequest(path="/data/big", size=6 * MiB + 7))
    assert b.stat("/data/big").size == 6 * MiB + 7
    b.write("/data/big", b"tail", offset=20 * MiB, create=False)
    want = big[:6 * MiB + 7] + b"\0" * (20 * MiB - 6 * MiB - 7) + b"tail"
    got = n3.client().read("/data/big")
    assert len(got) == len(want) and sha(got) == sha(want)
    # Appends land in order, at the end.
    for i in range(5):
        b.write("/data/big", b"<%d>" % i, append=True, create=False)
    assert n1.client().read("/data/big", offset=len(want)) == b"<0><1><2><3><4>"

    # Appends to one file from every node at once: each lands whole, once,
    # and each writer's in its order (a reservation of another node is
    # waited for, not dropped).
    def appender(node, w, out):
        client = node.client()
        for i in range(25):
            rec = b"<%d:%d:" % (w, i) + bytes([97 + w]) * (50 + (w * 7919 + i * 104729) % 30000) + b">"
            client.write("/data/log", rec, append=True, create=True)
            out.append(rec)
    recs = [[] for _ in c.nodes]
    threads = [threading.Thread(target=appender, args=(node, w, recs[w])) for w, node in enumerate(c.nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = n2.client().read("/data/log")
    assert len(log) == sum(len(r) for rs in recs for r in rs)
    seen = [[] for _ in c.nodes]
    at = 0
    while at < len(log):
        w, i = (int(x) for x in log[at + 1:log.index(b":", log.index(b":", at) + 1)].split(b":"))
        rec = recs[w][i]
        assert log[at:at + len(rec)] == rec, f"record {w}:{i} at byte {at}"
        seen[w].append(i)
        at += len(rec)
    assert seen == [list(range(25))] * len(c.nodes)

    # Many small files through every node, read back through another.
    files = {f"/data/small-{i}": os.urandom(1 + i * 997) for i in range(30)}
    for i, (path, data) in enumerate(files.items()):
        c.nodes[i % 3].client().put_file(path, data)
    for i, (path, data) in enumerate(files.items()):
        assert c.nodes[(i + 1) % 3].client().read(path) == data, path

    # Removal: gone from the namespace; its bytes are purged in the background.
    a.ns.Remove(pb.RemoveRequest(path="/data/big"))
    a.put_file("/data/big", b"new")
    assert n2.client().read("/data/big") == b"new"

    # A volume's data shards come and go with it.
    before = {s["shard"] for s in data_docs(c.health())}
    c.cli_ok("volume", "create", "/vol2")
    doc = c.wait_health(lambda d: len(data_docs(d)) == 2 * DATA_SHARDS and healthy(d, 3),
                        what="the new volume's data shards")
    a.put_file("/vol2/f", b"v" * (5 * MiB))
    assert n3.client().read("/vol2/f") == b"v" * (5 * MiB)
    a.ns.Remove(pb.RemoveRequest(path="/vol2/f"))
    c.cli_ok("volume", "rm", "/vol2")
    c.wait_health(lambda d: {s["shard"] for s in data_docs(d)} == before and healthy(d, 3),
                  what="the removed volume's data shards gone")
