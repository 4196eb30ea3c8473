"""Span export against a local HTTP collector started by the test (127.0.0.1, port 0)."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lakehouse.errors import InvalidInput
from lakehouse.observer import ExportConfig, Exporter, ObserverRing
from lakehouse.workflow import WorkflowRunner

HEX32, HEX16 = re.compile(r"^[0-9a-f]{32}$"), re.compile(r"^[0-9a-f]{16}$")


@dataclass
class Collector:
    """Records every POST; answers ``status`` with ``reply`` as JSON."""

    url: str = ""
    status: int = 200
    reply: dict = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], dict]] = field(default_factory=list)


@pytest.fixture
def collector() -> Iterator[Collector]:
    state = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append((self.path, dict(self.headers), body))
            payload = json.dumps(state.reply).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def sample_events() -> list:
    ring = ObserverRing()
    ring.emit("http.request", {"route": "/v1/sql", "status": 200, "duration_ms": 12.5},
              trace_id="0af7651916cd43dd8448eb211c80319c")  # fmt: skip
    ring.emit("http.request", {"route": "/v1/sql", "status": 503}, trace_id="req-42")
    return list(reversed(ring.query()))


def sample_run() -> dict:
    def fail(inputs):
        raise RuntimeError("boom")

    doc = {
        "name": "demo",
        "nodes": [
            {"name": "a", "mode": "ok"},
            {"name": "b", "mode": "bad", "after": ["a"]},
            {"name": "c", "mode": "ok", "after": ["b"]},
        ],
    }
    runner = WorkflowRunner({"ok": lambda i: {"done": True}, "bad": fail})
    return runner.run(doc, trace_id="run-trace").to_dict()


def test_otlp_export_posts_the_otlp_json_encoding(collector: Collector) -> None:
    exporter = Exporter(ExportConfig(target="otlp", endpoint=collector.url + "/"))
    assert exporter.export_events(sample_events())
    assert exporter.export_run(sample_run())
    assert exporter.stats()["sent"] == 5 and exporter.failures == 0
    (path, headers, body), (_, _, run_body) = collector.requests
    assert path == "/v1/traces" and headers["Content-Type"] == "application/json"
    (resource,) = body["resourceSpans"]
    assert {"key": "service.name", "value": {"stringValue": "lakehouse"}} in resource["resource"][
        "attributes"
    ]
    ok, failed = resource["scopeSpans"][0]["spans"]
    for span in (ok, failed):
        assert HEX32.match(span["traceId"]) and HEX16.match(span["spanId"])
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"]) > 0
    assert ok["traceId"] == "0af7651916cd43dd8448eb211c80319c"  # a W3C trace id is kept
    assert ok["name"] == "http.request" and ok["status"] == {"code": 1}
    assert int(ok["endTimeUnixNano"]) - int(ok["startTimeUnixNano"]) == pytest.approx(
        12.5e6, rel=1e-3
    )
    attrs = {a["key"]: a["value"] for a in ok["attributes"]}
    assert attrs["route"] == {"stringValue": "/v1/sql"} and attrs["status"] == {"intValue": "200"}
    assert attrs["duration_ms"] == {"doubleValue": 12.5}
    assert failed["status"] == {"code": 2, "message": "HTTP 503"}
    root, node_a, node_b = run_body["resourceSpans"][0]["scopeSpans"][0]["spans"]  # c skipped
    assert root["name"] == "workflow demo" and root["status"]["code"] == 2
    assert node_a["parentSpanId"] == root["spanId"] == node_b["parentSpanId"]
    assert {root["traceId"], node_a["traceId"], node_b["traceId"]} == {root["traceId"]}
    assert node_a["status"] == {"code": 1} and node_b["status"]["code"] == 2


def test_langfuse_export_posts_an_ingestion_batch_with_basic_auth(collector: Collector) -> None:
    cfg = ExportConfig(target="langfuse", endpoint=collector.url, public_key="pk", secret_key="sk")
    exporter = Exporter(cfg)
    assert exporter.export_events(sample_events())
    assert exporter.export_run(sample_run())
    (path, headers, body), (_, _, run_body) = collector.requests
    assert path == "/api/public/ingestion"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"pk:sk").decode()
    types = [item["type"] for item in body["batch"]]
    assert types == ["trace-create", "span-create", "trace-create", "span-create"]
    for item in body["batch"]:
        assert set(item) == {"id", "timestamp", "type", "body"}
        assert item["timestamp"].endswith("Z")
    trace, span = body["batch"][2]["body"], body["batch"][3]["body"]
    assert trace["id"] == "req-42" and span["traceId"] == "req-42"  # the project's trace id
    assert span["level"] == "ERROR" and span["statusMessage"] == "HTTP 503"
    assert {"id", "name", "startTime", "endTime", "metadata"} <= set(span)
    run_items = run_body["batch"]
    assert [i["type"] for i in run_items] == ["trace-create"] + ["span-create"] * 3
    root = run_items[1]["body"]
    assert all(i["body"]["parentObservationId"] == root["id"] for i in run_items[2:])
    assert run_items[3]["body"]["statusMessage"] == "mode 'bad' raised RuntimeError"


def test_langfuse_partial_rejection_counts_as_failure(collector: Collector) -> None:
    collector.status, collector.reply = 207, {"successes": [], "errors": [{"id": "x"}]}
    cfg = ExportConfig(target="langfuse", endpoint=collector.url, public_key="p", secret_key="s")
    exporter = Exporter(cfg)
    assert not exporter.export_events(sample_events()[:1])
    assert exporter.failures == 1 and "rejected" in exporter.last_error


def test_a_failing_collector_is_counted_never_raised(collector: Collector) -> None:
    collector.status = 500
    exporter = Exporter(ExportConfig(target="otlp", endpoint=collector.url))
    assert exporter.export_events(sample_events()) is False
    assert exporter.failures == 2 and exporter.last_error == "otlp answered HTTP 500"


def test_an_unreachable_endpoint_is_counted_never_raised() -> None:
    cfg = ExportConfig(target="otlp", endpoint="http://127.0.0.1:9", timeout_s=0.5)
    exporter = Exporter(cfg)
    assert exporter.export_run(sample_run()) is False
    assert exporter.failures == 3 and exporter.sent == 0


def test_submit_then_flush_sends_batches(collector: Collector) -> None:
    exporter = Exporter(ExportConfig(target="otlp", endpoint=collector.url, max_batch=2))
    exporter.submit(events=sample_events(), runs=[sample_run()])
    assert exporter.stats()["pending"] == 5
    assert exporter.flush()
    sizes = [len(b["resourceSpans"][0]["scopeSpans"][0]["spans"]) for _, _, b in collector.requests]
    assert sizes == [2, 2, 1] and exporter.stats()["pending"] == 0
    exporter.close()


def test_the_queue_drops_the_oldest_when_full(collector: Collector) -> None:
    exporter = Exporter(ExportConfig(target="otlp", endpoint=collector.url, max_pending=3))
    exporter.submit(events=sample_events() * 2)
    assert exporter.stats()["pending"] == 3 and exporter.dropped == 1


def test_export_is_off_by_default(collector: Collector) -> None:
    exporter = Exporter(ExportConfig())
    assert not exporter.enabled
    assert exporter.export_events(sample_events()) and exporter.export_run(sample_run())
    exporter.submit(events=sample_events())
    assert exporter.flush() and collector.requests == [] and exporter.stats()["pending"] == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": "zipkin", "endpoint": "http://x"},
        {"target": "otlp", "endpoint": "ftp://x"},
        {"target": "otlp"},
        {"target": "langfuse", "endpoint": "http://x"},
    ],
)
def test_bad_export_config_is_refused(kwargs) -> None:
    with pytest.raises(InvalidInput):
        ExportConfig(**kwargs)
