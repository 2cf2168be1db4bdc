"""kafkajs (npm, pinned to 2.2.4 by tests/kafka/js/package-lock.json) against
the Kafka listener: its admin client creates a 3-partition topic, its producer
sends 1000 keyed, headed messages, a consumer group reads them all back, and a
second member joining the group makes it rebalance without losing or
repeating a message.

The client scripts are tests/kafka/js/kafkajs_client.js; each prints one JSON
summary line. kafkajs is installed once per session with `npm ci` into a
temporary copy of tests/kafka/js (nothing is written to the source tree). No
node or no npm registry is a failure, not a skip: CI has both.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
JS_SRC = os.path.join(HERE, "js")
SCRIPT = "kafkajs_client.js"
NPM_TIMEOUT_S = 240
NODE_TIMEOUT_S = 90


@pytest.fixture(scope="session")
def kafkajs_dir(tmp_path_factory):
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail(f"kafkajs tests need node and npm on PATH (node={node}, npm={npm})",
                    pytrace=False)
    d = tmp_path_factory.mktemp("kafkajs")
    for f in ("package.json", "package-lock.json", SCRIPT):
        shutil.copy(os.path.join(JS_SRC, f), d)
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fetch_retries="1",
               npm_config_fetch_timeout="30000")
    try:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=d, env=env,
                           capture_output=True, timeout=NPM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`npm ci` of kafkajs did not finish within {NPM_TIMEOUT_S}s: is the npm "
                    "registry reachable?", pytrace=False)
    if r.returncode != 0:
        pytest.fail("`npm ci` of kafkajs failed (is the npm registry reachable?):\n"
                    + r.stderr.decode(errors="replace")[-4000:], pytrace=False)
    with open(os.path.join(d, "node_modules", "kafkajs", "package.json")) as f:
        assert json.load(f)["version"] == "2.2.4"
    return str(d)


def run_node(kafkajs_dir, tessera, command, timeout=NODE_TIMEOUT_S, **config):
    """Runs one client command; returns its JSON summary. The process (in its
    own process group) is killed when it outlives `timeout`; its stderr is
    shown on any failure."""
    config = dict(brokers=[tessera.kafka_addr], deadlineMs=(timeout - 5) * 1000, **config)
    p = subprocess.Popen([shutil.which("node"), SCRIPT, command, json.dumps(config)],
                         cwd=kafkajs_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"node {SCRIPT} {command}: killed after {timeout}s; stderr:\n"
                    + err.decode(errors="replace")[-6000:], pytrace=False)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    stderr = err.decode(errors="replace")
    if p.returncode != 0:
        pytest.fail(f"node {SCRIPT} {command} exited {p.returncode}; stderr:\n{stderr[-6000:]}",
                    pytrace=False)
    lines = [ln for ln in out.decode().splitlines() if ln.strip()]
    assert lines, f"node {SCRIPT} {command} printed no summary; stderr:\n{stderr[-6000:]}"
    return json.loads(lines[-1])


def expected_lines(prefix, count):
    """The script's message(prefix, i) as its line(): key, value, headers."""
    return [f"{prefix}key-{i}\t{prefix}value-{i}-{'x' * (i % 50)}\t{i}\tkafkajs"
            for i in range(count)]


def checksum(lines):
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def name(prefix):
    return f"kjs-{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def produced(kafkajs_dir, tessera):
    """1000 messages sent by kafkajs to a 3-partition topic it created."""
    topic = name("thousand")
    summary = run_node(kafkajs_dir, tessera, "produce", topic=topic, partitions=3, count=1000,
                       compression="gzip")
    return topic, summary


def test_admin_creates_topic_and_producer_sends(produced):
    topic, s = produced
    assert s["created"] is True, s
    assert s["partitions"] == 3
    assert s["sent"] == 1000
    offsets = {int(p): o for p, o in s["offsets"].items()}
    assert sorted(offsets) == [0, 1, 2]
    assert all(o["low"] == 0 for o in offsets.values()), offsets
    assert sum(o["high"] for o in offsets.values()) == 1000
    # Keys spread over every partition (murmur2), and each produce
    # acknowledgement continues its partition where the last one ended.
    assert all(o["high"] > 0 for o in offsets.values()), offsets
    last = {}
    for ack in s["acks"]:
        assert ack["baseOffset"] >= last.get(ack["partition"], 0), s["acks"]
        last[ack["partition"]] = ack["baseOffset"] + 1


def test_group_consumes_everything(kafkajs_dir, tessera, produced):
    topic, p = produced
    s = run_node(kafkajs_dir, tessera, "consume", topic=topic, groupId=name("g"), expected=1000)
    assert s["count"] == 1000 and s["unique"] == 1000, s
    assert s["checksum"] == checksum(expected_lines("", 1000)), \
        "keys, values or headers differ from what was produced"
    assert s["partitionsSeen"] == [0, 1, 2]
    highs = {int(k): v["high"] for k, v in p["offsets"].items()}
    for q, part in s["partitions"].items():
        assert part["dense"] and part["first"] == 0 and part["last"] == highs[int(q)] - 1, (q, part)
    # One member owning all three partitions; on leaving it committed the end.
    assert [j["partitions"] for j in s["joins"]] == [[0, 1, 2]], s["joins"]
    assert {int(k): v for k, v in s["committed"].items()} == highs


def test_second_member_makes_the_group_rebalance(kafkajs_dir, tessera):
    first, second = 600, 300
    s = run_node(kafkajs_dir, tessera, "rebalance", topic=name("rebalance"), partitions=3,
                 groupId=name("g"), first=first, second=second)
    assert s["created"] is True and s["partitions"] == 3, s

    # Alone, A owned every partition and read all of the first messages.
    f = s["firstPhase"]
    assert f["assignedA"] == [0, 1, 2]
    assert f["count"] == f["unique"] == first
    assert f["checksum"] == checksum(expected_lines("", first))

    # B's joining made A rejoin: both own partitions, none twice.
    a, b = s["assignments"]["A"], s["assignments"]["B"]
    assert a and b and sorted(a + b) == [0, 1, 2], s["assignments"]
    assert len(s["joins"]["A"]) >= 2 and s["joins"]["B"], s["joins"]

    # After the rebalance each member read exactly its partitions' messages
    # (round-robin: 100 per partition), none of the first ones again.
    per_partition = second // 3
    for who, owned in (("A", a), ("B", b)):
        got = s["secondPhase"][who]
        assert got["partitionsSeen"] == owned, (who, got)
        assert got["count"] == got["unique"] == per_partition * len(owned), (who, got)
        ends = {int(k): v["high"] for k, v in s["offsets"].items()}
        for q, part in got["partitions"].items():
            assert part["dense"] and part["last"] == ends[int(q)] - 1, (who, q, part)
            assert part["count"] == per_partition
    total = s["total"]
    assert total["count"] == total["unique"] == first + second, total
    assert total["checksum"] == checksum(expected_lines("", first) + expected_lines("late-", second))
