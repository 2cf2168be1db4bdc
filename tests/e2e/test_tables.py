"""Tables: rows key -> JSON object with versions, conditional writes,
partial updates, atomic batches and ordered scans."""

import json
import threading

import pytest

from harness import errc, expect_errc, pb, wait_until


def doc(row):
    return json.loads(row.document)


def keys(rows):
    return [r.key.decode() for r in rows]


@pytest.fixture
def table(tessera):
    p = tessera.unique("tb")
    st = tessera.admin.create_table(p)
    assert st.kind == pb.KIND_TABLE
    return p


def test_put_get_delete(tessera, table):
    c = tessera.admin
    assert c.put_row(table, "alice", {"age": 30, "tags": ["a", "b"]}) == 1
    row = c.get_row(table, "alice")
    assert row.key == b"alice"
    assert doc(row) == {"age": 30, "tags": ["a", "b"]}
    assert row.version == 1
    assert c.put_row(table, "alice", {"age": 31}) == 2
    row = c.get_row(table, "alice")
    assert doc(row) == {"age": 31}, "put replaces the whole document"
    assert row.version == 2
    # Binary keys are fine.
    c.put_row(table, b"\x00\xff\x01", {"bin": True})
    assert doc(c.get_row(table, b"\x00\xff\x01")) == {"bin": True}
    tessera.tables.Delete(pb.DeleteRowRequest(path=table, key=b"alice"))
    err = expect_errc("not_found", c.get_row, table, "alice")
    assert table in err.details() or "alice" in err.details()
    # Deleting an absent row.
    expect_errc("not_found", tessera.tables.Delete, pb.DeleteRowRequest(path=table, key=b"zz"))
    # A re-created row starts over.
    assert c.put_row(table, "alice", {"age": 1}) >= 1


def test_if_absent_conflict_keeps_row(tessera, table):
    c = tessera.admin
    c.put_row(table, "k", {"v": "first"}, if_absent=True)
    expect_errc("already_exists", c.put_row, table, "k", {"v": "second"}, if_absent=True)
    row = c.get_row(table, "k")
    assert doc(row) == {"v": "first"} and row.version == 1


def test_if_version_conflict_keeps_row(tessera, table):
    c = tessera.admin
    v1 = c.put_row(table, "k", {"n": 1})
    v2 = c.put_row(table, "k", {"n": 2}, if_version=v1)
    assert v2 > v1
    expect_errc("version_mismatch", c.put_row, table, "k", {"n": 3}, if_version=v1)
    row = c.get_row(table, "k")
    assert doc(row) == {"n": 2} and row.version == v2
    expect_errc("version_mismatch", tessera.tables.Delete,
                pb.DeleteRowRequest(path=table, key=b"k", if_version=v1))
    assert doc(c.get_row(table, "k")) == {"n": 2}
    expect_errc("version_mismatch", tessera.tables.Update,
                pb.UpdateRowRequest(path=table, key=b"k", set='{"n": 9}', if_version=v1))
    assert doc(c.get_row(table, "k")) == {"n": 2}
    tessera.tables.Delete(pb.DeleteRowRequest(path=table, key=b"k", if_version=v2))
    expect_errc("not_found", c.get_row, table, "k")


def test_partial_update_set_and_remove(tessera, table):
    c = tessera.admin
    c.put_row(table, "u", {"a": 1, "b": {"x": 1}, "c": "keep"})
    row = tessera.tables.Update(pb.UpdateRowRequest(
        path=table, key=b"u", set='{"a": 2, "d": [1, 2]}', remove=["b"])).row
    assert doc(row) == {"a": 2, "c": "keep", "d": [1, 2]}
    assert row.version == 2
    assert doc(c.get_row(table, "u")) == {"a": 2, "c": "keep", "d": [1, 2]}
    # Missing row: not_found unless create is set.
    expect_errc("not_found", tessera.tables.Update,
                pb.UpdateRowRequest(path=table, key=b"new", set='{"a": 1}'))
    expect_errc("not_found", c.get_row, table, "new")
    row = tessera.tables.Update(pb.UpdateRowRequest(
        path=table, key=b"new", set='{"a": 1}', create=True)).row
    assert doc(row) == {"a": 1} and row.version == 1
    # `set` must be an object too.
    expect_errc("invalid_argument", tessera.tables.Update,
                pb.UpdateRowRequest(path=table, key=b"u", set='[1]'))
    assert doc(c.get_row(table, "u")) == {"a": 2, "c": "keep", "d": [1, 2]}


def _put(table, key, document, **kw):
    return pb.RowOp(put=pb.PutRowRequest(path=table, key=key, document=document, **kw))


def _update(table, key, set_="", remove=(), **kw):
    return pb.RowOp(update=pb.UpdateRowRequest(path=table, key=key, set=set_,
                                               remove=list(remove), **kw))


def _delete(table, key, **kw):
    return pb.RowOp(delete=pb.DeleteRowRequest(path=table, key=key, **kw))


def test_batch_applies_all_steps(tessera, table):
    k = b"acct"
    resp = tessera.tables.Batch(pb.BatchRowRequest(path=table, key=k, ops=[
        _put(table, k, '{"balance": 10}', if_absent=True),
        _update(table, k, '{"owner": "bob"}'),
        _update(table, k, '{"balance": 15}'),
    ]))
    assert not resp.deleted
    assert doc(resp.row) == {"balance": 15, "owner": "bob"}
    assert doc(tessera.admin.get_row(table, "acct")) == {"balance": 15, "owner": "bob"}
    resp = tessera.tables.Batch(pb.BatchRowRequest(path=table, key=k, ops=[
        _update(table, k, '{"x": 1}'),
        _delete(table, k),
    ]))
    assert resp.deleted
    expect_errc("not_found", tessera.admin.get_row, table, "acct")


def test_failing_batch_applies_nothing(tessera, table):
    c = tessera.admin
    k = b"acct"
    v = c.put_row(table, k, {"balance": 10})
    before = c.get_row(table, k)
    # The last step fails its version check: the earlier steps must not apply.
    expect_errc("version_mismatch", tessera.tables.Batch, pb.BatchRowRequest(
        path=table, key=k, ops=[
            _update(table, k, '{"balance": 0}'),
            _update(table, k, "", remove=["balance"]),
            _put(table, k, '{"balance": 99}', if_version=v + 100),
        ]))
    after = c.get_row(table, k)
    assert doc(after) == {"balance": 10}
    assert after.version == before.version
    # A failing if_absent in the middle.
    expect_errc("already_exists", tessera.tables.Batch, pb.BatchRowRequest(
        path=table, key=k, ops=[
            _delete(table, k),
            _put(table, k, '{"balance": 1}'),
            _put(table, k, '{"balance": 2}', if_absent=True),
        ]))
    assert doc(c.get_row(table, k)) == {"balance": 10}
    # An invalid document in the last step.
    expect_errc("invalid_argument", tessera.tables.Batch, pb.BatchRowRequest(
        path=table, key=k, ops=[
            _update(table, k, '{"balance": 5}'),
            _put(table, k, '"not an object"'),
        ]))
    assert doc(c.get_row(table, k)) == {"balance": 10}
    assert c.get_row(table, k).version == before.version


def test_scan_prefix_range_limit_and_pages(tessera, table):
    c = tessera.admin
    all_keys = [f"k{i:02d}" for i in range(30)] + ["a-first", "other1", "other2"]
    for i, k in enumerate(reversed(all_keys)):
        c.put_row(table, k, {"i": i})
    everything = c.scan_all(table)
    assert keys(everything) == sorted(all_keys), "scan returns rows in key order"
    assert all(r.version == 1 for r in everything)
    assert json.loads(everything[0].document)
    assert keys(c.scan_all(table, prefix=b"k1")) == [f"k1{i}" for i in range(10)]
    assert keys(c.scan_all(table, prefix=b"other")) == ["other1", "other2"]
    assert keys(c.scan_all(table, prefix=b"nothing")) == []
    assert keys(c.scan_all(table, start=b"k05", end=b"k09")) == ["k05", "k06", "k07", "k08"]
    assert keys(c.scan_all(table, start=b"k27")) == ["k27", "k28", "k29", "other1", "other2"]
    assert keys(c.scan_all(table, end=b"k02")) == ["a-first", "k00", "k01"]
    # limit caps one page; the token continues where it stopped.
    first = tessera.tables.Scan(pb.ScanRequest(path=table, prefix=b"k", limit=7))
    assert keys(first.rows) == [f"k{i:02d}" for i in range(7)]
    assert first.next_page_token
    second = tessera.tables.Scan(pb.ScanRequest(path=table, prefix=b"k", limit=7,
                                                page_token=first.next_page_token))
    assert keys(second.rows) == [f"k{i:02d}" for i in range(7, 14)]
    paged = c.scan_all(table, prefix=b"k", limit=7)
    assert keys(paged) == [f"k{i:02d}" for i in range(30)]
    paged = c.scan_all(table, start=b"k10", end=b"k20", limit=3)
    assert keys(paged) == [f"k{i}" for i in range(10, 20)]
    # A write between pages does not break the continuation.
    c.put_row(table, "k00", {"changed": True})
    rest = c.scan_all(table, prefix=b"k", limit=100, page_token=second.next_page_token)
    assert keys(rest) == [f"k{i:02d}" for i in range(14, 30)]


@pytest.mark.parametrize("bad", ['[1, 2]', '42', '"text"', 'null', 'true', '{"a": ',
                                 'not json', '', '{"a": 1} trailing'])
def test_document_must_be_json_object(tessera, table, bad):
    c = tessera.admin
    expect_errc("invalid_argument", c.put_row, table, "k", bad)
    expect_errc("not_found", c.get_row, table, "k")
    assert c.scan_all(table) == []


def test_oversized_document_is_refused(tessera, table):
    c = tessera.admin
    c.put_row(table, "small", {"ok": True})
    big = json.dumps({"blob": "x" * (2 << 20)})
    expect_errc(("too_large", "invalid_argument"), c.put_row, table, "big", big)
    expect_errc(("too_large", "invalid_argument"), c.put_row, table, "k" * 100_000, {"a": 1})
    expect_errc("not_found", c.get_row, table, "big")
    assert keys(c.scan_all(table)) == ["small"]
    wait_until(lambda: tessera.admin.stat(table).rows == 1, 10, what="1 row reported")


def test_table_ops_on_missing_table(tessera):
    p = tessera.unique("notable")
    expect_errc("not_found", tessera.admin.put_row, p, "k", {"a": 1})
    expect_errc("not_found", tessera.admin.scan_all, p)
    expect_errc("not_found", tessera.admin.stat, p)
    tessera.admin.create_table(p)
    expect_errc("already_exists", tessera.admin.create_table, p)


def test_concurrent_read_modify_write_with_if_version(tessera, table):
    """Optimistic concurrency: writers that retry on version_mismatch never
    lose an update."""
    import grpc
    c = tessera.admin
    c.put_row(table, "counter", {"n": 0})
    writers, increments = 4, 15
    errors = []

    def work():
        try:
            for _ in range(increments):
                for _attempt in range(1000):
                    row = c.get_row(table, "counter")
                    n = json.loads(row.document)["n"]
                    try:
                        c.put_row(table, "counter", {"n": n + 1}, if_version=row.version)
                        break
                    except grpc.RpcError as e:
                        if errc(e) != "version_mismatch":
                            raise
                else:
                    raise AssertionError("no progress after 1000 attempts")
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[0]
    row = c.get_row(table, "counter")
    assert json.loads(row.document) == {"n": writers * increments}
    assert row.version == 1 + writers * increments
