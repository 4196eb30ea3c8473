"""Iterate attempts and chat calls exported as OTLP spans under the request's trace id, to a
local collector started by the test; and the span tree of a session record."""

from __future__ import annotations

import json

from lakehouse.observer.llm_spans import session_spans
from lakehouse.settings import Settings
from tests.api.conftest import make_client
from tests.fakes.scripted_chat import ScriptedProvider
from tests.unit.test_export import collector  # noqa: F401 - the fixture

TRACE = "0123456789abcdef0123456789abcdef"
BAD = json.dumps({"to": "+15555550100", "body": "SSN 123-45-6789"})
GOOD = json.dumps({"to": "+15555550100", "body": "See you Monday at 7."})


def spans_of(requests) -> list[dict]:
    return [s for _, _, body in requests for rs in body["resourceSpans"]
            for ss in rs["scopeSpans"] for s in ss["spans"]]  # fmt: skip


def attrs(span) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


def test_iterate_attempts_and_chat_calls_are_spans_under_the_trace_id(tmp_path, collector):  # noqa: F811
    settings = Settings(data_dir=tmp_path / "data", export_target="otlp",
                        export_endpoint=collector.url)  # fmt: skip
    client, services = make_client(settings, chat=ScriptedProvider([BAD, GOOD, GOOD]))
    with client:
        body = {"model": "tiny", "kind": "sms", "prompt": "confirm", "max_iter": 2}
        headers = {"X-Lakehouse-Trace-Id": TRACE}
        assert client.post("/v1/iterate", json=body, headers=headers).json()["accepted"]
        chat = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
        assert client.post("/v1/chat", json=chat, headers=headers).status_code == 200
        services.observer.target.exporter.flush()
    spans = {s["name"]: s for s in spans_of(collector.requests) if s["traceId"] == TRACE}
    assert {"iterate sms", "iterate.attempt[1]", "iterate.attempt[2]", "chat tiny"} <= set(spans)
    root, first = spans["iterate sms"], spans["iterate.attempt[1]"]
    assert first["parentSpanId"] == root["spanId"]
    assert attrs(first)["iterate.verdict"] == "rejected"
    assert attrs(first)["iterate.raw_output"] == BAD and attrs(first)["iterate.prompt"] == "confirm"
    assert "Policy" in attrs(first)["iterate.errors"]
    assert attrs(spans["iterate.attempt[2]"])["iterate.verdict"] == "accepted"
    chats = [s for s in spans_of(collector.requests) if s["name"] == "chat tiny"]
    assert len(chats) == 3  # one per attempt (children of attempts) and the /v1/chat call
    assert sum("parentSpanId" in s for s in chats) == 2


def test_session_spans_lay_attempts_out_in_order():
    record = {"session_id": "s1", "trace_id": "t-1", "kind": "fill", "model": "m",
              "started_at": 100.0, "finished_at": 103.0, "status": "exhausted",
              "attempts": [{"n": 1, "status": "rejected", "latency_ms": 1000.0},
                           {"n": 2, "status": "unparseable", "latency_ms": 500.0}]}  # fmt: skip
    root, a1, c1, a2, c2 = session_spans(record)
    assert (a1.start, a1.end, c1.end) == (100.0, 101.0, 101.0)
    assert (a2.start, a2.end, c2.end) == (101.0, 103.0, 101.5)  # the last attempt ends the session
    assert a1.parent_id == root.span_id and c1.parent_id == a1.span_id
    assert {s.trace_id for s in (root, a1, c1, a2, c2)} == {root.trace_id}
    assert root.trace_key == "t-1" and root.error is None
