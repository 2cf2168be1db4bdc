"""Draining a node moves every replica off it; a drained, stopped node can
be removed, and the data stays readable."""

import json

from cluster_harness import node_entry, parse_json_output, replicas_on

DRAIN_TIMEOUT_S = 120.0


def node_states(c, via):
    return {n["id"]: n["state"] for n in parse_json_output(c.cli_ok("node", "ls", "--json",
                                                                    via=via))}


def test_drain_and_remove(make_cluster):
    c = make_cluster(4)
    doc = c.wait_healthy(4)
    volume = c.volume_shards(doc)[0]

    a = c.nodes[0].client()
    a.mkdir("/d")
    a.put_file("/d/f", b"drain me" * 5000)
    a.create_table("/d/t")
    a.put_row("/d/t", "k", {"v": 1})
    a.create_stream("/d/s", topic="t", partitions=1)
    a.produce("/d/s", "t", [b"x", b"y"], partition=0)

    # Drain the node leading the root volume: its leadership moves too.
    victim_id = c.leader_of(volume, doc)
    victim = c.node(victim_id)
    rest = [n for n in c.nodes if n is not victim]
    assert replicas_on(doc, victim_id), doc
    c.cli_ok("node", "drain", victim_id, via=rest[0])
    assert node_states(c, rest[0])[victim_id] == "draining"

    def drained(d):
        n = node_entry(d, victim_id)
        return (n is not None and n["shards"] == 0 and n["leaders"] == 0
                and not replicas_on(d, victim_id)
                and d["under_replicated_shards"] == 0 and d["unavailable_shards"] == 0
                and all(len(s["voters"]) == 3 for s in d["shards"]))

    doc = c.wait_health(drained, DRAIN_TIMEOUT_S, f"node {victim_id} drained")
    assert node_entry(doc, victim_id)["state"] == "draining", doc

    rc = victim.stop()
    assert rc == 0, f"drained node {victim_id} did not exit cleanly on SIGTERM: {rc}"
    c.cli_ok("node", "remove", victim_id, via=rest[0])
    states = node_states(c, rest[1])
    assert states[victim_id] == "removed", states
    assert sorted(i for i, s in states.items() if s == "active") == \
        sorted(n.id for n in rest), states
    c.wait_healthy(3)

    for n in rest:
        cl = n.client()
        assert cl.read("/d/f") == b"drain me" * 5000, n
        assert json.loads(cl.get_row("/d/t", "k").document) == {"v": 1}
        assert [bytes(r.value) for r in cl.fetch("/d/s", "t").records] == [b"x", b"y"]
    # Still writable with the node gone.
    rest[1].client().put_file("/d/after", b"after")
    assert rest[2].client().read("/d/after") == b"after"
