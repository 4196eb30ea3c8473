"""/v1/chat, /v1/validate, /v1/iterate over the real app; the chat provider is scripted."""

import json

import pytest

from lakehouse.chat import ChatConfig, ChatRouter
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.staffing import write_csv
from lakehouse.storage import open_store
from tests.api.conftest import make_client
from tests.fakes.scripted_chat import ScriptedProvider


def roster_client(settings, tmp_path, script=()):
    chat = ChatRouter(ChatConfig(), providers={"scripted": ScriptedProvider(script)}, environ={})
    client, services = make_client(settings, chat=chat)
    csv = tmp_path / "workers.csv"
    write_csv(csv, 400)
    with client:
        resp = client.post(
            "/v1/ingest", params={"name": "workers"}, files={"file": ("w.csv", csv.read_bytes())}
        )
        assert resp.status_code == 201
        rows = client.post(
            "/v1/sql",
            json={
                "sql": "SELECT worker_id, role, city, state FROM workers WHERE available LIMIT 50"
            },
        ).json()["rows"]
    return client, services, rows


@pytest.fixture
def llm(settings, tmp_path):
    client, services, rows = roster_client(settings, tmp_path)
    with client:
        client.rows = rows
        client.services = services
        yield client


def fill(rows, ids):
    lead = rows[0]
    return {
        "role": lead[1],
        "location": f"{lead[2]}, {lead[3]}",
        "target_count": 2,
        "candidates": [{"worker_id": i} for i in ids],
    }


def test_valid_fill_200_and_phantom_id_422(llm):
    lead = llm.rows[0]
    same = [r[0] for r in llm.rows if (r[1], r[2], r[3]) == (lead[1], lead[2], lead[3])]
    resp = llm.post("/v1/validate", json={"kind": "fill", "payload": fill(llm.rows, same[:1])})
    assert resp.status_code == 200, resp.text
    assert resp.json()["valid"] is True and resp.json()["grounded_in_roster"] is True
    resp = llm.post("/v1/validate", json={"kind": "fill", "payload": fill(llm.rows, ["W9999999"])})
    assert resp.status_code == 422
    body = resp.json()
    assert body["valid"] is False and body["grounded_in_roster"] is False
    assert any("Consistency" in e for e in body["errors"])


def test_sms_policy_and_schema_errors_serialise_as_designed(llm):
    resp = llm.post(
        "/v1/validate",
        json={"kind": "sms", "payload": {"to": "+15555550100", "body": "SSN 123-45-6789"}},
    )
    assert resp.status_code == 422
    assert {"Policy"} <= {next(iter(e)) for e in resp.json()["errors"]}
    resp = llm.post("/v1/validate", json={"kind": "email", "payload": {"to": "a@b.co"}})
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert all(
        len(e) == 1 and next(iter(e)) in {"Schema", "Completeness", "Consistency", "Policy"}
        for e in errors
    )
    assert any("Schema" in e and set(e["Schema"]) == {"field", "reason"} for e in errors)


def test_unknown_kind_400_and_nothing_changed(llm):
    before = llm.get("/v1/catalog/datasets").json()
    resp = llm.post("/v1/validate", json={"kind": "poem", "payload": {}})
    assert resp.status_code == 400
    assert llm.get("/v1/catalog/datasets").json() == before


def test_fill_without_a_roster_is_503(settings):
    client, _ = make_client(settings)
    with client:
        resp = client.post(
            "/v1/validate",
            json={"kind": "fill", "payload": fill([["W1", "Cook", "A", "TX"]], ["W1"])},
        )
        assert resp.status_code == 503 and "roster" in resp.json()["message"]


def test_chat_with_no_provider_configured_is_503_saying_what_to_set(settings):
    client, _ = make_client(settings, chat=ChatRouter(ChatConfig(), environ={}))
    with client:
        resp = client.post(
            "/v1/chat", json={"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert resp.status_code == 503
        assert "LAKEHOUSE_OLLAMA_HOST" in resp.json()["message"]
        assert "retry-after" not in resp.headers  # configuration: asking again cures nothing


def test_iterate_accepts_after_feedback_and_logs_the_session(settings, tmp_path):
    client, services, rows = roster_client(settings, tmp_path)
    lead = rows[0]
    same = [r[0] for r in rows if (r[1], r[2], r[3]) == (lead[1], lead[2], lead[3])]
    script = [
        '{"candidates": [{"worker_id": "W9999999"}]}',
        json.dumps({"candidates": [{"worker_id": same[0]}]}),
    ]
    services.chat = ChatRouter(
        ChatConfig(), providers={"scripted": ScriptedProvider(script)}, environ={}
    )
    body = {
        "model": "scripted/demo",
        "kind": "fill",
        "prompt": "Fill one opening",
        "max_iter": 3,
        "pinned": {"role": lead[1], "location": f"{lead[2]}, {lead[3]}", "target_count": 1},
    }
    with client:
        resp = client.post("/v1/iterate", json=body, headers={"X-Lakehouse-Trace-Id": "trace-it-1"})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["accepted"] is True and result["attempts"] == 2
    (session,) = ObjectStoreSessionLog(open_store(settings)).read()
    assert session["schema"] == "session.iterate.v1" and session["trace_id"] == "trace-it-1"
    assert [a["status"] for a in session["attempts"]] == ["rejected", "accepted"]
    assert session["grounded_in_roster"] is True


def test_iterate_bad_input_400_and_no_session_logged(llm, settings):
    resp = llm.post(
        "/v1/iterate", json={"model": "scripted/x", "kind": "fill", "prompt": "p", "max_iter": 0}
    )
    assert resp.status_code == 400
    assert ObjectStoreSessionLog(open_store(settings)).read() == []
    assert list(open_store(settings).iter_all("logs/")) == []
