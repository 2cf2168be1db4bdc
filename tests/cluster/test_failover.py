"""Leaders killed (SIGKILL) under concurrent writes: nothing acknowledged is
lost, duplicated or corrupted, and a majority keeps acknowledging."""

import time

import pytest

from cluster_harness import META_SHARD, rng
from workload import Workload

ROUNDS = 5
WRITE_BEFORE_KILL_S = 2.0
DOWN_S = 3.0
RECOVER_TIMEOUT_S = 60.0


@pytest.mark.parametrize("size", [3, 5])
def test_kill_leaders_during_writes(make_cluster, size):
    r = rng()
    # File data in data shards, so that their leaders are killed too.
    c = make_cluster(size, node_args=["--file-data-shards", "2"])
    doc = c.wait_healthy(size)
    volume = c.volume_shards(doc)[0]  # the root volume

    load = Workload(c, seed=r.randrange(1 << 30))
    setup = c.nodes[0].client()
    load.setup(setup)
    doc = c.wait_healthy(size)
    partitions = c.partition_shards(doc)
    assert len(partitions) == load.partitions, doc
    tablets = c.tablet_shards(doc)
    assert len(tablets) == 1, doc  # the workload's table, not split
    data = c.shards_of_kind("data", doc)
    assert data, doc  # the root volume's file data shards
    load.start()
    rounds = []
    try:
        for i in range(ROUNDS):
            time.sleep(WRITE_BEFORE_KILL_S)
            # The meta shard, the root volume's shard, one partition's shard,
            # the table's tablet shard, a file data shard.
            shard = (META_SHARD, volume, partitions[i % len(partitions)], tablets[0],
                     data[i % len(data)])[i % 5]
            leader = c.leader_of(shard)
            assert leader, f"round {i}: shard {shard} has no leader: {c.health()}"
            victim = c.node(leader)
            t_kill = time.monotonic()
            victim.kill()
            load.note(f"node {leader} killed")
            time.sleep(DOWN_S)
            t_restart = time.monotonic()
            during = load.acks_between(t_kill, t_restart)
            load.note(f"node {leader} restarting")
            victim.restart()
            load.note(f"node {leader} ready")
            c.wait_healthy(size, timeout_s=RECOVER_TIMEOUT_S)
            rounds.append(f"round {i}: killed node {leader} (leader of shard {shard}); "
                          f"{during} writes acknowledged while it was down")
            # A majority is left: writes must go on while the leader is gone.
            assert during > 0, f"no write acknowledged in the {DOWN_S}s node {leader} was " \
                               f"down; {load.summary()}"
        time.sleep(WRITE_BEFORE_KILL_S)
    finally:
        load.halt()
    print("\n".join(rounds))
    print(load.summary())
    assert sum(len(w.acked) for w in load.writers) > 0, load.summary()
    for w in load.writers:
        assert w.acked, f"{w.name} never had a write acknowledged: {load.summary()}"

    c.wait_healthy(size, timeout_s=RECOVER_TIMEOUT_S)
    problems = load.verify(c.nodes[0].client(), full=True)
    for n in c.nodes[1:]:
        problems += [f"via node {n.id}: {p}" for p in load.verify(n.client(), full=False)]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])
    # A valid key is valid on every node at every moment a node answers.
    refused = load.errors_of(("UNAUTHENTICATED", "PERMISSION_DENIED"))
    assert not refused, f"{len(refused)} writes refused the admin key, e.g.:\n" + \
        "\n".join(refused[:10])
