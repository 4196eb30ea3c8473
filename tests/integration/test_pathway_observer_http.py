"""Pathway and observer routes through Serve: the replica talks to the named actors."""

import time

import ray

from actors.pathway import actor_name
from lakehouse.settings import Settings


def wait_for(condition, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_traces_survive_a_killed_pathway_actor(http, app_settings):
    resp = http.post("/v1/pathway/traces", json={"content": {"shift": "night"}, "tags": ["s"]})
    assert resp.status_code == 201, resp.text
    trace = resp.json()
    handle = ray.get_actor(actor_name(Settings(**app_settings)), namespace="lakehouse")
    ray.kill(handle, no_restart=False)  # Ray restarts it; __init__ replays the log

    def read():
        resp = http.get(f"/v1/pathway/traces/{trace['uid']}")
        return resp if resp.status_code == 200 else None

    assert wait_for(read).json() == trace
    hits = http.post("/v1/pathway/search", json={"tags": ["s"]}).json()["hits"]
    assert [h["trace"]["uid"] for h in hits] == [trace["uid"]]


def test_workflow_and_request_events_are_recorded_in_the_observer_actor(http):
    doc = "nodes:\n  - {name: q, mode: sql.query, inputs: {sql: 'SELECT 1 AS one'}}\n"
    resp = http.post(
        "/v1/observer/workflows/run", content=doc, headers={"content-type": "application/yaml"}
    )
    assert resp.status_code == 200 and resp.json()["status"] == "succeeded", resp.text
    trace_id = resp.headers["x-lakehouse-trace-id"]

    def kinds():
        events = http.get("/v1/observer/events", params={"trace_id": trace_id}).json()["events"]
        found = {e["kind"] for e in events}
        return found if "http.request" in found else None

    assert wait_for(kinds) == {"workflow.node", "workflow.run", "http.request"}
