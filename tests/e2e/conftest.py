"""Fixtures for the end-to-end suite.

`tessera`: one fresh tesserad per test module (its own data directory and
loopback ports), with admin stubs (.ns .files .tables .streams .adm, and
.admin as a Client), .make_user(), .cli(), .http_get() and .unique() for fresh
paths. The daemon is always stopped at teardown (SIGTERM, then SIGKILL).
`fresh_tessera`: the same, per test, for tests that need an empty node.

Set TESSERA_E2E_KEEP=1 to keep data directories and logs.
"""

import os

import pytest

import harness

_active = []


def _server():
    s = harness.start_server()
    _active.append(s)
    return s


def _teardown(s):
    _active.remove(s)
    died = s.proc is not None and s.proc.poll() is not None
    tail = s.log_tail() if died else ""
    code = s.proc.returncode if died else None
    harness.stop_server(s, keep_on_failure=bool(os.environ.get("TESSERA_E2E_KEEP")) or died)
    if died:
        pytest.fail(f"tesserad exited with status {code} during the tests "
                    f"(data kept in {s.root}); log tail:\n{tail}", pytrace=False)


@pytest.fixture(scope="module")
def tessera():
    s = _server()
    yield s
    _teardown(s)


@pytest.fixture
def fresh_tessera():
    s = _server()
    yield s
    _teardown(s)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _active:
        for s in _active:
            rep.sections.append((f"tesserad log tail ({s.root})", s.log_tail(4000)))
