"""Topics are guarded by Tessera's one permission check: a Kafka principal
is the user of the access key it logs in with (SASL PLAIN or SCRAM-SHA-256);
without rights it gets TOPIC_AUTHORIZATION_FAILED, and an ACL on the stream
lets it in. Unauthenticated clients act as "anonymous"."""

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer  # noqa: E402


def conf(tessera, client, mechanism="PLAIN", secret=None):
    return {"bootstrap.servers": tessera.kafka_addr, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": mechanism, "sasl.username": client.key_id,
            "sasl.password": secret if secret is not None else client.secret}


def produce_one(c, topic, value):
    """Produces one message; returns the delivery error code (None = ok)."""
    p = Producer({**c, "message.timeout.ms": 10000, "retries": 0})
    result = []
    p.produce(topic, value=value, on_delivery=lambda err, m: result.append(err))
    p.flush(15)
    assert result, "no delivery report"
    return None if result[0] is None else result[0].code()


def read_all(c, topic, group, expect):
    cons = Consumer({**c, "group.id": group, "auto.offset.reset": "earliest"})
    cons.subscribe([topic])
    got, errors = [], []
    for _ in range(40):
        for m in cons.consume(num_messages=100, timeout=0.5):
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(m.error().code())
            else:
                got.append(m.value())
        if len(got) >= expect or errors:
            break
    cons.close()
    return got, errors


def test_principal_without_rights_is_refused_until_an_acl_grants_it(tessera):
    admin = tessera.admin
    stream = tessera.unique("secure")
    admin.create_stream(stream, topic="events", partitions=1)
    tessera.cli_ok("chmod", "700", stream)
    bob = tessera.make_user("bob")
    topic = f"{stream}:events"

    assert produce_one(conf(tessera, bob), topic, b"denied") == KafkaError.TOPIC_AUTHORIZATION_FAILED
    _, errors = read_all(conf(tessera, bob), topic, "bob-readers", 1)
    assert KafkaError.TOPIC_AUTHORIZATION_FAILED in errors

    tessera.cli_ok("acl", "set", stream, "user:bob:rw")
    assert produce_one(conf(tessera, bob), topic, b"granted") is None
    got, errors = read_all(conf(tessera, bob), topic, "bob-readers", 1)
    assert got == [b"granted"] and not errors

    # Anonymous clients are "other": mode 700 keeps them out.
    anon = {"bootstrap.servers": tessera.kafka_addr}
    assert produce_one(anon, topic, b"anon") == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_scram_sha256_login_with_an_access_key(tessera):
    carol = tessera.make_user("carol")
    stream = tessera.unique("scram")
    tessera.admin.create_stream(stream, topic="t", partitions=1)
    tessera.cli_ok("acl", "set", stream, "user:carol:rw")
    topic = f"{stream}:t"
    assert produce_one(conf(tessera, carol, "SCRAM-SHA-256"), topic, b"scram") is None
    got, _ = read_all(conf(tessera, carol, "SCRAM-SHA-256"), topic, "carol", 1)
    assert got == [b"scram"]


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_wrong_secret_fails_authentication(tessera, mechanism):
    dave = tessera.make_user("dave-" + mechanism.lower().replace("-", ""))
    p = Producer({**conf(tessera, dave, mechanism, secret="not-the-secret"),
                  "message.timeout.ms": 5000})
    errors = []
    p.produce("anything", value=b"x", on_delivery=lambda err, m: errors.append(err))
    p.flush(10)
    with pytest.raises(KafkaException) as exc:
        p.list_topics(timeout=5)
    assert errors and errors[0] is not None
    msg = str(exc.value) + str(errors[0])
    assert "uthentication" in msg or "_TRANSPORT" in msg or "_ALL_BROKERS_DOWN" in msg, msg
