"""/v1/pathway over the real app and a plain pathway store: every route, every bad input
answered 4xx with nothing changed (no event logged, no object written)."""

import pytest

from tests.api.conftest import make_client

TRACES = "/v1/pathway/traces"


def add(api, content, tags=None, **kw):
    resp = api.post(TRACES, json={"content": content, "tags": tags or []}, **kw)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def log_state(api):
    """What a write would change: the store's event sequence and the log's objects."""
    store = api.services.pathway.target.store
    keys = sorted(o.key for o in api.services.store.list("pathway/", limit=1000).objects)
    return store.stats()["seq"], keys


def test_add_get_update_and_read_as_of_a_past_time(api):
    resp = api.post(TRACES, json={"content": {"role": "cook"}, "tags": ["b", "a", "a"]})
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert first["content"] == {"role": "cook"} and first["tags"] == ["a", "b"]
    assert (first["version"], first["replay_count"], first["retired"]) == (1, 0, False)
    assert first["predecessor"] is None
    assert api.get(f"{TRACES}/{first['uid']}").json() == first
    resp = api.put(f"{TRACES}/{first['uid']}", json={"content": {"role": "chef"}})
    assert resp.status_code == 200
    second = resp.json()
    assert (second["uid"], second["version"], second["tags"]) == (first["uid"], 2, ["a", "b"])
    then = api.get(f"{TRACES}/{first['uid']}", params={"as_of": first["updated_at"]}).json()
    assert then == first
    before = api.get(f"{TRACES}/{first['uid']}", params={"as_of": first["created_at"] - 10})
    assert before.status_code == 404


def test_add_idempotent_returns_the_holder_and_counts_replays(api):
    first = add(api, {"a": 1, "b": [2]}, ["x"])
    resp = api.post(
        TRACES, params={"idempotent": "true"}, json={"content": {"b": [2], "a": 1}, "tags": []}
    )
    assert resp.status_code == 200
    again = resp.json()
    assert again["uid"] == first["uid"] and again["replay_count"] == 1
    assert again["content"] == {"a": 1, "b": [2]} and again["tags"] == ["x"]
    resp = api.post(TRACES, params={"idempotent": "true"}, json={"content": {"a": 2}})
    assert resp.status_code == 201 and resp.json()["uid"] != first["uid"]


def test_revise_links_a_new_trace_and_history_walks_it(api):
    root = add(api, {"step": 1}, ["shift"])
    resp = api.post(f"{TRACES}/{root['uid']}/revise", json={"content": {"step": 2}})
    assert resp.status_code == 201
    child = resp.json()
    assert child["uid"] != root["uid"] and child["predecessor"] == root["uid"]
    assert child["tags"] == ["shift"] and child["version"] == 1
    history = api.get(f"{TRACES}/{child['uid']}/history").json()
    assert history["complete"] is True and history["missing_predecessor"] is None
    assert [(e["uid"], e["content"]) for e in history["entries"]] == [
        (child["uid"], {"step": 2}),
        (root["uid"], {"step": 1}),
    ]


def test_retire_hides_from_search_keeps_reads_and_refuses_writes(api):
    kept, gone = add(api, {"n": 1}, ["t"]), add(api, {"n": 2}, ["t"])
    resp = api.post(f"{TRACES}/{gone['uid']}/retire")
    assert resp.status_code == 200 and resp.json()["retired"] is True
    assert api.post(f"{TRACES}/{gone['uid']}/retire").json()["retired"] is True  # no-op
    hits = api.post("/v1/pathway/search", json={"tags": ["t"], "k": 10}).json()["hits"]
    assert [h["trace"]["uid"] for h in hits] == [kept["uid"]]
    assert api.get(f"{TRACES}/{gone['uid']}").json()["retired"] is True
    state = log_state(api)
    resp = api.put(f"{TRACES}/{gone['uid']}", json={"content": {"n": 3}})
    assert resp.status_code == 409 and resp.json()["error"] == "conflict"
    resp = api.post(f"{TRACES}/{gone['uid']}/revert", json={"version": 1})
    assert resp.status_code == 409
    assert log_state(api) == state


def test_revert_makes_a_new_version_and_bad_versions_change_nothing(api):
    trace = add(api, {"v": 1}, ["a"])
    api.put(f"{TRACES}/{trace['uid']}", json={"content": {"v": 2}, "tags": ["b"]})
    resp = api.post(f"{TRACES}/{trace['uid']}/revert", json={"version": 1})
    assert resp.status_code == 200
    reverted = resp.json()
    assert (reverted["version"], reverted["content"], reverted["tags"]) == (3, {"v": 1}, ["a"])
    state = log_state(api)
    for body, status in [
        ({"version": 0}, 400),
        ({"version": "1"}, 400),
        ({"version": 1.5}, 400),
        ({}, 400),
        ({"version": 3}, 400),  # the current version
        ({"version": 99}, 404),
        ({"version": 1, "extra": True}, 400),
    ]:
        resp = api.post(f"{TRACES}/{trace['uid']}/revert", json=body)
        assert resp.status_code == status, (body, resp.text)
    assert log_state(api) == state
    assert api.get(f"{TRACES}/{trace['uid']}").json() == reverted


def test_search_by_text_tags_and_time(api):
    cook = add(api, {"note": "night cook in Houston"}, ["food"])
    nurse = add(api, {"note": "day nurse in Austin"}, ["care"])
    hits = api.post("/v1/pathway/search", json={"text": "cook", "k": 5}).json()["hits"]
    assert [h["trace"]["uid"] for h in hits] == [cook["uid"]] and hits[0]["score"] > 0
    hits = api.post("/v1/pathway/search", json={"tags": ["care"]}).json()["hits"]
    assert [h["trace"]["uid"] for h in hits] == [nurse["uid"]]
    hits = api.post("/v1/pathway/search", json={"k": 1}).json()["hits"]
    assert [h["trace"]["uid"] for h in hits] == [nurse["uid"]]  # most recent first
    window = {"since": cook["updated_at"], "until": cook["updated_at"]}
    hits = api.post("/v1/pathway/search", json=window).json()["hits"]
    assert [h["trace"]["uid"] for h in hits] == [cook["uid"]]


@pytest.mark.parametrize(
    "body",
    [
        {"k": 0},
        {"k": 1001},
        {"k": "5"},
        {"tags": [f"t{i}" for i in range(33)]},
        {"tags": ["x" * 65]},
        {"tags": "food"},
        {"text": "x" * 5000},
        {"since": 10.0, "until": 5.0},
        {"query": "cook"},
    ],
)
def test_bad_search_400(api, body):
    add(api, {"n": 1})
    state = log_state(api)
    resp = api.post("/v1/pathway/search", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] == "invalid_input"
    assert log_state(api) == state


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        (
            {"content": b'{"content": {"a": 1}', "headers": {"content-type": "application/json"}},
            400,
        ),
        ({"content": b'{"content": NaN}', "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"tags": ["a"]}}, 400),
        ({"json": {"content": 1, "tags": [f"t{i}" for i in range(33)]}}, 400),
        ({"json": {"content": 1, "tags": ["bad\ttag"]}}, 400),
        ({"json": {"content": 1, "tags": [""]}}, 400),
        ({"json": {"content": 1, "tags": [1]}}, 400),
        ({"json": {"content": 1, "extra": 2}}, 400),
        ({"json": {"content": "x" * (70 * 1024)}}, 413),
        ({"json": {"content": 1}, "params": {"idempotent": "maybe"}}, 400),
    ],
)
def test_bad_add_4xx_and_nothing_written(api, kwargs, status):
    state = log_state(api)
    resp = api.post(TRACES, **kwargs)
    assert resp.status_code == status, resp.text
    assert log_state(api) == state
    assert api.post("/v1/pathway/search", json={"k": 10}).json()["hits"] == []


def test_too_deep_content_400_and_nothing_written(api):
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    state = log_state(api)
    resp = api.post(TRACES, json={"content": deep})
    assert resp.status_code == 400 and "deeper" in resp.json()["message"]
    assert log_state(api) == state


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("put", "", {"content": 1}),
        ("post", "/revise", {"content": 1}),
        ("post", "/retire", None),
        ("post", "/revert", {"version": 1}),
        ("get", "/history", None),
    ],
)
def test_unknown_uid_404_and_overlong_uid_400(api, method, suffix, body):
    add(api, {"n": 1})
    state = log_state(api)
    call = getattr(api, method)
    kwargs = {} if body is None else {"json": body}
    resp = call(f"{TRACES}/no-such-uid{suffix}", **kwargs)
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"
    resp = call(f"{TRACES}/{'u' * 65}{suffix}", **kwargs)
    assert resp.status_code == 400
    assert log_state(api) == state


def test_writes_record_the_request_trace_id_in_the_log(api):
    add(api, {"n": 1}, headers={"X-Lakehouse-Trace-Id": "pathway-trace-7"})
    store = api.services.store
    keys = [o.key for o in store.list("pathway/", limit=100).objects]
    assert any(b"pathway-trace-7" in store.get(key) for key in keys)


def test_a_replica_without_a_pathway_store_answers_503(settings):
    client, services = make_client(settings)
    services.pathway = None
    with client:
        resp = client.post(TRACES, json={"content": 1})
        assert resp.status_code == 503 and resp.json()["error"] == "unavailable"
