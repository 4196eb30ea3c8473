"""lakehouse.client against the real app (in process, no Ray): every group, errors by code,
retries, tokens and trace ids."""

import asyncio
import io
import json

import httpx
import numpy as np
import pytest

from lakehouse.client import AsyncClient, Client
from lakehouse.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TemporarilyUnavailable,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from tests.api.conftest import LOOPBACK, make_client
from tests.conftest import free_port

CSV = b"id,name,score\n1,ada,2.5\n2,bob,3.5\n"
DIM = 8


@pytest.fixture
def served(settings):
    test_client, services = make_client(settings)
    with test_client:
        yield Client(http=test_client, backoff_s=0.001), services


def rows(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def vector_files(services):
    return sorted(o.key for o in services.store.iter_all("vectors/"))


@pytest.mark.parametrize("binary", [True, False])
def test_vectors_round_trip_with_numpy(settings, binary):
    test_client, services = make_client(settings)
    with test_client:
        client = Client(http=test_client, binary=binary)
        assert client.vectors.create("people", DIM, shards=2)["created"] is True
        v = rows(40)
        meta = [{"i": i} for i in range(40)]
        assert client.vectors.add("people", [f"w{i}" for i in range(40)], v, metadata=meta) == 40
        found = client.vectors.search("people", v[3], k=4)
        assert found["complete"] and found["hits"][0]["id"] == "w3"
        assert found["hits"][0]["metadata"] == {"i": 3}
        assert (
            client.vectors.search("people", v[3], k=2, exclude_ids=["w3"])["hits"][0]["id"] != "w3"
        )
        assert [c["size"] for c in client.vectors.list()] == [40]
        assert client.vectors.delete("people", ["w3", "nope"]) == 1
        client.vectors.drop("people")
        assert client.vectors.list() == []


def test_errors_come_back_as_the_servers_codes_and_nothing_is_written(served):
    client, services = served
    client.vectors.create("people", DIM)
    client.vectors.add("people", ["keep"], rows(1))
    before = vector_files(services)
    with pytest.raises(NotFound) as err:
        client.vectors.search("nope", rows(1)[0])
    assert err.value.status == 404 and err.value.code == "not_found" and err.value.trace_id
    with pytest.raises(InvalidInput) as err:
        client.vectors.add("people", ["a"], np.ones((1, DIM + 1)))
    assert err.value.status == 400 and "shape" in err.value.message
    with pytest.raises(InvalidInput):
        client.vectors.add("people", ["a"], np.full((1, DIM), np.nan))
    with pytest.raises(Conflict):
        client.vectors.create("people", DIM + 1)
    with pytest.raises(ValueError):  # refused before sending: one vector is 1-d
        client.vectors.search("people", rows(2))
    assert vector_files(services) == before
    assert client.vectors.list()[0]["size"] == 1


def test_storage_and_its_refusals(served):
    client, services = served
    info = client.storage.put("notes/a.txt", b"hello")
    assert info["size"] == 5 and client.storage.get("notes/a.txt") == b"hello"
    with pytest.raises(Conflict):
        client.storage.put("notes/a.txt", b"other", if_absent=True)
    with pytest.raises(Forbidden):
        client.storage.put("datasets/x.parquet", b"x")
    with pytest.raises(TooLarge):
        client.storage.put("notes/big", b"x" * (2 << 20))
    assert [o["key"] for o in client.storage.list("notes/")["objects"]] == ["notes/a.txt"]
    assert client.storage.get("notes/a.txt") == b"hello"
    client.storage.delete("notes/a.txt")
    with pytest.raises(NotFound):
        client.storage.get("notes/a.txt")


@pytest.mark.parametrize("source", ["bytes", "path", "file"])
def test_ingest_streams_with_progress_then_sql_and_catalog(served, tmp_path, source):
    client, _ = served
    path = tmp_path / "d.csv"
    path.write_bytes(CSV)
    given = {"bytes": CSV, "path": path, "file": io.BytesIO(CSV)}[source]
    seen = []
    manifest = client.ingest.csv(
        "people", given, progress=lambda sent, total: seen.append((sent, total))
    )
    assert manifest["row_count"] == 2
    total = None if source == "file" else len(CSV)
    assert seen and seen[-1] == (len(CSV), total)
    assert client.catalog.dataset("people") == manifest
    assert [d["name"] for d in client.catalog.datasets()] == ["people"]
    result = client.sql.query("SELECT name FROM people ORDER BY id")
    assert result["rows"] == [["ada"], ["bob"]] and result["row_count"] == 2
    with pytest.raises(InvalidInput):
        client.sql.query("DROP TABLE people")
    with pytest.raises(InvalidInput):
        client.ingest.csv("bad name!", CSV)
    assert client.sql.query("SELECT count(*) FROM people")["rows"] == [[2]]


def test_trace_id_is_sent_and_the_observer_sees_it(served):
    client, _ = served
    traced = client.with_options(trace_id="job-42")
    event = traced.observer.emit("app.click", {"x": 1})
    assert event["trace_id"] == "job-42" and traced.last_trace_id == "job-42"
    client.observer.emit("app.click", {"x": 2})
    assert client.last_trace_id and client.last_trace_id != "job-42"
    assert [e["data"] for e in client.observer.events(kind="app.click", trace_id="job-42")] == [
        {"x": 1}
    ]
    doc = (
        "name: w\nnodes:\n  - name: q\n    mode: sql.query\n    inputs: {sql: 'SELECT 1 AS one'}\n"
    )
    assert client.observer.run_workflow(doc)["status"] == "succeeded"
    as_json = {
        "name": "w",
        "nodes": [{"name": "q", "mode": "sql.query", "inputs": {"sql": "SELECT 2"}}],
    }
    assert client.observer.run_workflow(as_json, inputs={})["status"] == "succeeded"


def test_pathway_versions_and_search(served):
    client, _ = served
    trace = client.pathway.add({"fill": "forklift"}, tags=["ops"])
    again = client.pathway.add({"fill": "forklift"}, tags=["ops"], idempotent=True)
    assert again["uid"] == trace["uid"] and again["replay_count"] == 1
    updated = client.pathway.update(trace["uid"], {"fill": "nurse"})
    assert updated["version"] == 2 and client.pathway.get(trace["uid"])["content"] == {
        "fill": "nurse"
    }
    assert [e["version"] for e in client.pathway.history(trace["uid"])["entries"]] == [2, 1]
    assert client.pathway.revert(trace["uid"], 1)["content"] == {"fill": "forklift"}
    assert [h["trace"]["uid"] for h in client.pathway.search(tags=["ops"])] == [trace["uid"]]
    client.pathway.retire(trace["uid"])
    assert client.pathway.search(tags=["ops"]) == []
    with pytest.raises(NotFound):
        client.pathway.get("nope")


def test_validate_answers_a_verdict_either_way(served):
    client, _ = served
    verdict = client.validate.check("sms", {"to": "nobody", "body": ""})
    assert verdict["valid"] is False and verdict["errors"]
    with pytest.raises(InvalidInput):
        client.validate.check("poem", {})


def test_a_configuration_503_and_a_404_are_answers_never_retried(served):
    client, _ = served
    sent = []
    client._http.event_hooks["request"] = [lambda request: sent.append(request.url.path)]
    with pytest.raises(Unavailable) as err:  # no chat provider is configured
        client.with_options(retries=2).chat.send("llama3", [{"role": "user", "content": "hi"}])
    assert err.value.status == 503 and err.value.code == "unavailable"
    assert sent == ["/v1/chat"]  # asking again cannot configure a provider
    sent.clear()
    with pytest.raises(NotFound):  # a 404 is an answer: never retried
        client.vectors.search("nope", rows(1)[0])
    assert sent == ["/v1/vectors/corpora/nope/search"]


def test_a_refused_connection_is_retried_then_raised():
    attempts = []

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request):
            attempts.append(request.url.path)
            return super().handle_request(request)

    url = f"http://127.0.0.1:{free_port()}"
    with (
        Client(url, transport=Counting(), retries=2, backoff_s=0.001) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.health()
    assert attempts == ["/health"] * 3


def test_bearer_token(settings):
    test_client, _ = make_client(settings.model_copy(update={"auth_tokens": "tok-1"}))
    with test_client:
        with pytest.raises(Unauthorized):
            Client(http=test_client).sql.query("SELECT 1")
        assert Client(http=test_client, token="tok-1").sql.query("SELECT 1")["rows"] == [[1]]


def test_async_client_over_asgi(settings):
    test_client, services = make_client(settings)
    transport = httpx.ASGITransport(test_client.app, client=LOOPBACK)

    async def scenario():
        async with AsyncClient("http://lakehouse", transport=transport) as client:
            await client.vectors.create("people", DIM)
            v = rows(20, 2)
            assert await client.vectors.add("people", [f"a{i}" for i in range(20)], v) == 20
            hits = await asyncio.gather(
                *(client.vectors.search("people", v[i], k=1) for i in range(5))
            )
            assert [h["hits"][0]["id"] for h in hits] == [f"a{i}" for i in range(5)]
            await client.ingest.csv("people_csv", CSV)
            assert (await client.sql.query("SELECT count(*) FROM people_csv"))["rows"] == [[2]]
            with pytest.raises(InvalidInput):
                await client.vectors.add("people", ["x"], np.ones((1, DIM + 1)))
            return (await client.health())["status"]

    assert asyncio.run(scenario()) == "ok"
    assert len(vector_files(services)) > 0


def test_async_retries_are_counted_per_call_when_calls_overlap():
    sent = []

    def restarting(request):
        sent.append(request.url.path)
        body = {"error": "temporarily_unavailable", "message": "a backing actor is restarting"}
        return httpx.Response(503, json=body, headers={"retry-after": "0"})

    async def scenario():
        http = httpx.AsyncClient(
            base_url="http://lakehouse", transport=httpx.MockTransport(restarting)
        )
        client = AsyncClient(http=http, retries=2, backoff_s=0.001)
        message = [{"role": "user", "content": "hi"}]
        outcomes = await asyncio.gather(
            *(client.chat.send("llama3", message) for _ in range(3)), return_exceptions=True
        )
        await http.aclose()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, TemporarilyUnavailable) for o in outcomes)
    assert sent == ["/v1/chat"] * 9


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"error": "temporarily_unavailable", "message": "a backing actor is restarting"},
         {"retry-after": "1"}),
        (None, {}),  # a proxy's bare 503: no code, so not known to be configuration
    ],
)  # fmt: skip
def test_a_transient_503_is_retried_a_bounded_number_of_times_honouring_retry_after(body, headers):
    sent, waits = [], []

    def answer(request):
        sent.append(request.url.path)
        content = b"no server available" if body is None else json.dumps(body).encode()
        return httpx.Response(503, content=content, headers=headers)

    with Client("http://server", transport=httpx.MockTransport(answer), retries=2,
                backoff_s=0.001, backoff_max_s=0.5) as client:  # fmt: skip
        client._retrying[True].sleep = waits.append  # record the waits instead of sleeping
        with pytest.raises(Unavailable) as err:
            client.health()
    assert err.value.status == 503 and sent == ["/health"] * 3
    hinted = 1.0 if headers else 0.0
    assert len(waits) == 2 and all(min(0.5, hinted) <= w <= 0.5 for w in waits), waits
