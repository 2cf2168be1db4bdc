"""Three nodes form one cluster and every write reaches every node."""

import json
import os

from cluster_harness import META_SHARD, parse_json_output, retry

FAILOVER_TIMEOUT_S = 30.0


def fetch_values(client, stream, topic):
    f = client.fetch(stream, topic, partition=0, offset=0)
    return [(r.offset, bytes(r.value)) for r in f.records], f.end_offset


def test_three_nodes_form_and_replicate(make_cluster):
    c = make_cluster(3)
    n1, n2, n3 = c.nodes
    assert [n.id for n in c.nodes] == [1, 2, 3]
    doc = c.wait_healthy(3)

    assert sorted((n["id"], n["address"], n["state"]) for n in doc["nodes"]) == \
        [(n.id, n.grpc_addr, "up") for n in c.nodes], doc
    assert doc["meta_leader"] in (1, 2, 3), doc
    shards = {s["shard"]: s for s in doc["shards"]}
    assert META_SHARD in shards and len(shards) >= 2, doc
    for s in doc["shards"]:
        # Meta shard: 3 voters on 3 nodes; root volume: replication 3.
        assert sorted(s["voters"]) == [1, 2, 3] and s["learners"] == [], s
        assert s["leader"] in (1, 2, 3), s
    for n in doc["nodes"]:
        assert n["shards"] == len(doc["shards"]), doc

    # Every node answers the same health, and the CLI shows it.
    for n in c.nodes:
        other = c.health(via=n)
        assert other is not None and other["meta_leader"] == doc["meta_leader"], (n, other)
    status = parse_json_output(c.cli_ok("cluster", "status", "--json", via=n3))
    assert sorted(x["id"] for x in status[0]["nodes"]) == [1, 2, 3], status

    # Writes through node 1.
    a = n1.client()
    a.mkdir("/rep")
    data = os.urandom(300_000)
    a.put_file("/rep/file", data)
    a.create_table("/rep/table")
    assert a.put_row("/rep/table", "k1", {"v": 1}) == 1
    a.create_stream("/rep/stream", topic="t", partitions=1)
    resp = a.produce("/rep/stream", "t", [b"r0", b"r1"], partition=0)
    assert list(resp.offsets) == [0, 1]

    # ... read through nodes 2 and 3, at once (reads pass a read barrier).
    for n in (n2, n3):
        cl = n.client()
        assert cl.stat("/rep/file").size == len(data), n
        assert cl.read("/rep/file") == data, n
        row = cl.get_row("/rep/table", "k1")
        assert json.loads(row.document) == {"v": 1} and row.version == 1, (n, row)
        assert fetch_values(cl, "/rep/stream", "t") == ([(0, b"r0"), (1, b"r1")], 2), n

    # Writes through nodes 2 and 3 (forwarded to the leaders) reach node 1.
    c2, c3 = n2.client(), n3.client()
    c2.put_file("/rep/from2", b"two")
    assert c3.put_row("/rep/table", "k3", {"v": 3}) == 1
    assert list(c2.produce("/rep/stream", "t", [b"r2"], partition=0).offsets) == [2]
    assert a.read("/rep/from2") == b"two"
    assert json.loads(a.get_row("/rep/table", "k3").document) == {"v": 3}
    assert fetch_values(a, "/rep/stream", "t")[0][-1] == (2, b"r2")

    # Each node holds the data itself: with node 1 gone, nodes 2 and 3 (a
    # majority) still serve everything written through it.
    n1.kill()
    for n, cl in ((n2, c2), (n3, c3)):
        assert retry(lambda: cl.read("/rep/file"), FAILOVER_TIMEOUT_S,
                     f"read /rep/file via node {n.id} after node 1 was killed") == data
        assert json.loads(cl.get_row("/rep/table", "k1").document) == {"v": 1}
        assert fetch_values(cl, "/rep/stream", "t") == \
            ([(0, b"r0"), (1, b"r1"), (2, b"r2")], 3), n
