"""/v1/nodes/ID/ok-to-stop: what a rolling restart is gated on."""

import json

from cluster_harness import node_entry

DOWN_TIMEOUT_S = 30.0


def ok_to_stop(via, node_id):
    status, body = via.http_get(f"/v1/nodes/{node_id}/ok-to-stop")
    assert status == 200, (via, node_id, status, body)
    assert isinstance(body, dict) and isinstance(body.get("ok"), bool) \
        and isinstance(body.get("reasons"), list), body
    return body


def test_ok_to_stop_single_node(make_cluster):
    c = make_cluster(1)
    c.wait_healthy(1)
    body = ok_to_stop(c.nodes[0], 1)
    # Stopping the only node leaves no quorum anywhere.
    assert body["ok"] is False and body["reasons"], body


def test_ok_to_stop(make_cluster):
    c = make_cluster(3)
    c.wait_healthy(3)
    # Healthy: any one node may stop, whichever node is asked.
    for via in c.nodes:
        for n in c.nodes:
            body = ok_to_stop(via, n.id)
            assert body == {"ok": True, "reasons": []}, (f"asked node {via.id} about "
                                                         f"node {n.id}", body)
            status, up = via.http_get(f"/v1/nodes/{n.id}/caught-up")
            assert status == 200 and up["ok"] is True, (via.id, n.id, up)

    # One down: stopping either other node would leave shards without a
    # quorum of up voters.
    doc = c.health()
    victim = c.node(next(n.id for n in c.nodes if n.id != doc["meta_leader"]))
    victim.kill()
    c.wait_health(lambda d: node_entry(d, victim.id)["state"] != "up", DOWN_TIMEOUT_S,
                  f"node {victim.id} reported down")
    for via in c.running():
        for n in c.running():
            body = ok_to_stop(via, n.id)
            assert body["ok"] is False, (f"node {victim.id} is down, yet node {via.id} says "
                                         f"node {n.id} is ok to stop", body)
            assert body["reasons"] and all(isinstance(r, str) and r for r in body["reasons"]), \
                body
    print("reasons:", json.dumps(ok_to_stop(c.running()[0], c.running()[0].id)["reasons"]))

    # Back and caught up: ok again.
    victim.restart()
    c.wait_healthy(3)
    c.wait_json(f"/v1/nodes/{victim.id}/ok-to-stop", lambda b: b["ok"] is True, DOWN_TIMEOUT_S,
                f"node {victim.id} ok to stop after its return")
    for n in c.nodes:
        assert ok_to_stop(c.nodes[0], n.id)["ok"] is True, n
