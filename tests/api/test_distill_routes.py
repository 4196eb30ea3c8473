"""/v1/distill/materialize over the real app: sessions from /v1/iterate (scripted provider),
http.request events from the edge, evidence queried through /v1/sql; bad input changes
nothing."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import make_client
from tests.fakes.scripted_chat import ScriptedProvider

GOOD_SMS = json.dumps({"to": "+15555550100", "body": "Shift confirmed for Monday 7am."})
BAD_SMS = json.dumps({"to": "+15555550100", "body": "SSN 123-45-6789"})


@pytest.fixture
def client(settings):
    chat = ScriptedProvider([GOOD_SMS, BAD_SMS, GOOD_SMS, BAD_SMS, BAD_SMS])
    client, services = make_client(settings, chat=chat)
    with client:
        client.services = services
        yield client


def iterate(client, max_iter: int) -> dict:
    body = {"model": "tiny", "kind": "sms", "prompt": "confirm the shift", "max_iter": max_iter}
    resp = client.post("/v1/iterate", json=body, headers={"X-Lakehouse-Trace-Id": "tr-1"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_materialize_then_sql_reads_the_sessions(client):
    iterate(client, 1)
    iterate(client, 2)
    resp = client.post("/v1/distill/materialize", json={"transforms": ["sessions"]})
    assert resp.status_code == 200, resp.text
    receipt = resp.json()
    assert receipt["transforms"]["sessions"]["out"] == 2
    (output,) = receipt["outputs"]
    sql = (f"SELECT trace_id, attempts, verdicts, error_classes, first_shot_accepted "
           f"FROM {output['dataset']} ORDER BY line_offset")  # fmt: skip
    rows = client.post("/v1/sql", json={"sql": sql}).json()["rows"]
    assert rows == [
        ["tr-1", 1, ["accepted"], [], True],
        ["tr-1", 2, ["rejected", "accepted"], ["Policy"], False],
    ]
    assert client.get(f"/v1/distill/receipts/{receipt['run_id']}").json() == receipt
    again = client.post("/v1/distill/materialize", json={}).json()
    assert again["transforms"]["sessions"]["duplicate"] == 2
    assert again["transforms"]["observer_events"]["out"] >= 1  # edge events, sent in batches


def test_bad_input_is_a_400_and_writes_nothing(client):
    iterate(client, 1)
    store = client.services.store
    before = stored(store)
    for body in ({"transforms": ["sessions", "bogus"]}, {"transforms": []}, {"extra": 1}):
        resp = client.post("/v1/distill/materialize", json=body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"] == "invalid_input"
    assert stored(store) == before
    assert client.get("/v1/catalog/datasets").json()["datasets"] == []
    assert client.get("/v1/distill/receipts/0000-nope").status_code == 404


def test_drift_reports_over_http_and_bad_input_changes_nothing(client):
    for _ in range(2):
        iterate(client, 2)  # accepted at once, then a Policy rejection fed back and fixed
    assert client.post("/v1/distill/materialize", json={}).status_code == 200
    today = client.services.follower.manifests  # the replica's view after the run
    (sessions,) = [n for n in today if n.startswith("evidence_sessions_")]
    day = f"{sessions[-8:-4]}-{sessions[-4:-2]}-{sessions[-2:]}"
    window = {"transform": "sessions", "start": day, "end": day}
    store = client.services.store
    before = stored(store)
    bad = [
        ({"kind": "verdict", "a": window, "b": window, "thresholds": {"alpha": 5}}, 400),
        ({"kind": "verdict", "a": window, "b": window, "thresholds": {"bogus": 1}}, 400),
        ({"kind": "verdict", "a": {**window, "transform": "nope"}, "b": window}, 400),
        (
            {
                "kind": "verdict",
                "a": {**window, "start": "2001-01-01", "end": "2001-01-02"},
                "b": window,
            },
            404,
        ),  # fmt: skip
        ({"kind": "verdict", "a": {"dataset": "missing"}, "b": window}, 404),
        ({"kind": "verdict", "a": window}, 400),
        ({"kind": "baseline", "baseline": "never", "b": window}, 404),
        ({"kind": "playbook", "corpus": "nobody", "b": window}, 404),
        ({"kind": "embedding", "a": window, "b": window, "column": "prompt"}, 503),
        ({"kind": "sideways", "a": window, "b": window}, 400),
    ]
    for body, status in bad:
        resp = client.post("/v1/drift/report", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["message"]
    assert (
        client.post("/v1/drift/baselines", json={"name": "x y", "window": window}).status_code
        == 400
    )
    assert client.get("/v1/drift/baselines/never").status_code == 404
    assert stored(store) == before
    # a window of fewer than 10 sessions is refused, not reported on
    resp = client.post("/v1/drift/report", json={"kind": "verdict", "a": window, "b": window})
    assert resp.status_code == 400 and "at least 10" in resp.json()["message"]


WORKFLOW = """
name: nightly-distill
nodes:
  - name: materialize
    mode: distill.materialize
    inputs: {transforms: [sessions]}
  - name: count
    mode: sql.query
    inputs: {sql: "SELECT count(*) AS n FROM ${nodes.materialize.output.outputs.0.dataset}"}
  - name: ask
    mode: llm.chat
    inputs:
      model: tiny
      messages: [{role: user, content: "${nodes.count.output.rows.0.0} sessions today"}]
  - name: drift
    mode: drift.report
    inputs: {kind: verdict, a: {dataset: nope}, b: {dataset: nope}}
"""


def test_workflow_modes_materialize_query_chat_and_a_failing_drift_node(client):
    iterate(client, 1)
    resp = client.post("/v1/observer/workflows/run", content=WORKFLOW,
                       headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    run = resp.json()
    assert [n["status"] for n in run["nodes"]] == ["succeeded", "succeeded", "succeeded", "failed"]
    assert run["outputs"]["materialize"]["transforms"]["sessions"]["out"] == 1
    assert run["outputs"]["count"]["rows"] == [[1]]
    assert run["outputs"]["ask"]["text"] == BAD_SMS  # the scripted provider's next reply
    assert run["failed_node"] == "drift" and "no data for dataset 'nope'" in run["error"]["message"]
    bad = "name: x\nnodes:\n  - {name: a, mode: drift.sideways, inputs: {}}\n"
    resp = client.post("/v1/observer/workflows/run", content=bad,
                       headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert resp.status_code == 400


def stored(store):
    """Every key but the observer's (each request, a refused one too, is an event there)."""
    return sorted(o.key for o in store.iter_all("") if not o.key.startswith("observer/"))
