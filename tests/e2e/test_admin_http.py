"""The admin HTTP endpoint: health, readiness, Prometheus metrics and the
status document; and the matching Admin.Status RPC."""

import json
import os
import re

from harness import expect_errc, pb

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$")


def parse_metrics(text):
    """{(name, labels_text): value} from Prometheus text format 0.0.4."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def request_count(metrics):
    return sum(v for (name, _), v in metrics.items()
               if name.startswith("tessera_requests_total"))


def test_healthz_and_readyz(tessera):
    status, _, _ = tessera.http_get("/healthz")
    assert status == 200
    status, _, _ = tessera.http_get("/readyz")
    assert status == 200
    status, _, _ = tessera.http_get("/no-such-endpoint")
    assert status == 404


def test_metrics_count_requests(tessera):
    t = tessera
    status, headers, body = t.http_get("/metrics")
    assert status == 200
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype
    before = request_count(parse_metrics(body))
    d = t.unique("metrics")
    t.admin.mkdir(d)
    for i in range(5):
        t.admin.put_file(f"{d}/f{i}", b"x")
        t.admin.stat(f"{d}/f{i}")
    expect_errc("not_found", t.admin.stat, f"{d}/missing")
    status, _, body = t.http_get("/metrics")
    assert status == 200
    metrics = parse_metrics(body)
    after = request_count(metrics)
    assert after >= before + 11, f"tessera_requests_total grew {before} -> {after}"
    assert "# TYPE tessera_requests_total counter" in body
    # Requests are broken down by outcome.
    labels = [lbl for (name, lbl), v in metrics.items()
              if name == "tessera_requests_total" and v > 0]
    assert any("not_found" in lbl or "NOT_FOUND" in lbl for lbl in labels), labels


def test_status_json(tessera):
    t = tessera
    status, headers, body = t.http_get("/v1/status")
    assert status == 200
    doc = json.loads(body)
    assert isinstance(doc, dict)
    blob = json.dumps(doc)
    assert t.grpc_addr in blob and t.http_addr in blob, doc
    assert t.data_dir in blob or os.path.realpath(t.data_dir) in blob, doc


def test_status_rpc_reports_node_and_bytes(tessera):
    t = tessera
    st = t.adm.Status(pb.StatusRequest())
    assert st.grpc_addr == t.grpc_addr
    assert st.http_addr == t.http_addr
    assert os.path.realpath(st.data_dir) == os.path.realpath(t.data_dir)
    assert st.version and st.node_id
    assert st.uptime_ms >= 0
    before = st.files_bytes
    t.admin.put_file(t.unique("bytes"), b"b" * 12345)
    after = t.adm.Status(pb.StatusRequest()).files_bytes
    assert after - before == 12345
    # The CLI reports the same node.
    out = t.cli_ok("status")
    assert t.grpc_addr in out or st.node_id in out or st.version in out, out

