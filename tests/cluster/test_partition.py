"""Quorum on loopback: frozen (SIGSTOP) nodes stand in for a network
partition. A minority must not acknowledge a write; a majority must."""

import time

import grpc
import pytest

from cluster_harness import describe, pb, retry

MINORITY_WAIT_S = 8.0
RECOVER_TIMEOUT_S = 30.0
MAJORITY_WRITES = 10
MAJORITY_CALL_TIMEOUT_S = 3.0


def put(client, path, data, timeout):
    return client.files.Write(iter([pb.WriteRequest(path=path, data=data, create=True,
                                                    truncate=True)]), timeout=timeout)


def test_partitioned_minority_cannot_ack(make_cluster):
    c = make_cluster(3)
    doc = c.wait_healthy(3)
    volume = c.volume_shards(doc)[0]
    # The survivor leads the root volume: a leader cut off from its
    # followers is the one that must not go on acknowledging.
    survivor = c.node(c.leader_of(volume, doc))
    others = [n for n in c.nodes if n is not survivor]
    cl = survivor.client()
    cl.mkdir("/p")
    cl.create_table("/p/t")
    put(cl, "/p/before", b"before", 20)

    for n in others:
        n.freeze()
    try:
        t0 = time.monotonic()
        with pytest.raises(grpc.RpcError) as info:
            resp = put(cl, "/p/minority", b"minority", MINORITY_WAIT_S)
            pytest.fail(f"node {survivor.id} alone (2 of 3 frozen) acknowledged a file write "
                        f"after {time.monotonic() - t0:.1f}s: {resp}")
        print(f"minority file write: {describe(info.value)}")
        with pytest.raises(grpc.RpcError) as info:
            v = cl.tables.Put(pb.PutRowRequest(path="/p/t", key=b"minority", document="{}"),
                              timeout=MINORITY_WAIT_S)
            pytest.fail(f"node {survivor.id} alone acknowledged a row put: {v}")
        print(f"minority row put: {describe(info.value)}")
    finally:
        for n in others:
            n.thaw()

    # Healed: writes are acknowledged again.
    retry(lambda: put(cl, "/p/healed", b"healed", 10), RECOVER_TIMEOUT_S,
          "file write after thawing the majority", exceptions=(grpc.RpcError,))
    assert cl.read("/p/healed") == b"healed"
    c.wait_healthy(3)

    # The other way round: one node (the leader again) frozen; the two
    # others are a majority and keep acknowledging, through either of them.
    doc = c.health()
    frozen = c.node(c.leader_of(volume, doc))
    rest = [n for n in c.nodes if n is not frozen]
    frozen.freeze()
    try:
        clients = [n.client() for n in rest]
        t0 = time.monotonic()
        for attempt in range(100):
            client = clients[attempt % 2]
            try:
                put(client, "/p/majority-0", b"m0", MAJORITY_CALL_TIMEOUT_S)
                break
            except grpc.RpcError as err:
                print(f"{time.monotonic() - t0:5.1f}s: write via {client.endpoint} failed: "
                      f"{describe(err)}")
                assert time.monotonic() - t0 < RECOVER_TIMEOUT_S, \
                    f"no write acknowledged by the majority within {RECOVER_TIMEOUT_S}s"
                time.sleep(0.2)
        print(f"majority acknowledged {time.monotonic() - t0:.1f}s after node {frozen.id} froze")
        for i in range(1, MAJORITY_WRITES):
            client = clients[i % 2]
            put(client, f"/p/majority-{i}", b"m%d" % i, 10)
            assert client.put_row("/p/t", f"m{i}", {"i": i}) == 1
        for i in range(MAJORITY_WRITES):
            assert clients[(i + 1) % 2].read(f"/p/majority-{i}") == b"m%d" % i
    finally:
        frozen.thaw()
    c.wait_healthy(3)
    # The thawed node catches up and serves what the majority wrote.
    back = frozen.client()
    assert retry(lambda: back.read(f"/p/majority-{MAJORITY_WRITES - 1}"), RECOVER_TIMEOUT_S,
                 f"read via node {frozen.id} after thawing it",
                 exceptions=(grpc.RpcError,)) == b"m%d" % (MAJORITY_WRITES - 1)
