"""Fixtures for the Kafka conformance suite: real Kafka clients (kcat,
confluent-kafka-python over librdkafka, kafka-python, kafkajs) against
tesserad's Kafka listener.

`tessera`: one fresh tesserad per test module (tests/e2e/harness.py), with
`.kafka_addr` the bootstrap address. Every daemon is stopped at teardown.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))

import harness  # noqa: E402  (tests/e2e/harness.py)

_active = []


def _teardown(s):
    _active.remove(s)
    died = s.proc is not None and s.proc.poll() is not None
    tail = s.log_tail() if died else ""
    harness.stop_server(s, keep_on_failure=bool(os.environ.get("TESSERA_E2E_KEEP")) or died)
    if died:
        pytest.fail(f"tesserad exited during the tests (data kept in {s.root}); log tail:\n{tail}",
                    pytrace=False)


@pytest.fixture(scope="module")
def tessera():
    s = harness.start_server()
    _active.append(s)
    yield s
    _teardown(s)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _active:
        for s in _active:
            rep.sections.append((f"tesserad log tail ({s.root})", s.log_tail(4000)))


@pytest.fixture
def make_cluster(request):
    """make_cluster(count, **kw): a cluster of tesserad processes
    (tests/cluster/cluster_harness.py), each node with `.kafka_addr`;
    stopped at teardown whatever happened."""
    import cluster_harness as ch
    made = []

    def make(count, **kw):
        c = ch.Cluster.start(count, **kw)
        made.append(c)
        return c

    def finalize():
        for c in made:
            c.close()

    request.addfinalizer(finalize)
    return make
