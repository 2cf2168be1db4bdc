"""Stream partitions are shards of their own: placed and led independently,
replicated before the topic is usable, read and written through any node,
led by every node again after one restarts, and their replicas go away with
the stream."""

from cluster_harness import healthy, node_entry, pb, retry

PARTITIONS = 6


def partition_docs(doc):
    return [s for s in doc["shards"] if s.get("kind") == "partition"]


def test_partitions_spread_and_follow_the_stream(make_cluster):
    c = make_cluster(3)
    doc = c.wait_healthy(3)
    held_before = {n["id"]: n["shards"] for n in doc["nodes"]}
    assert partition_docs(doc) == [], doc

    n1, n2, n3 = c.nodes
    a = n1.client()
    stream = "/clicks"
    a.create_stream(stream, topic="views", partitions=PARTITIONS)

    # Replicated before CreateTopic answered: every partition already has
    # three voters (health reports lag by a heartbeat, hence the wait).
    doc = c.wait_health(lambda d: len(partition_docs(d)) == PARTITIONS and
                        all(len(s["voters"]) == 3 and s["leader"] for s in partition_docs(d)),
                        what=f"{PARTITIONS} partition shards, 3 voters each, with leaders")
    parts = partition_docs(doc)
    leaders = {s["leader"] for s in parts}
    # Leaders are handed round the nodes: load spreads over all three.
    assert leaders == {1, 2, 3}, [(s["shard"], s["leader"]) for s in parts]
    assert healthy(doc, 3), doc

    # Every partition written through one node, read through the others.
    for p in range(PARTITIONS):
        resp = a.produce(stream, "views", [b"v%d-%d" % (p, i) for i in range(5)], p)
        assert list(resp.offsets) == list(range(5)), (p, resp)
    for via in (n2, n3):
        cl = via.client()
        for p in range(PARTITIONS):
            f = retry(lambda: cl.fetch(stream, "views", partition=p, offset=0), 10,
                      f"fetch partition {p} via node {via.id}")
            assert [bytes(r.value) for r in f.records] == [b"v%d-%d" % (p, i) for i in range(5)]
            assert f.end_offset == 5
        top = cl.topic(stream, "views")
        assert list(top.end_offsets) == [5] * PARTITIONS, top
    # Keyed records land by Kafka's murmur2 partitioner, the same from any node.
    keyed = [pb.Record(key=b"user-%d" % i, value=b"k") for i in range(20)]
    r2 = n2.client().produce(stream, "views", keyed)
    r3 = n3.client().produce(stream, "views", keyed)
    assert list(r2.partitions) == list(r3.partitions), (r2, r3)
    assert len(set(r2.partitions)) > 1, r2

    # Consumer group offsets live with their partition.
    n3.client().streams.CommitOffset(pb.CommitOffsetRequest(
        stream=stream, topic="views", group="g1", partition=2, offset=4))
    got = n2.client().streams.GetOffset(pb.GetOffsetRequest(
        stream=stream, topic="views", group="g1", partition=2))
    assert got.found and got.offset == 4, got

    # A node killed and restarted gets leaderships back: the survivors took
    # its partitions over, placement hands them round again.
    n3.kill()
    c.wait_health(lambda d: all(s["leader"] in (1, 2) for s in partition_docs(d)),
                  what="partitions led by the two survivors")
    n3.restart()
    doc = c.wait_health(lambda d: {s["leader"] for s in partition_docs(d)} == {1, 2, 3},
                        what="partition leaders spread over all three nodes again")
    for p in range(PARTITIONS):
        f = retry(lambda: n3.client().fetch(stream, "views", partition=p, offset=0), 10,
                  f"fetch partition {p} via the restarted node")
        assert [bytes(r.value) for r in f.records][:5] == [b"v%d-%d" % (p, i) for i in range(5)]

    # Removing the stream releases its partition shards: their meta records
    # go, then every replica is dropped.
    a.ns.Remove(pb.RemoveRequest(path=stream))
    doc = c.wait_health(
        lambda d: partition_docs(d) == [] and
        all(node_entry(d, i)["shards"] == held for i, held in held_before.items()),
        what="partition shards removed and their replicas dropped on every node")
    assert healthy(doc, 3), doc
