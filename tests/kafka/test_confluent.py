"""confluent-kafka-python (librdkafka) against the Kafka listener: an
idempotent producer's 100 000 messages come back exactly, and a consumer
group of three over six partitions rebalances as members join and leave,
with committed offsets, so no message is processed twice or skipped."""

import hashlib
import threading
import time

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")  # Debian python3-confluent-kafka
from confluent_kafka import Consumer, KafkaError, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

import harness  # noqa: E402


def create_topic(tessera, name, partitions):
    admin = AdminClient({"bootstrap.servers": tessera.kafka_addr})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    for f in futures.values():
        f.result(30)


def produce_all(tessera, topic, messages, **conf):
    p = Producer({"bootstrap.servers": tessera.kafka_addr, "linger.ms": 5, **conf})
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(err)

    for i, (k, v) in enumerate(messages):
        while True:
            try:
                p.produce(topic, key=k, value=v, on_delivery=delivered)
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(60)
    assert left == 0, f"{left} messages not delivered"
    assert not errors, errors[:5]


def consumer(tessera, group, **conf):
    return Consumer({"bootstrap.servers": tessera.kafka_addr, "group.id": group,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, **conf})


def digest(values):
    h = hashlib.sha256()
    for v in sorted(values):
        h.update(v)
    return h.hexdigest()


def test_idempotent_producer_100k_exactly_once(tessera):
    topic = "idem-100k"
    create_topic(tessera, topic, 4)
    sent = [(str(i % 97).encode(), f"message-{i:06d}".encode() + b"x" * (i % 50)) for i in range(100_000)]
    produce_all(tessera, topic, sent, **{"enable.idempotence": True, "acks": "all"})
    c = consumer(tessera, "idem-reader")
    c.subscribe([topic])
    got = []
    deadline = time.time() + 120
    while len(got) < len(sent) and time.time() < deadline:
        for m in c.consume(num_messages=5000, timeout=1.0):
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                continue
            got.append(m.value())
    # Nothing more arrives: exactly the messages sent, once each.
    extra = [m for m in c.consume(num_messages=100, timeout=2.0) if not m.error()]
    c.close()
    assert len(got) == len(sent) and not extra
    assert digest(got) == digest([v for _, v in sent])


def test_consumer_group_rebalances_without_loss_or_duplicates(tessera):
    topic = "group-six"
    create_topic(tessera, topic, 6)
    total = 6000
    produce_all(tessera, topic, [(str(i).encode(), str(i).encode()) for i in range(total)])

    processed = []  # (member, value) once each member committed it
    lock = threading.Lock()
    stop = threading.Event()
    assigned = {}

    def member(name, run_for):
        c = consumer(tessera, "six-group", **{"client.id": name})

        def on_assign(cons, parts):
            with lock:
                assigned[name] = sorted(p.partition for p in parts)

        c.subscribe([topic], on_assign=on_assign)
        end = time.time() + run_for
        while time.time() < end and not stop.is_set():
            msgs = [m for m in c.consume(num_messages=50, timeout=0.5) if not m.error()]
            if not msgs:
                continue
            time.sleep(0.02)  # slow members, so the rebalances happen mid-stream
            try:
                c.commit(asynchronous=False)
            except confluent_kafka.KafkaException:
                # The commit was refused (a rebalance took the partitions):
                # these messages are someone else's to process again.
                continue
            with lock:
                processed.extend((name, m.value()) for m in msgs)
        c.close()

    a = threading.Thread(target=member, args=("a", 60))
    a.start()
    time.sleep(4)
    b = threading.Thread(target=member, args=("b", 60))
    b.start()
    time.sleep(4)
    c3 = threading.Thread(target=member, args=("c", 6))  # joins, then leaves
    c3.start()

    deadline = time.time() + 90
    while time.time() < deadline:
        with lock:
            if len({v for _, v in processed}) >= total:
                break
        time.sleep(0.5)
    stop.set()
    for t in (a, b, c3):
        t.join(30)
    values = [v for _, v in processed]
    missing = total - len(set(values))
    dupes = len(values) - len(set(values))
    assert missing == 0, f"{missing} messages never processed (assignments {assigned})"
    assert dupes == 0, f"{dupes} messages processed twice after a commit"
    members = {n for n, _ in processed}
    assert len(members) >= 2, f"only {members} processed anything: no rebalance happened"
