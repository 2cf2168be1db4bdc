"""Three nodes, acks=all: partition leaders are killed (kill -9) while an
idempotent librdkafka producer runs; every acknowledged message is there
afterwards, once."""

import threading
import time

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "durable"
PARTITIONS = 3


def leaders(bootstrap):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(TOPIC, timeout=10)
    return {p.id: p.leader for p in md.topics[TOPIC].partitions.values()}


def read_partition(bootstrap, p):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"verify-{p}",
                  "enable.auto.commit": False})
    low, high = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
    c.assign([TopicPartition(TOPIC, p, low)])
    out = []
    deadline = time.time() + 60
    while len(out) < high - low and time.time() < deadline:
        for m in c.consume(num_messages=1000, timeout=1.0):
            if not m.error():
                out.append(m.value())
    c.close()
    return out


def test_killing_partition_leaders_loses_no_acknowledged_message(make_cluster):
    c = make_cluster(3)
    c.wait_healthy(3)
    bootstrap = ",".join(n.kafka_addr for n in c.nodes)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS,
                                           replication_factor=3)]).values():
        f.result(60)

    acked, failed = set(), []
    lock = threading.Lock()
    stop = threading.Event()

    def produce():
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                      "linger.ms": 2, "message.timeout.ms": 120000})

        def done(err, msg):
            with lock:
                if err is None:
                    acked.add(msg.value())
                else:
                    failed.append(err)

        i = 0
        while not stop.is_set():
            try:
                p.produce(TOPIC, value=b"m-%08d" % i, on_delivery=done)
                i += 1
            except BufferError:
                pass
            p.poll(0.001 if i % 50 else 0.01)
        assert p.flush(120) == 0, "messages still in flight two minutes after the last kill"

    t = threading.Thread(target=produce)
    t.start()
    killed = []
    try:
        time.sleep(3)
        for round_ in range(3):
            leader = leaders(bootstrap)[round_ % PARTITIONS]
            victim = c.node(leader)
            with lock:
                before = len(acked)
            victim.kill()
            killed.append(leader)
            time.sleep(4)
            victim.restart()
            c.wait_healthy(3)
            with lock:
                assert len(acked) > before, f"no progress while node {leader} was down"
    finally:
        time.sleep(2)
        stop.set()
        t.join(180)
    assert not t.is_alive()
    got = []
    for p in range(PARTITIONS):
        got.extend(read_partition(bootstrap, p))
    missing = acked - set(got)
    assert not missing, f"{len(missing)} acknowledged messages lost (killed {killed}): {sorted(missing)[:5]}"
    assert len(got) == len(set(got)), f"{len(got) - len(set(got))} duplicates"
    assert len(acked) > 1000, f"only {len(acked)} messages acknowledged"
