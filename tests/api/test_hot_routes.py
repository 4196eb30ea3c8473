"""The hot routes (``deployments.hot``) answer exactly as FastAPI's router does.

Two apps over one set of in-process services: one with the hot path, one without. Every
request below goes to both; status, body and the headers a client reads must be equal, and
a refused write changes nothing.
"""

import time

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.testclient import TestClient

from actors.services import build_services
from deployments.api import create_api
from deployments.hot import HOT_PATHS, HotRoute, HotRoutes
from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.vectors.packed import encode
from tests.api.conftest import LOOPBACK

DIM = 8


@pytest.fixture
def pair(settings, tmp_path):
    """(hot client, plain client, services) over the same services and data."""
    services = build_services(settings, "local")
    services.embedder = None
    hot = TestClient(create_api(services), client=LOOPBACK)
    plain = TestClient(create_api(services, hot=False), client=LOOPBACK)
    with hot, plain:
        assert plain.post("/v1/vectors/corpora", json={"name": "c", "dim": DIM}).status_code == 201
        vectors = np.random.default_rng(0).normal(size=(40, DIM)).astype(np.float32)
        body = {
            "ids": [f"w{i}" for i in range(40)],
            "vectors": vectors.tolist(),
            "metadata": [{"team": i % 3} for i in range(40)],
        }
        assert plain.post("/v1/vectors/corpora/c/add", json=body).json() == {"added": 40}
        csv = tmp_path / "workers.csv"
        lines = [f"w{i},n{i},{ROLES[i % 2]},Austin,TX,true\n" for i in range(40)]
        csv.write_text("worker_id,name,role,city,state,available\n" + "".join(lines))
        with csv.open("rb") as f:
            resp = plain.post("/v1/ingest", params={"name": "workers"}, files={"file": f})
        assert resp.status_code == 201, resp.text
        yield hot, plain, services


ROLES = ("Welder", "Cook")
QUERY = np.linspace(-1, 1, DIM).astype(np.float32)
SSN = "SSN 123-45-6789"
JSON = {"content-type": "application/json"}
SEARCH = "/v1/vectors/corpora/c/search"


def FILL(ids):  # noqa: N802 - a payload builder, read like the constants around it
    return {"role": "Welder", "location": "Austin, TX", "target_count": 2,
            "candidates": [{"worker_id": i} for i in ids]}  # fmt: skip


ADD = "/v1/vectors/corpora/c/add"

CASES = [
    # searches: answered, then each kind of refusal
    (SEARCH, {"json": {"vector": QUERY.tolist(), "k": 5}}),
    (SEARCH, {"json": {"vector": encode(QUERY), "k": 3, "filter": {"team": 1}}}),
    (SEARCH, {"json": {"vector": QUERY.tolist(), "k": 4, "exclude_ids": ["w1", "w2"]}}),
    (SEARCH, {"json": {"vector": QUERY.tolist(), "k": 0}}),
    (SEARCH, {"json": {"vector": QUERY.tolist(), "k": 5, "extra": 1}}),
    (SEARCH, {"json": {"k": 5}}),
    (SEARCH, {"json": {"vector": [1.0, 2.0], "k": 5}}),
    (SEARCH, {"json": {"text": "forklift", "k": 5}}),
    (SEARCH, {"json": [1, 2, 3]}),
    (SEARCH, {"content": b'{"vector": [1, 2', "headers": {"content-type": "application/json"}}),
    (SEARCH, {"content": b"", "headers": {"content-type": "application/json"}}),
    (SEARCH, {"content": b'{"k": NaN}', "headers": {"content-type": "application/json"}}),
    (SEARCH, {"content": b'{"k": 5}', "headers": {"content-type": "text/plain"}}),
    (SEARCH, {"content": b'{"k": 5}', "headers": {"content-type": "application/x+json"}}),
    ("/v1/vectors/corpora/nope/search", {"json": {"vector": QUERY.tolist(), "k": 5}}),
    (SEARCH, {"json": {"vector": QUERY.tolist()}, "headers": {"content-length": "99999999"}}),
    # SQL: answered, refused, failed
    ("/v1/sql", {"json": {"sql": "SELECT worker_id FROM workers ORDER BY worker_id LIMIT 3"}}),
    ("/v1/sql", {"json": {"sql": "DELETE FROM workers"}}),
    ("/v1/sql", {"json": {"sql": "SELECT * FROM nowhere"}}),
    ("/v1/sql", {"json": {"sql": ""}}),
    ("/v1/sql", {"json": {"query": "SELECT 1"}}),
    # the matrix
    ("/v1/matrix/search", {"json": {"corpora": [{"name": "c"}], "vector": encode(QUERY)}}),
    ("/v1/matrix/search", {"json": {"corpora": [{"name": "gone"}], "vector": encode(QUERY)}}),
    ("/v1/matrix/search", {"json": {"corpora": [], "vector": encode(QUERY)}}),
    # the validators: valid, a phantom worker, a policy breach, an unknown kind
    ("/v1/validate", {"json": {"kind": "fill", "payload": FILL(["w0", "w2"])}}),
    ("/v1/validate", {"json": {"kind": "fill", "payload": FILL(["w0", "W9999999"])}}),
    ("/v1/validate", {"json": {"kind": "sms", "payload": {"to": "+15555550100", "body": SSN}}}),
    ("/v1/validate", {"json": {"kind": "email", "payload": {"to": "a@b.co"}}}),
    ("/v1/validate", {"json": {"kind": "poem", "payload": {}}}),
    ("/v1/validate", {"json": {"payload": {}}}),
    # what one JSON parser takes and the other refuses: each route keeps its own
    ("/v1/sql", {"content": b'{"sql": "SELECT 1", "x": NaN}', "headers": JSON}),
    ("/v1/validate", {"content": b'{"kind": "sms", "payload": {"to": NaN}}', "headers": JSON}),
    ("/v1/validate", {"content": b'{"kind": "sms", "payload": {"n": 1e400}}', "headers": JSON}),
    ("/v1/validate", {"content": b'{"kind": "sms", "payload": {"s": "\\ud800"}}', "headers": JSON}),
    (
        "/v1/validate",
        {"content": b'{"kind": "sms", "payload": {"n": 1' + b"0" * 30 + b"}}", "headers": JSON},
    ),
    (SEARCH, {"content": b'{"vector": [1e400], "k": 1}', "headers": JSON}),
    # refused playbook records (a recorded one is in its own test: its answer has a time)
    ("/v1/matrix/playbooks/record", {"json": {"query": "q", "ids": [], "outcome": "success"}}),
    ("/v1/matrix/playbooks/record", {"json": {"query": "q", "ids": ["w1"], "outcome": "meh"}}),
]


def _answer(resp):
    return (
        resp.status_code,
        resp.json(),
        resp.headers.get("content-type"),
        resp.headers.get("retry-after"),
        resp.headers.get("www-authenticate"),
    )


@pytest.mark.parametrize(("path", "request_kw"), CASES)
def test_the_hot_path_answers_as_the_router_does(pair, path, request_kw):
    hot, plain, _ = pair
    plain.post(path, **request_kw)  # the matrix's answer cache warm for both (`cached`)
    assert _answer(hot.post(path, **request_kw)) == _answer(plain.post(path, **request_kw))


def test_other_methods_on_a_hot_path_are_the_routers(pair):
    hot, plain, _ = pair
    assert _answer(hot.get(SEARCH)) == _answer(plain.get(SEARCH))
    assert hot.get(SEARCH).status_code == 405


def test_adds_and_refused_adds_match_and_a_refused_add_changes_nothing(pair):
    hot, plain, services = pair
    rows = np.random.default_rng(1).normal(size=(3, DIM)).astype(np.float32)
    good = {"ids": ["n1", "n2", "n3"], "vectors": encode(rows)}
    assert _answer(hot.post(ADD, json=good)) == _answer(plain.post(ADD, json=good))
    size = hot.get("/v1/vectors/corpora").json()["corpora"][0]["size"]
    assert size == 43
    before = sorted(o.key for o in services.store.iter_all("vectors/"))
    bad = [
        {"ids": ["x1", "x2"], "vectors": encode(rows)},  # 2 ids, 3 vectors
        {"ids": ["x1"], "vectors": [[1.0] * (DIM - 1)]},  # wrong dimension
        {"ids": ["x1"], "vectors": encode(rows[:1]), "texts": ["a"]},  # both sources
        {"ids": [], "vectors": []},
    ]
    for body in bad:
        got = _answer(hot.post(ADD, json=body))
        assert got == _answer(plain.post(ADD, json=body))
        assert got[0] == 400 and got[1]["error"] == "invalid_input"
    assert _answer(hot.post("/v1/vectors/corpora/zz/add", json=good))[0] == 404
    assert hot.get("/v1/vectors/corpora").json()["corpora"][0]["size"] == size
    assert sorted(o.key for o in services.store.iter_all("vectors/")) == before


def test_a_recorded_outcome_answers_as_the_router_does(pair, model_cache):
    hot, plain, services = pair
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    body = {"query": "welder", "ids": ["w1"], "outcome": "success"}
    answers = [client.post("/v1/matrix/playbooks/record", json=body) for client in (hot, plain)]
    assert [a.status_code for a in answers] == [200, 200]
    volatile = ("record_id", "when", "when_ts")
    records = [[{k: v for k, v in r.items() if k not in volatile} for r in a.json()["recorded"]]
               for a in answers]  # fmt: skip
    assert records[0] == records[1] and records[0][0]["who"] == "addr:127.0.0.1"
    listed = hot.get("/v1/matrix/playbooks").json()["records"]
    assert len(listed) == 2


def test_hot_requests_skip_the_router_and_keep_the_route_label(pair, monkeypatch):
    hot, plain, services = pair
    handled = []
    original = APIRoute.handle

    async def counting(self, scope, receive, send):
        handled.append(self.path)
        await original(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counting)
    body = {"vector": QUERY.tolist(), "k": 2}
    assert hot.post(SEARCH, json=body, headers={"X-Lakehouse-Trace-Id": "hot-1"}).status_code == 200
    assert hot.post("/v1/sql", json={"sql": "SELECT 1 AS one"}).status_code == 200
    assert handled == []
    assert plain.post(SEARCH, json=body).status_code == 200
    assert handled == ["/v1/vectors/corpora/{name}/search"]
    # the edge labels the request with the route template, as for any routed request
    deadline = time.monotonic() + 5
    while True:
        params = {"kind": "http.request", "trace_id": "hot-1"}
        events = hot.get("/v1/observer/events", params=params).json()["events"]
        if events or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [e["data"]["route"] for e in events] == ["/v1/vectors/corpora/{name}/search"]
    assert events[0]["data"]["status"] == 200


def test_every_hot_path_is_a_post_route_of_the_app(settings):
    services = build_services(settings, "local")
    app = create_api(services)
    posts = {c.path for c in iter_route_contexts(app.routes) if "POST" in (c.methods or ())}
    assert set(HOT_PATHS) <= posts
    with pytest.raises(TypeError, match="no POST route"):
        HotRoutes(None, app, paths=("/v1/nowhere",))


def test_an_endpoint_of_another_shape_is_refused_when_the_app_is_built():
    app = FastAPI()

    @app.post("/v1/x")
    async def x(payload: dict, request_id: str) -> dict:
        return {}

    with pytest.raises(TypeError, match="a hot endpoint takes"):
        HotRoutes(None, app, paths=("/v1/x",))
    with pytest.raises(TypeError):
        HotRoute.of(next(c for c in iter_route_contexts(app.routes) if c.path == "/v1/x"))


def test_a_streamed_body_over_the_cap_is_413_on_the_hot_path_and_records_nothing(pair):
    """No content-length, so the edge counts the body as it streams. The router answers
    this 400 ("There was an error parsing the body": FastAPI wraps the edge's error); the
    hot path answers the edge's own 413, the answer a body with a content-length gets."""
    hot, plain, _ = pair

    def chunks():
        yield b'{"query": "q", "ids": ["w1"], "outcome": "success", "pad": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    path = "/v1/matrix/playbooks/record"
    resp = hot.post(path, content=chunks(), headers=JSON)
    assert resp.status_code == 413 and resp.json()["error"] == "too_large"
    assert resp.json()["details"]["limit"] == 1024 * 1024
    assert plain.post(path, content=chunks(), headers=JSON).status_code == 400
    assert hot.get("/v1/matrix/playbooks").json()["records"] == []
