"""A node added to a running cluster receives replicas until the replica
counts per node differ by at most one."""

import grpc

from cluster_harness import describe, node_entry, pb, replicas_on, settled

VOLUMES = 4
REBALANCE_TIMEOUT_S = 150.0


def spread(doc):
    counts = [n["shards"] for n in doc["nodes"] if n["state"] == "up"]
    return max(counts) - min(counts)


def test_fourth_node_rebalances(make_cluster):
    c = make_cluster(3)
    c.wait_healthy(3)
    a = c.nodes[0].client()
    paths, vol_shard = [], {}
    for i in range(VOLUMES):
        p = f"/vol{i}"
        v = a.admin.CreateVolume(pb.CreateVolumeRequest(path=p)).volume
        assert v.path == p and v.shard, v
        vol_shard[p] = v.shard
        a.put_file(f"{p}/f", b"volume %d" % i)
        paths.append(p)
    doc = c.wait_healthy(3)
    assert len(c.volume_shards(doc)) == VOLUMES + 1, doc  # and the root volume
    for s in doc["shards"]:
        assert len(s["voters"]) == 3, s

    n4 = c.add_node()
    assert n4.id == 4

    def balanced(d):
        n = node_entry(d, 4)
        return (settled(d, 4) and n is not None and n["shards"] > 0
                and not d["rebalance"]["active"] and d["rebalance"]["pending_moves"] == 0
                and spread(d) <= 1)

    doc = c.wait_health(balanced, REBALANCE_TIMEOUT_S,
                        "node 4 holding replicas, counts per node within 1, rebalance idle")
    counts = {n["id"]: n["shards"] for n in doc["nodes"]}
    print(f"replicas per node after rebalance: {counts}")
    held = replicas_on(doc, 4)
    assert len(held) == counts[4], doc
    # Replicas moved, not merely added: every volume still has 3 voters.
    for s in doc["shards"]:
        assert len(s["voters"]) == 3, s
    assert any(s in held for s in c.volume_shards(doc)), doc
    # Every node, the new one included, serves every volume, whether or not
    # it holds a replica of it (clients may talk to any node).
    problems = []
    for n in c.nodes:
        cl = n.client()
        for i, p in enumerate(paths):
            has = "holds a" if vol_shard[p] in replicas_on(doc, n.id) else "holds no"
            where = f"node {n.id} ({has} replica of {p}, shard {vol_shard[p]})"
            try:
                got = cl.read(f"{p}/f")
                if got != b"volume %d" % i:
                    problems.append(f"{where}: read {p}/f returns {got!r}")
            except grpc.RpcError as err:
                problems.append(f"{where}: read {p}/f: {describe(err)}")
            try:
                cl.put_file(f"{p}/via{n.id}", b"written via %d" % n.id)
            except grpc.RpcError as err:
                problems.append(f"{where}: write {p}/via{n.id}: {describe(err)}")
    assert not problems, "\n".join(problems)
