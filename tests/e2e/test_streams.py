"""Streams: topics with partitions, produce/fetch with offsets, long polls,
consumer group offsets and retention."""

import threading
import time

import grpc
import pytest

from harness import describe, errc, expect_errc, pb, wait_until


@pytest.fixture
def stream(tessera):
    p = tessera.unique("st")
    st = tessera.admin.create_stream(p)
    assert st.kind == pb.KIND_STREAM
    return p


def test_create_topics_with_partitions(tessera, stream):
    t = tessera
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="orders", partitions=3))
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="audit", partitions=1))
    topics = {x.name: x for x in t.streams.ListTopics(pb.ListTopicsRequest(stream=stream)).topics}
    assert set(topics) == {"orders", "audit"}
    assert topics["orders"].partitions == 3
    assert list(topics["orders"].start_offsets) == [0, 0, 0]
    assert list(topics["orders"].end_offsets) == [0, 0, 0]
    assert topics["audit"].partitions == 1
    assert t.admin.stat(stream).topics == 2
    expect_errc("already_exists", t.streams.CreateTopic,
                pb.CreateTopicRequest(stream=stream, topic="orders", partitions=3))
    expect_errc("invalid_argument", t.streams.CreateTopic,
                pb.CreateTopicRequest(stream=stream, topic="zero", partitions=0))
    expect_errc("invalid_argument", t.streams.CreateTopic,
                pb.CreateTopicRequest(stream=stream, topic="", partitions=1))
    expect_errc("not_found", t.streams.CreateTopic,
                pb.CreateTopicRequest(stream=stream + "-missing", topic="x", partitions=1))
    expect_errc("not_found", t.admin.produce, stream, "nosuchtopic", [b"x"], 0)


def test_produce_batch_and_fetch_preserves_records(tessera, stream):
    t = tessera
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="t", partitions=2))
    ts0 = 1_700_000_000_000
    recs = [pb.Record(key=f"k{i}".encode(), value=f"value-{i}".encode(),
                      headers=[pb.Header(key="trace", value=f"id{i}".encode()),
                               pb.Header(key="bin", value=b"\x00\x01")],
                      timestamp_ms=ts0 + i)
            for i in range(5)]
    resp = t.admin.produce(stream, "t", recs, partition=1)
    assert list(resp.partitions) == [1] * 5
    assert list(resp.offsets) == [0, 1, 2, 3, 4]
    resp = t.admin.produce(stream, "t", [b"more-0", b"more-1"], partition=1)
    assert list(resp.offsets) == [5, 6]
    top = t.admin.topic(stream, "t")
    assert list(top.end_offsets) == [0, 7]

    f = t.admin.fetch(stream, "t", partition=1, offset=2)
    assert f.start_offset == 0 and f.end_offset == 7
    got = list(f.records)
    assert [r.offset for r in got] == [2, 3, 4, 5, 6]
    for r in got[:3]:
        i = r.offset
        assert r.key == f"k{i}".encode()
        assert r.value == f"value-{i}".encode()
        assert [(h.key, h.value) for h in r.headers] == [("trace", f"id{i}".encode()),
                                                         ("bin", b"\x00\x01")]
        assert r.timestamp_ms == ts0 + i
        assert r.partition == 1
    assert got[3].value == b"more-0" and got[3].key == b""
    # timestamp 0 on produce means server time.
    now_ms = time.time() * 1000
    assert abs(got[3].timestamp_ms - now_ms) < 60_000
    # Partition 0 is empty; fetching at the end returns nothing.
    f = t.admin.fetch(stream, "t", partition=0, offset=0)
    assert len(f.records) == 0 and f.end_offset == 0
    f = t.admin.fetch(stream, "t", partition=1, offset=7)
    assert len(f.records) == 0 and f.end_offset == 7


def test_keys_choose_partitions(tessera, stream):
    t = tessera
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="t", partitions=4))
    recs = [pb.Record(key=f"user-{i % 3}".encode(), value=str(i).encode()) for i in range(12)]
    resp = t.admin.produce(stream, "t", recs, partition=-1)
    by_key = {}
    for r, p in zip(recs, resp.partitions):
        by_key.setdefault(r.key, set()).add(p)
        assert p < 4
    assert all(len(ps) == 1 for ps in by_key.values()), f"one key, one partition: {by_key}"
    # Offsets are dense per partition, in request order.
    per_part = {}
    for p, o in zip(resp.partitions, resp.offsets):
        per_part.setdefault(p, []).append(o)
    for p, offs in per_part.items():
        assert offs == list(range(len(offs))), f"partition {p} offsets {offs}"
    # Keyless records of one request stick to one partition; requests take
    # the partitions in turn.
    used = set()
    for batch in range(4):
        resp = t.admin.produce(stream, "t", [b"a%d" % batch, b"b%d" % batch, b"c%d" % batch],
                               partition=-1)
        assert len(set(resp.partitions)) == 1, resp
        used |= set(resp.partitions)
    assert len(used) == 4, used
    expect_errc(("invalid_argument", "out_of_range", "not_found"), t.admin.produce,
                stream, "t", [b"x"], 9)
    expect_errc(("invalid_argument", "out_of_range", "not_found"), t.admin.fetch,
                stream, "t", 9, 0)


def test_fetch_respects_max_bytes(tessera, stream):
    t = tessera
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="t", partitions=1))
    t.admin.produce(stream, "t", [bytes([65 + i]) * 1000 for i in range(10)], partition=0)
    f = t.admin.fetch(stream, "t", offset=0, max_bytes=1)
    assert len(f.records) == 1, "a tiny limit still returns one record"
    assert f.records[0].value == b"A" * 1000
    f = t.admin.fetch(stream, "t", offset=0, max_bytes=3500)
    assert 1 <= len(f.records) <= 4
    # Consuming page by page yields every record once, in order.
    seen, off = [], 0
    while off < 10:
        f = t.admin.fetch(stream, "t", offset=off, max_bytes=2500)
        assert f.records, f"no progress at offset {off}"
        assert len(f.records) < 10
        for r in f.records:
            assert r.offset == off
            seen.append(r.value[:1])
            off += 1
    assert seen == [bytes([65 + i]) for i in range(10)]


def test_long_poll_returns_when_a_record_arrives(tessera, stream):
    t = tessera
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="t", partitions=1))
    t.admin.produce(stream, "t", [b"old"], partition=0)
    # Nothing new: the poll waits about max_wait_ms and returns empty.
    start = time.monotonic()
    f = t.admin.fetch(stream, "t", offset=1, max_wait_ms=600)
    waited = time.monotonic() - start
    assert len(f.records) == 0
    assert 0.4 <= waited < 10, f"an empty long poll should wait ~0.6s, waited {waited:.2f}s"

    result = {}

    def poll():
        t0 = time.monotonic()
        try:
            result["resp"] = t.admin.fetch(stream, "t", offset=1, max_wait_ms=15000, timeout=30)
        except Exception as e:  # reported below
            result["error"] = e
        result["elapsed"] = time.monotonic() - t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.7)
    t.admin.produce(stream, "t", [b"new"], partition=0)
    th.join(20)
    assert not th.is_alive(), "the long poll did not return"
    assert "error" not in result, result.get("error")
    assert [r.value for r in result["resp"].records] == [b"new"]
    assert result["elapsed"] < 10, \
        f"the poll should return soon after the produce, took {result['elapsed']:.1f}s"


def test_consumer_group_offsets(tessera, stream):
    t = tessera
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="t", partitions=2))
    t.admin.produce(stream, "t", [b"a", b"b", b"c"], partition=0)

    def get(group, partition):
        return t.streams.GetOffset(pb.GetOffsetRequest(stream=stream, topic="t", group=group,
                                                       partition=partition))

    assert not get("g1", 0).found
    t.streams.CommitOffset(pb.CommitOffsetRequest(stream=stream, topic="t", group="g1",
                                                  partition=0, offset=2))
    r = get("g1", 0)
    assert r.found and r.offset == 2
    assert not get("g1", 1).found, "offsets are per partition"
    assert not get("g2", 0).found, "offsets are per group"
    t.streams.CommitOffset(pb.CommitOffsetRequest(stream=stream, topic="t", group="g1",
                                                  partition=0, offset=3))
    assert get("g1", 0).offset == 3
    # Resuming from the committed offset.
    f = t.admin.fetch(stream, "t", partition=0, offset=get("g1", 0).offset - 1)
    assert [r.value for r in f.records] == [b"c"]


def test_retention_by_bytes_drops_old_records(tessera):
    t = tessera
    p = t.unique("ret")
    st = t.admin.create_stream(p, topic="t", partitions=1, retention_bytes=4096)
    assert st.retention_bytes == 4096 or t.admin.stat(p).retention_bytes == 4096
    n = 60
    for batch in range(6):
        t.admin.produce(p, "t", [f"{batch * 10 + i:04d}".encode() + b"x" * 496
                                 for i in range(10)], partition=0)
    start = wait_until(lambda: t.admin.topic(p, "t").start_offsets[0], 15, 0.25,
                       "retention by bytes to advance start_offset")
    top = t.admin.topic(p, "t")
    assert top.end_offsets[0] == n
    assert 0 < start < n, "the newest records are kept"
    f = t.admin.fetch(p, "t", offset=start)
    assert f.start_offset == start
    assert f.records[0].offset == start
    assert f.records[0].value.startswith(f"{start:04d}".encode())
    last = t.admin.fetch(p, "t", offset=n - 1)
    assert last.records[0].value.startswith(f"{n - 1:04d}".encode())
    # Old offsets are gone: either an out_of_range error or data from start on.
    try:
        f = t.admin.fetch(p, "t", offset=0)
        assert not f.records or f.records[0].offset >= start
    except grpc.RpcError as e:
        assert errc(e) == "out_of_range", describe(e)


def test_retention_by_age_drops_old_records(tessera):
    t = tessera
    p = t.unique("age")
    t.admin.create_stream(p, topic="t", partitions=1, retention_age_ms=1000)
    t.admin.produce(p, "t", [b"old-1", b"old-2"], partition=0)
    time.sleep(1.2)
    wait_until(lambda: t.admin.topic(p, "t").start_offsets[0] >= 2, 15, 0.25,
               "retention by age to drop records older than 1s")


def test_concurrent_producers_get_distinct_dense_offsets(tessera, stream):
    t = tessera
    t.streams.CreateTopic(pb.CreateTopicRequest(stream=stream, topic="t", partitions=1))
    producers, batches = 4, 10
    offsets, errors = [], []
    lock = threading.Lock()

    def work(w):
        try:
            for b in range(batches):
                resp = t.admin.produce(stream, "t", [f"{w}-{b}-{i}".encode() for i in range(3)],
                                       partition=0)
                offs = list(resp.offsets)
                assert offs == list(range(offs[0], offs[0] + 3)), "a batch is contiguous"
                with lock:
                    offsets.extend(offs)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(producers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[0]
    total = producers * batches * 3
    assert sorted(offsets) == list(range(total))
    seen, off = [], 0
    while off < total:
        f = t.admin.fetch(stream, "t", offset=off)
        assert f.records
        seen += [r.value for r in f.records]
        off = f.records[-1].offset + 1
    assert len(set(seen)) == total
