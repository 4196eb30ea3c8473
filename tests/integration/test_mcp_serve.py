"""/mcp through Ray Serve (the real ingress, actors behind it) with the MCP SDK's client."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.api.test_mcp import READ_TOOLS, WRITE_TOOLS, error_of, run
from tests.integration.conftest import TOKENS
from tests.integration.test_pathway_observer_http import wait_for


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("serve-mcp")
    return {"data_dir": str(data_dir), "auth_tokens": ",".join(TOKENS), "mcp_write": True}


def test_mcp_tools_reach_the_actors_through_serve(http, serve_url):
    auth = {"Authorization": f"Bearer {TOKENS[1]}", "X-Lakehouse-Trace-Id": "serve-mcp-1"}

    async def steps(client):
        tools = await client.list_tools()
        added = await client.call_tool("pathway_add", {"content": {"fill": "w9"}})
        rows = await client.call_tool("sql", {"sql": "SELECT 6 * 7 AS n"})
        bad = await client.call_tool("sql", {"sql": "DELETE FROM x"})
        return tools, added, rows, bad

    tools, added, rows, bad = run(serve_url, steps, auth)
    assert {t.name for t in tools.tools} == READ_TOOLS | WRITE_TOOLS
    uid = added.structured_content["uid"]
    assert http.get(f"/v1/pathway/traces/{uid}").json()["content"] == {"fill": "w9"}
    assert rows.structured_content["rows"] == [[42]]
    assert error_of(bad) == http.post("/v1/sql", json={"sql": "DELETE FROM x"}).json()

    def routes():
        params = {"trace_id": "serve-mcp-1"}
        return {
            e["data"]["route"]
            for e in http.get("/v1/observer/events", params=params).json()["events"]
        }

    assert wait_for(routes) == {"/mcp"}


def test_mcp_without_a_token_is_refused_by_the_edge(http, serve_url):
    resp = httpx.post(f"{serve_url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises the 401 inside a task group
        asyncio.run(_list_without_token(serve_url))


async def _list_without_token(url: str):
    from mcp import Client

    async with Client(f"{url}/mcp") as client:
        return await client.list_tools()
