"""Fixtures for the cluster suite.

`make_cluster(count, **kw)`: starts a cluster of `count` tesserad processes
(see cluster_harness.Cluster); every cluster a test made is stopped at
teardown, whatever happened. When a test fails, the last lines of every
node's log are added to the report and the data directories are kept.
"""

import pytest

import cluster_harness as ch

_active = []


@pytest.fixture
def make_cluster(request):
    made = []

    def make(count, **kw):
        c = ch.Cluster.start(count, **kw)
        made.append(c)
        _active.append(c)
        return c

    def finalize():
        failed = getattr(request.node, "_cluster_failed", False)
        errors = []
        for c in made:
            _active.remove(c)
            c.failed = c.failed or failed
            try:
                c.close()
            except Exception as exc:  # noqa: BLE001 - close the others too
                errors.append(str(exc))
        if errors:
            pytest.fail("; ".join(errors), pytrace=False)

    request.addfinalizer(finalize)
    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        item._cluster_failed = True
        for c in _active:
            rep.sections.append((f"tesserad logs ({c.root}, kept)", c.log_report()))
