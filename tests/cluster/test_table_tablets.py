"""Tables live in tablet shards that split by key range as they grow: a
table starts as one replicated tablet, splits while clients write to it
through every node (no write fails or is lost), its tablets are led by
different nodes, reads and scans through any node see every row once and in
key order, and removing the table drops every tablet."""

import json
import random
import threading

from cluster_harness import healthy, pb, retry

SPLIT_MIB = 1
ROWS = 3000
DOC_BYTES = 1000


def tablet_docs(doc):
    return [s for s in doc["shards"] if s.get("kind") == "tablet"]


def row_doc(key):
    return json.dumps({"key": key.decode(), "pad": "x" * DOC_BYTES})


def test_tables_split_into_tablets_across_nodes(make_cluster):
    c = make_cluster(3, node_args=["--tablet-split-mib", str(SPLIT_MIB)])
    c.wait_healthy(3)
    table = "/orders"
    c.nodes[0].client().create_table(table)

    # One tablet, replicated before Create answered.
    doc = c.wait_health(lambda d: len(tablet_docs(d)) == 1 and len(tablet_docs(d)[0]["voters"]) == 3,
                        what="one tablet shard with 3 voters")

    # Three writers, one per node, keys in random order so that every
    # tablet takes writes while it splits.
    keys = [b"k%06d" % i for i in range(ROWS)]
    random.Random(7).shuffle(keys)
    errors, acked = [], [set() for _ in c.nodes]

    def write(i, node):
        cl = node.client()
        for key in keys[i::len(c.nodes)]:
            try:
                cl.put_row(table, key, row_doc(key))
                acked[i].add(key)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"put {key!r} via node {node.id}: {exc}")

    threads = [threading.Thread(target=write, args=(i, n)) for i, n in enumerate(c.nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[:5]
    written = set().union(*acked)
    assert len(written) == ROWS

    # ~3 MiB over 1 MiB tablets: at least three tablets, each replicated,
    # led by more than one node.
    doc = c.wait_health(lambda d: len(tablet_docs(d)) >= 3 and
                        all(len(s["voters"]) == 3 and s["leader"] for s in tablet_docs(d)),
                        what="the table split into >= 3 tablets of 3 voters")
    doc = c.wait_health(lambda d: len({s["leader"] for s in tablet_docs(d)}) >= 2,
                        what="tablets led by more than one node")
    assert healthy(doc, 3), doc
    print(f"{len(tablet_docs(doc))} tablets, leaders",
          sorted((s["shard"], s["leader"]) for s in tablet_docs(doc)))

    # Every row through every node: gets and a paged scan in key order.
    want = sorted(written)
    for node in c.nodes:
        cl = node.client()
        for key in random.Random(node.index).sample(want, 100):
            row = retry(lambda: cl.get_row(table, key), 10, f"get {key!r} via node {node.id}")
            assert json.loads(row.document)["key"] == key.decode()
        rows = retry(lambda: cl.scan_all(table, limit=700), 30, f"scan via node {node.id}")
        assert [r.key for r in rows] == want, f"scan via node {node.id}: {len(rows)} rows"
        assert all(json.loads(r.document)["key"] == r.key.decode() for r in rows)
    # A bounded scan across a tablet boundary.
    mid = [r.key for r in c.nodes[1].client().scan_all(table, start=b"k000500", end=b"k002500")]
    assert mid == [k for k in want if b"k000500" <= k < b"k002500"]

    # Row semantics hold after the move: versions go on, conditions apply.
    a = c.nodes[2].client()
    first = a.get_row(table, want[-1])
    assert a.put_row(table, want[-1], {"v": 2}) == first.version + 1
    a.tables.Delete(pb.DeleteRowRequest(path=table, key=want[0]))
    assert [r.key for r in a.scan_all(table, end=want[2])] == want[1:2]

    # The table's size and row count come from the tablets' reports.
    st = retry(lambda: _stat_rows(a, table, ROWS - 1), 15, "table rows reported")
    assert st.size >= ROWS * DOC_BYTES, st

    # Removing the table releases every tablet shard.
    a.ns.Remove(pb.RemoveRequest(path=table))
    c.wait_health(lambda d: tablet_docs(d) == [] and healthy(d, 3), what="no tablet shard left")


def _stat_rows(client, path, rows):
    st = client.stat(path)
    assert st.rows == rows, st
    return st
