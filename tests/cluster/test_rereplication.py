"""A node dead past --node-dead-after-ms has its replicas re-created on the
other nodes; when it comes back it catches up (or loses its stale
replicas) and is reported caught up."""

import json

import grpc

from cluster_harness import META_SHARD, node_entry, replicas_on, retry

DEAD_AFTER_MS = 3000
REREPLICATE_TIMEOUT_S = 90.0
RETURN_TIMEOUT_S = 90.0
READ_TIMEOUT_S = 30.0


def test_node_down_past_timeout_is_rereplicated(make_cluster):
    c = make_cluster(4, dead_after_ms=DEAD_AFTER_MS)
    doc = c.wait_healthy(4)
    volume = c.volume_shards(doc)[0]
    vol = next(s for s in doc["shards"] if s["shard"] == volume)
    assert len(vol["voters"]) == 3, vol

    a = c.nodes[0].client()
    a.mkdir("/rr")
    a.put_file("/rr/f", b"before" * 1000)
    a.create_table("/rr/t")
    a.put_row("/rr/t", "k", {"v": "before"})

    # The victim: a voter of the root volume that does not lead the meta
    # shard (the meta leader's clock for "dead" starts when it took over).
    victim_id = next(v for v in sorted(vol["voters"]) if v != doc["meta_leader"])
    victim = c.node(victim_id)
    held = replicas_on(doc, victim_id)
    assert volume in held, doc
    victim.kill()

    def rereplicated(d):
        if d["under_replicated_shards"] != 0 or d["unavailable_shards"] != 0:
            return False
        if replicas_on(d, victim_id):
            return False
        for s in d["shards"]:
            # 3 voters for every shard (meta: 3 of 3 usable nodes; the
            # volume: replication 3), none on the dead node.
            if len(s["voters"]) != 3 or s["learners"]:
                return False
        n = node_entry(d, victim_id)
        return n is None or n["state"] != "up"

    doc = c.wait_health(rereplicated, REREPLICATE_TIMEOUT_S,
                        f"every replica of dead node {victim_id} re-created on the others")
    assert node_entry(doc, victim_id) is None or node_entry(doc, victim_id)["shards"] == 0, doc
    live = [n for n in c.nodes if n is not victim]
    for n in live:
        cl = n.client()
        assert cl.read("/rr/f") == b"before" * 1000, n
    a.put_row("/rr/t", "k2", {"v": "while dead"})

    # Back again: it rejoins, and whatever it still holds catches up.
    victim.restart()
    doc = c.wait_healthy(4, timeout_s=RETURN_TIMEOUT_S)

    c.wait_json(f"/v1/nodes/{victim_id}/caught-up", lambda b: b["ok"] is True,
                RETURN_TIMEOUT_S, f"node {victim_id} reported caught up")
    doc = c.health()
    # The meta shard keeps every usable node as a member (voter or learner).
    assert META_SHARD in replicas_on(doc, victim_id), doc
    # Its replicas (fresh or caught up) serve current data.
    back = victim.client()
    assert retry(lambda: back.read("/rr/f"), READ_TIMEOUT_S, f"read via node {victim_id}",
                 exceptions=(grpc.RpcError,)) == b"before" * 1000
    assert json.loads(back.get_row("/rr/t", "k2").document) == {"v": "while dead"}
