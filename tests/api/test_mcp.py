"""/mcp with the MCP SDK's own client over real HTTP (uvicorn in a thread, in-process services).

Each tool answers what its HTTP route answers: the same data, and for bad arguments or domain
errors an MCP tool error whose text is the route's JSON error body.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from tests.api.conftest import make_client
from tests.api.live import serve_live
from tests.api.test_matrix_routes import add
from tests.integration.test_pathway_observer_http import wait_for

READ_TOOLS = {
    "sql",
    "list_datasets",
    "describe_dataset",
    "list_corpora",
    "search_corpus",
    "matrix_search",
    "playbook_records",
    "validate",
    "pathway_get",
    "pathway_history",
    "pathway_search",
    "observer_events",
}
WRITE_TOOLS = {"record_outcome", "pathway_add"}
TOKEN = "mcp-test-token"


def session(url: str, headers: dict[str, str] | None = None) -> Client:
    """The SDK's client on ``url``/mcp, sending ``headers`` with every request."""
    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(60.0))
    return Client(streamable_http_client(f"{url}/mcp", http_client=http))


def run(url: str, steps, headers: dict[str, str] | None = None):
    async def go():
        async with session(url, headers) as client:
            return await steps(client)

    return asyncio.run(go())


def call(url: str, name: str, arguments: dict, headers: dict[str, str] | None = None):
    return run(url, lambda client: client.call_tool(name, arguments), headers)


def error_of(result) -> dict:
    assert result.is_error, result
    return json.loads(result.content[0].text)


@pytest.fixture
def live(settings):
    client, services = make_client(settings)
    with serve_live(client.app) as url:
        yield url, services


@pytest.fixture
def live_write(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", sql_timeout_s=5.0, mcp_write=True)
    client, services = make_client(settings)
    with serve_live(client.app) as url:
        yield url, services


def test_read_tools_are_listed_with_schemas_and_write_tools_are_off_by_default(live):
    url, _ = live
    tools = {t.name: t for t in run(url, lambda c: c.list_tools()).tools}
    assert set(tools) == READ_TOOLS
    for tool in tools.values():
        assert tool.input_schema["type"] == "object"
        assert tool.description and "\n" not in tool.description
        assert tool.annotations.read_only_hint is True
    assert tools["sql"].input_schema["required"] == ["sql"]
    assert tools["matrix_search"].input_schema["properties"]["k"]["maximum"] == 1000


def test_write_tool_is_refused_when_off_and_nothing_is_stored(live):
    url, services = live
    result = call(url, "pathway_add", {"content": {"a": 1}})
    assert result.is_error and "pathway_add" in result.content[0].text
    assert asyncio.run(services.pathway.search(None, None, None, None, 10)) == []


def test_sql_answers_like_the_route_and_bad_sql_is_the_routes_error(live):
    url, _ = live
    result = call(url, "sql", {"sql": "SELECT 41 + 1 AS answer"})
    assert not result.is_error
    assert result.structured_content["rows"] == [[42]]
    assert json.loads(result.content[0].text) == result.structured_content
    for sql in ("DROP TABLE x", "SELECT * FROM read_csv('/etc/passwd')"):
        over_http = httpx.post(f"{url}/v1/sql", json={"sql": sql})
        assert over_http.status_code == 400
        assert error_of(call(url, "sql", {"sql": sql})) == over_http.json()


def test_bad_arguments_get_the_routes_validation_message(live):
    url, _ = live
    body = error_of(call(url, "sql", {"sql": "", "extra": 1}))
    over_http = httpx.post(f"{url}/v1/sql", json={"sql": "", "extra": 1}).json()
    assert body["error"] == over_http["error"] == "invalid_input"
    assert body["message"] == over_http["message"] == "request failed validation"
    assert {d["field"] for d in body["details"]} == {"sql", "extra"}
    body = error_of(call(url, "observer_events", {"limit": 0}))
    assert body["details"][0]["field"] == "limit"
    body = error_of(call(url, "matrix_search", {"corpora": [{"name": "w"}]}))
    assert "exactly one of query or vector" in body["details"][0]["reason"]


def test_unknown_dataset_and_trace_are_the_routes_404(live):
    url, _ = live
    over_http = httpx.get(f"{url}/v1/catalog/datasets/nope")
    assert over_http.status_code == 404
    assert error_of(call(url, "describe_dataset", {"name": "nope"})) == over_http.json()
    over_http = httpx.get(f"{url}/v1/pathway/traces/nope")
    assert error_of(call(url, "pathway_get", {"uid": "nope"})) == over_http.json()
    over_http = httpx.post(f"{url}/v1/vectors/corpora/nope/search", json={"vector": [1.0]})
    assert over_http.status_code == 404
    assert (
        error_of(call(url, "search_corpus", {"corpus": "nope", "vector": [1.0]}))
        == over_http.json()
    )


def test_validate_returns_the_verdict(live):
    url, _ = live
    result = call(url, "validate", {"kind": "sms", "payload": {"to": "+15551234567", "body": "hi"}})
    over_http = httpx.post(
        f"{url}/v1/validate", json={"kind": "sms", "payload": {"to": "+15551234567", "body": "hi"}}
    )
    assert not result.is_error and result.structured_content == over_http.json()
    assert (
        error_of(call(url, "validate", {"kind": "fax", "payload": {}}))
        == httpx.post(f"{url}/v1/validate", json={"kind": "fax", "payload": {}}).json()
    )


def test_pathway_tools_round_trip_under_the_callers_trace_id(live_write):
    url, _ = live_write
    trace_header = {"X-Lakehouse-Trace-Id": "mcp-trace-1"}
    added = call(url, "pathway_add", {"content": {"fill": "w1"}, "tags": ["t"]}, trace_header)
    uid = added.structured_content["uid"]
    assert added.structured_content["version"] == 1
    got = call(url, "pathway_get", {"uid": uid}).structured_content
    assert got["content"] == {"fill": "w1"}
    history = call(url, "pathway_history", {"uid": uid}).structured_content
    assert [e["version"] for e in history["entries"]] == [1] and history["complete"]
    hits = call(url, "pathway_search", {"tags": ["t"]}).structured_content["hits"]
    assert [h["trace"]["uid"] for h in hits] == [uid]
    again = call(url, "pathway_add", {"content": {"fill": "w1"}, "idempotent": True})
    assert again.structured_content["uid"] == uid and again.structured_content["replay_count"] == 1

    def routes():
        events = call(url, "observer_events", {"trace_id": "mcp-trace-1"}).structured_content
        return {(e["kind"], e["data"].get("route")) for e in events["events"]}

    assert wait_for(routes) == {("http.request", "/mcp")}


def test_tokens_apply_to_mcp_like_every_route(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", auth_tokens=TOKEN)
    client, _ = make_client(settings)
    with serve_live(client.app) as url:
        denied = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert denied.status_code == 401 and denied.json()["error"] == "unauthorized"
        with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 in a task group
            run(url, lambda c: c.list_tools())
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert len(run(url, lambda c: c.list_tools(), good).tools) == len(READ_TOOLS)


def test_loopback_mode_refuses_a_foreign_host_header(live):
    url, _ = live
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Host": "evil.example", "Accept": "application/json, text/event-stream"}
    resp = httpx.post(f"{url}/mcp", json=body, headers=headers)
    assert resp.status_code in (400, 403, 421)


@pytest.fixture(scope="module")
def matrix_live(tmp_path_factory, model_cache):
    """80 profiles ingested as the roster and embedded into `workers`; write tools on."""
    root = tmp_path_factory.mktemp("mcp-matrix")
    settings = Settings(data_dir=root / "data", sql_timeout_s=10.0, mcp_write=True)
    client, services = make_client(settings)
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    rows = [r for b in generate_batches(80) for r in b.to_pylist()]
    csv = root / "workers.csv"
    write_csv(csv, 80)
    with client:
        resp = client.post("/v1/ingest", params={"name": "workers"},
                           files={"file": ("w.csv", csv.read_bytes())})  # fmt: skip
        assert resp.status_code == 201, resp.text
        resp = client.post("/v1/vectors/corpora", json={"name": "workers", "dim": 384})
        assert resp.status_code == 201
        add(client, "workers", rows)
    with serve_live(client.app) as url:
        yield url


def test_matrix_search_explains_hits_and_a_recorded_outcome_lifts_one(matrix_live):
    url = matrix_live
    query = "forklift operator for a night shift warehouse"
    ask = {"query": query, "corpora": [{"name": "workers"}], "k": 8, "use_playbook": True}
    before = call(url, "matrix_search", ask).structured_content["hits"]
    assert {"corpus", "raw_score", "rank", "playbook_boost"} <= set(before[0]["explanation"])
    target = before[-1]["id"]
    recorded = call(url, "record_outcome", {"query": query, "ids": [target], "outcome": "success"})
    assert recorded.structured_content["recorded"][0]["who"] == "addr:127.0.0.1"
    after = call(url, "matrix_search", ask).structured_content["hits"]
    assert after[0]["id"] == target and after[0]["explanation"]["playbook_boost"] > 0
    audit = call(url, "playbook_records", {"limit": 5}).structured_content["records"]
    assert audit[0]["ids"] == [target]
    refused = call(url, "record_outcome", {"query": query, "ids": [target], "outcome": "maybe"})
    assert error_of(refused)["message"] == "request failed validation"
    assert call(url, "playbook_records", {"limit": 5}).structured_content["records"] == audit


def test_search_corpus_and_datasets(matrix_live):
    url = matrix_live
    hits = call(url, "search_corpus", {"corpus": "workers", "text": "registered nurse", "k": 3})
    assert len(hits.structured_content["hits"]) == 3
    datasets = call(url, "list_datasets", {}).structured_content["datasets"]
    assert [d["name"] for d in datasets] == ["workers"]
    described = call(url, "describe_dataset", {"name": "workers"}).structured_content
    assert described["row_count"] == 80 and any(
        c["name"] == "worker_id" for c in described["columns"]
    )
    corpora = call(url, "list_corpora", {}).structured_content["corpora"]
    assert {c["name"]: c["size"] for c in corpora}["workers"] == 80
