"""Cluster health and node administration on a one-node cluster: `tessera
cluster status`, `tessera node ls|drain|remove`, the Admin RPCs behind them
(ClusterHealth, ListNodes, DrainNode, RemoveNode) and the admin HTTP
endpoints /v1/health, /v1/nodes/ID/ok-to-stop and /v1/nodes/ID/caught-up.

Nothing here drains or removes the only node: every such request must be
refused."""

import json

import pytest

from harness import expect_errc, parse_json_output, pb, wait_until

# The meta leader answers health questions only once it has led for a
# couple of heartbeats.
SETTLE_S = 10.0


def health_via_cli(t, creds=None):
    """The health document from `tessera cluster status --json`, or None
    while the CLI fails (no settled meta leader yet)."""
    rc, out, _ = t.cli("cluster", "status", "--json", creds=creds)
    if rc != 0:
        return None
    docs = parse_json_output(out)
    assert len(docs) == 1 and isinstance(docs[0], dict), out
    return docs[0]


def settled(doc):
    return (doc is not None and len(doc.get("nodes", ())) == 1
            and doc["nodes"][0].get("state") == "up"
            and doc.get("under_replicated_shards") == 0
            and doc.get("unavailable_shards") == 0)


@pytest.fixture(scope="module")
def health(tessera):
    """The settled health document (polled for up to SETTLE_S)."""
    last = {}

    def probe():
        last["doc"] = health_via_cli(tessera)
        return last["doc"] if settled(last["doc"]) else None

    try:
        return wait_until(probe, SETTLE_S, 0.25, "a settled one-node cluster health")
    except AssertionError:
        rc, out, err = tessera.cli("cluster", "status", "--json")
        pytest.fail(f"cluster health did not settle in {SETTLE_S}s: last document "
                    f"{last.get('doc')!r}; last CLI run rc={rc} out={out!r} err={err!r}")


@pytest.fixture(scope="module")
def erin(tessera):
    """An ordinary (non-admin) user with a credentials file."""
    return tessera.make_user("erin")


def get_json(t, path):
    status, headers, body = t.http_get(path)
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    return status, ctype, body


def test_cluster_status_json_shows_one_healthy_node(tessera, health):
    t = tessera
    (node,) = health["nodes"]
    assert node["id"] == 1, health
    assert node["state"] == "up", health
    assert node["address"] == t.grpc_addr, health
    # The meta shard and the root volume, both led here.
    assert node["shards"] >= 2 and node["leaders"] == node["shards"], health
    assert node["lag"] == 0, health
    assert health["under_replicated_shards"] == 0
    assert health["unavailable_shards"] == 0
    assert health["meta_leader"] == 1
    assert health["rebalance"] == {"active": False, "pending_moves": 0}, health
    assert len(health["shards"]) == node["shards"], health
    for s in health["shards"]:
        assert s["leader"] == 1 and s["voters"] == [1] and s["learners"] == [], s


def test_cluster_status_text(tessera, health):
    out = tessera.cli_ok("cluster", "status")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "ADDRESS", "STATE", "SHARDS", "LEADERS", "LAG"], out
    cells = lines[1].split()
    assert cells[:3] == ["1", tessera.grpc_addr, "up"], out
    assert cells[3] == str(health["nodes"][0]["shards"]), out
    assert cells[5] == "0", out
    assert lines[2:] == ["under-replicated shards: 0", "unavailable shards: 0",
                         "rebalance: idle", "meta leader: node 1"], out


def test_any_user_reads_health_and_nodes(tessera, health, erin):
    doc = health_via_cli(tessera, creds=erin)
    assert doc is not None and [n["id"] for n in doc["nodes"]] == [1], doc
    resp = erin.admin.ListNodes(pb.ListNodesRequest())
    assert [n.id for n in resp.nodes] == [1]
    expect_errc("unauthenticated", tessera.client("TKnobody", "wrong").admin.ClusterHealth,
                pb.ClusterHealthRequest())


def test_node_ls(tessera, health):
    t = tessera
    out = t.cli_ok("node", "ls")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "ADDRESS", "STATE"], out
    assert len(lines) == 2, out
    assert lines[1].split()[:3] == ["1", t.grpc_addr, "active"], out

    nodes = parse_json_output(t.cli_ok("node", "ls", "--json"))
    assert len(nodes) == 1, nodes
    assert nodes[0]["id"] == 1 and nodes[0]["state"] == "active", nodes
    assert nodes[0]["address"] == t.grpc_addr, nodes
    assert nodes[0]["joined_ms"] > 0, nodes

    (n,) = t.adm.ListNodes(pb.ListNodesRequest()).nodes
    assert (n.id, n.address, n.state) == (1, t.grpc_addr, "active")


def test_http_health_matches_rpc(tessera, health):
    t = tessera
    status, ctype, body = get_json(t, "/v1/health")
    assert status == 200, body
    assert ctype.startswith("application/json"), ctype
    doc = json.loads(body)
    assert set(doc) == set(health), (doc, health)
    assert set(doc["rebalance"]) == {"active", "pending_moves"}, doc
    assert [(n["id"], n["address"], n["state"]) for n in doc["nodes"]] == \
        [(1, t.grpc_addr, "up")], doc
    assert set(doc["nodes"][0]) == {"id", "address", "state", "shards", "leaders", "lag"}, doc
    assert sorted(s["shard"] for s in doc["shards"]) == \
        sorted(s["shard"] for s in health["shards"]), (doc, health)
    rpc = json.loads(t.adm.ClusterHealth(pb.ClusterHealthRequest()).json)
    assert set(rpc) == set(doc) and rpc["nodes"][0]["id"] == 1, rpc


def test_ok_to_stop_and_caught_up(tessera, health):
    t = tessera
    status, ctype, body = get_json(t, "/v1/nodes/1/ok-to-stop")
    assert status == 200, body
    assert ctype.startswith("application/json"), ctype
    doc = json.loads(body)
    assert isinstance(doc["ok"], bool) and isinstance(doc["reasons"], list), doc
    # Stopping the only node leaves no quorum anywhere.
    assert doc["ok"] is False, doc
    assert doc["reasons"] and all(isinstance(r, str) and r for r in doc["reasons"]), doc

    status, _, body = get_json(t, "/v1/nodes/1/caught-up")
    assert status == 200, body
    doc = json.loads(body)
    assert doc["ok"] is True, doc
    assert isinstance(doc["reasons"], list), doc

    for what in ("ok-to-stop", "caught-up"):
        status, _, body = get_json(t, f"/v1/nodes/abc/{what}")
        assert status == 400, (what, status, body)
        assert "error" in json.loads(body), body


def test_remove_refused_while_node_holds_replicas(tessera, health):
    t = tessera
    shards = health["nodes"][0]["shards"]
    err = t.cli_fail("node", "remove", "1")
    assert f"node 1 still holds {shards} replicas" in err, err
    assert "tessera node drain 1" in err, err
    expect_errc("not_empty", t.adm.RemoveNode, pb.NodeRequest(id=1))
    assert [n.state for n in t.adm.ListNodes(pb.ListNodesRequest()).nodes] == ["active"]


def test_unknown_node_not_found(tessera, health):
    t = tessera
    err = t.cli_fail("node", "drain", "99")
    assert "node 99" in err and "not found" in err, err
    err = t.cli_fail("node", "remove", "99")
    assert "node 99" in err and "not found" in err, err
    expect_errc("not_found", t.adm.DrainNode, pb.NodeRequest(id=99))
    expect_errc("not_found", t.adm.RemoveNode, pb.NodeRequest(id=99))
    rc, _, err = t.cli("node", "drain", "abc")
    assert rc == 2 and err.startswith("tessera: "), (rc, err)


def test_non_admin_cannot_drain_or_remove(tessera, health, erin):
    t = tessera
    err = t.cli_fail("node", "drain", "1", creds=erin)
    assert "node 1" in err and "permission denied" in err, err
    err = t.cli_fail("node", "remove", "1", creds=erin)
    assert "permission denied" in err, err
    expect_errc("permission_denied", erin.admin.DrainNode, pb.NodeRequest(id=1))
    expect_errc("permission_denied", erin.admin.RemoveNode, pb.NodeRequest(id=1))
    assert [n.state for n in t.adm.ListNodes(pb.ListNodesRequest()).nodes] == ["active"]
    assert settled(health_via_cli(t))
