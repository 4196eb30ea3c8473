"""/v1/observer over the real app and a plain observer ring: events, per-request events
from the edge, and workflow runs recorded node by node under the request's trace id."""

import json
import time

import numpy as np
import pytest

from actors.remote.facade import Facade
from deployments.edge import EdgeMiddleware
from tests.api.conftest import make_client

EVENTS = "/v1/observer/events"
RUN = "/v1/observer/workflows/run"
YAML = {"content-type": "application/yaml"}
PIPELINE = """
name: shift-check
nodes:
  - name: count
    mode: sql.query
    inputs: {sql: "SELECT 42 AS n"}
  - name: notify
    mode: validate
    inputs:
      kind: sms
      payload: {to: "+15555550100", body: "Shift confirmed, ${nodes.count.output.rows.0.0} spots"}
"""


def ring(api):
    return api.services.observer.target.ring


def wait_for(condition, timeout_s=10.0):
    """Poll until ``condition()`` is truthy (the edge records requests after responding)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def workflow_events(api, trace_id):
    return [e for e in ring(api).query(trace_id=trace_id, limit=1000) if e.kind != "http.request"]


def test_post_an_event_then_query_it_by_kind_trace_and_time(api):
    resp = api.post(
        EVENTS,
        json={"kind": "fill.proposed", "data": {"worker": "W1"}},
        headers={"X-Lakehouse-Trace-Id": "trace-obs-1"},
    )
    assert resp.status_code == 201, resp.text
    event = resp.json()
    assert event["kind"] == "fill.proposed" and event["data"] == {"worker": "W1"}
    assert event["trace_id"] == "trace-obs-1"
    api.post(EVENTS, json={"kind": "other"})
    got = api.get(EVENTS, params={"kind": "fill.proposed"}).json()["events"]
    assert got == [event]
    got = api.get(EVENTS, params={"trace_id": "trace-obs-1", "kind": "fill.proposed"}).json()
    assert got["events"] == [event]
    after = api.get(EVENTS, params={"since": event["ts"] + 3600}).json()["events"]
    assert after == []
    before = api.get(EVENTS, params={"until": event["ts"], "kind": "fill.proposed"}).json()
    assert before["events"] == [event]
    newest = api.get(EVENTS, params={"limit": 1}).json()["events"]
    assert len(newest) == 1 and newest[0]["id"] > event["id"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"kind": "bad kind", "data": {}}}, 400),
        ({"json": {"kind": "", "data": {}}}, 400),
        ({"json": {"kind": "k" * 129}}, 400),
        ({"json": {"kind": "ok", "data": [1, 2]}}, 400),
        ({"json": {"kind": "ok", "data": {}, "trace": "x"}}, 400),
        ({"json": {"data": {}}}, 400),
        ({"content": b'{"kind": "ok"', "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"kind": "ok", "data": {"blob": "x" * (17 * 1024)}}}, 413),
    ],
)
def test_bad_event_4xx_and_nothing_recorded(api, kwargs, status):
    resp = api.post(EVENTS, **kwargs)
    assert resp.status_code == status, resp.text
    recorded = wait_for(lambda: ring(api).query(kind="http.request"))
    assert [e.data["status"] for e in recorded] == [status]
    assert [e for e in ring(api).query(limit=1000) if e.kind != "http.request"] == []


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"since": "yesterday"}, {"kind": "k" * 200}],
)
def test_bad_event_query_400(api, params):
    assert api.get(EVENTS, params=params).status_code == 400


def test_every_request_but_health_emits_one_event(api):
    calls = [
        ("GET", "/v1/pathway/traces/nope", None, 404),
        ("POST", EVENTS, {"kind": "x"}, 201),
        ("GET", "/v1/catalog/datasets", None, 200),
        ("GET", "/v1/no-such-route", None, 404),
        ("POST", "/v1/sql", {"sql": "DROP TABLE t"}, 400),
    ]
    sent = {}
    for method, path, body, status in calls:
        resp = api.request(method, path, json=body)
        assert resp.status_code == status
        sent[resp.headers["x-lakehouse-trace-id"]] = (method, path, status)
    health = api.get("/health").headers["x-lakehouse-trace-id"]

    def recorded():
        events = ring(api).query(kind="http.request")
        return events if len(events) >= len(calls) else None

    by_trace = {e.trace_id: e.data for e in wait_for(recorded)}
    assert set(by_trace) == set(sent) and health not in by_trace
    for trace_id, (method, path, status) in sent.items():
        data = by_trace[trace_id]
        assert (data["method"], data["path"], data["status"]) == (method, path, status)
        assert data["duration_ms"] >= 0
    routes = {sent[t][1]: data["route"] for t, data in by_trace.items()}
    assert routes["/v1/pathway/traces/nope"] == "/v1/pathway/traces/{uid}"
    assert routes["/v1/no-such-route"] is None and routes["/v1/sql"] == "/v1/sql"


class BrokenRing:
    def emit_many(self, *args, **kwargs):
        raise OSError("disk gone")


def test_a_failing_observer_never_fails_the_request_and_is_counted(settings, caplog):
    client, services = make_client(settings)
    services.observer = Facade(BrokenRing())
    with client:
        resp = client.post("/v1/pathway/traces", json={"content": {"a": 1}})
        assert resp.status_code == 201
        edge = client.app.middleware_stack
        while not isinstance(edge, EdgeMiddleware):
            edge = edge.app
        wait_for(lambda: edge.observe_failures == 1)
        assert client.get(f"/v1/pathway/traces/{resp.json()['uid']}").status_code == 200
        wait_for(lambda: edge.observe_failures == 2)
    assert "request events not recorded" in caplog.text


def test_a_workflow_run_succeeds_and_records_each_node(api):
    resp = api.post(RUN, content=PIPELINE, headers=YAML)
    assert resp.status_code == 200, resp.text
    run = resp.json()
    trace_id = resp.headers["x-lakehouse-trace-id"]
    assert run["status"] == "succeeded" and run["trace_id"] == trace_id
    assert run["outputs"]["count"]["rows"] == [[42]]
    assert run["outputs"]["notify"]["valid"] is True
    assert [n["status"] for n in run["nodes"]] == ["succeeded", "succeeded"]
    events = api.get(EVENTS, params={"trace_id": trace_id}).json()["events"]
    nodes = [e for e in reversed(events) if e["kind"] == "workflow.node"]
    assert [(e["data"]["node"], e["data"]["status"]) for e in nodes] == [
        ("count", "succeeded"),
        ("notify", "succeeded"),
    ]
    (summary,) = [e for e in events if e["kind"] == "workflow.run"]
    assert summary["data"]["run_id"] == run["run_id"] and summary["data"]["status"] == "succeeded"


def test_the_json_form_with_run_inputs(api):
    doc = {
        "nodes": [{"name": "q", "mode": "sql.query", "inputs": {"sql": "${inputs.sql}"}}],
    }
    resp = api.post(RUN, json={"workflow": doc, "inputs": {"sql": "SELECT 7 AS n"}})
    assert resp.status_code == 200 and resp.json()["outputs"]["q"]["rows"] == [[7]]
    resp = api.post(RUN, json={"workflow": PIPELINE})  # YAML text inside the JSON form
    assert resp.status_code == 200 and resp.json()["status"] == "succeeded"
    resp = api.post(RUN, json=doc)
    assert resp.status_code == 400 and "inputs missing" in resp.json()["message"]


def test_a_failing_node_fails_the_run_explicitly_and_is_recorded(api):
    doc = PIPELINE.replace("SELECT 42 AS n", "DROP TABLE workers")
    resp = api.post(RUN, content=doc, headers={"content-type": "text/yaml"})
    assert resp.status_code == 200, resp.text
    run = resp.json()
    assert run["status"] == "failed" and run["failed_node"] == "count"
    assert run["error"]["code"] == "query_rejected" and run["outputs"] == {}
    assert [n["status"] for n in run["nodes"]] == ["failed", "skipped"]
    events = workflow_events(api, resp.headers["x-lakehouse-trace-id"])
    assert [(e.kind, e.data["status"]) for e in events] == [
        ("workflow.run", "failed"),
        ("workflow.node", "failed"),
    ]
    assert events[1].data["error"]["code"] == "query_rejected"


def test_bad_mode_inputs_fail_the_node_not_the_server(api):
    doc = {"nodes": [{"name": "v", "mode": "validate", "inputs": {"kind": "sms"}}]}
    run = api.post(RUN, json=doc).json()
    assert run["status"] == "failed" and run["error"]["code"] == "invalid_input"
    doc = {"nodes": [{"name": "q", "mode": "sql.query", "inputs": {"sql": 5}}]}
    run = api.post(RUN, json=doc).json()
    assert run["status"] == "failed" and run["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (
            "nodes:\n  - {name: q, mode: sql.query, inputs: {sql: 'SELECT 1'}}\n"
            "  - {name: c, mode: llm.poem}\n",
            YAML,
            400,
        ),
        ("nodes: [{name: e, mode: embed, inputs: {texts: [a]}}]", YAML, 400),
        (
            "nodes: [{name: a, mode: sql.query, inputs: {sql: '${nodes.b.output}'}},"
            " {name: b, mode: sql.query, inputs: {sql: '${nodes.a.output}'}}]",
            YAML,
            400,
        ),
        ("nodes: [: : :", YAML, 400),
        ("- just\n- a list\n", YAML, 400),
        ("", YAML, 400),
        ("base: &a {x: 1}\nnodes: *a\n", YAML, 400),
        (
            '{"nodes": [{"name": "q", "mode": "sql.query"}], "extra": 1}',
            {"content-type": "application/json"},
            400,
        ),
        (
            '{"workflow": {"nodes": []}, "inputs": {}, "more": 1}',
            {"content-type": "application/json"},
            400,
        ),
        ("nodes: []", {"content-type": "application/octet-stream"}, 400),
        ("name: x\nnodes: []\n" + "# pad\n" * 12000, YAML, 413),
    ],
)
def test_refused_workflows_run_no_node(api, body, headers, status):
    resp = api.post(RUN, content=body, headers=headers)
    assert resp.status_code == status, resp.text
    assert workflow_events(api, resp.headers["x-lakehouse-trace-id"]) == []
    assert ring(api).query(kind="workflow.node") == []


class FakeEmbedder:
    name = "fake-2d"

    def embed_documents(self, texts):
        return np.array([[1.0, 0.0]] * len(texts), dtype=np.float32)

    embed_query = embed_documents


def test_embed_mode_runs_where_the_replica_has_an_embedder(settings):
    client, services = make_client(settings)
    services.embedder = FakeEmbedder()
    doc = {"nodes": [{"name": "e", "mode": "embed", "inputs": {"texts": ["a", "b"]}}]}
    with client:
        run = client.post(RUN, content=json.dumps(doc), headers=YAML).json()
    assert run["status"] == "succeeded"
    assert run["outputs"]["e"] == {"model": "fake-2d", "dim": 2, "vectors": [[1.0, 0.0]] * 2}


def test_a_replica_without_an_observer_answers_503_and_still_runs_workflows(settings):
    client, services = make_client(settings)
    services.observer = None
    with client:
        assert client.get(EVENTS).status_code == 503
        run = client.post(RUN, content=PIPELINE, headers=YAML).json()
        assert run["status"] == "succeeded"
