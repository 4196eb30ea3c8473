"""/v1/matrix over the real app, the real embedder and in-process shards."""

from __future__ import annotations

import pytest

from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from lakehouse.vectors.profile import STAFFING
from tests.api.conftest import make_client

ROWS = 300
QUERY = "forklift driver for night shift at a distribution center"


@pytest.fixture(scope="module")
def world(tmp_path_factory, model_cache):
    """300 profiles ingested as the roster and embedded into `workers`, plus `notes`."""
    root = tmp_path_factory.mktemp("matrix")
    client, services = make_client(Settings(data_dir=root / "data", sql_timeout_s=10.0))
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    rows = [r for b in generate_batches(ROWS) for r in b.to_pylist()]
    csv = root / "workers.csv"
    write_csv(csv, ROWS)
    client.services = services
    with client:
        resp = client.post("/v1/ingest", params={"name": "workers"},
                           files={"file": ("w.csv", csv.read_bytes())})  # fmt: skip
        assert resp.status_code in (200, 201), resp.text
        for name in ("workers", "notes"):
            resp = client.post("/v1/vectors/corpora", json={"name": name, "dim": 384, "shards": 2})
            assert resp.status_code == 201
        add(client, "workers", rows)
        notes = [r for r in rows if r["role"] in ("Forklift Operator", "Registered Nurse")][:30]
        body = {"ids": [r["worker_id"] for r in notes],
                "texts": [f"Placed as {r['role']} on the {r['shift']} shift; client was happy" for r in notes],
                "metadata": [{"role": r["role"], "kind": "placement"} for r in notes]}  # fmt: skip
        assert client.post("/v1/vectors/corpora/notes/add", json=body).status_code == 200
        yield client, rows


def add(client, corpus, rows):
    body = {
        "ids": [str(r["worker_id"]) for r in rows],
        "texts": [STAFFING.row_text(r) for r in rows],
        "metadata": [{c: r[c] for c in STAFFING.metadata_columns} for r in rows],
    }
    resp = client.post(f"/v1/vectors/corpora/{corpus}/add", json=body)
    assert resp.status_code == 200, resp.text


def matrix(client, **body):
    base = {"query": QUERY, "corpora": [{"name": "workers"}, {"name": "notes", "weight": 0.5}]}
    return client.post("/v1/matrix/search", json={**base, **body})


def sizes(client):
    return {c["name"]: c["size"] for c in client.get("/v1/vectors/corpora").json()["corpora"]}


def records(client):
    return client.get("/v1/matrix/playbooks", params={"limit": 1000}).json()["records"]


def test_search_over_two_corpora_is_merged_and_explained(world):
    client, _ = world
    resp = matrix(client, k=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["partial"] == [] and body["complete"] is True and len(body["hits"]) == 10
    assert body["hits"][0]["metadata"]["role"] == "Forklift Operator"
    assert body["low_confidence"] is False
    explanation = body["hits"][0]["explanation"]
    assert {"corpus", "raw_score", "rank", "fusion_score", "playbook_boost"} <= set(explanation)
    assert any(len(h["explanation"]["corpora"]) == 2 for h in body["hits"])  # de-duplicated
    assert len({h["id"] for h in body["hits"]}) == 10


def test_sql_filter_narrows_to_a_state_and_complete_stays_honest(world):
    client, rows = world
    state = rows[0]["state"]
    in_state = {r["worker_id"] for r in rows if r["state"] == state}
    body = matrix(client, k=5, sql_filter=f"state = '{state}'").json()
    assert body["hits"] and {h["id"] for h in body["hits"]} <= in_state
    one = rows[7]["worker_id"]
    narrow = matrix(client, k=5, sql_filter=f"worker_id = '{one}'").json()
    assert [h["id"] for h in narrow["hits"]] == [one] and narrow["complete"] is False
    nobody = matrix(client, k=5, sql_filter="state = 'nowhere'").json()
    assert nobody["hits"] == [] and nobody["complete"] is False


def test_metadata_filter_and_exclude_ids_pass_down(world):
    client, _ = world
    first = matrix(client, k=3).json()["hits"][0]["id"]
    body = matrix(client, k=5, filter={"shift": "night"}, exclude_ids=[first]).json()
    assert first not in {h["id"] for h in body["hits"]}
    assert all(
        h["metadata"].get("shift") == "night" for h in body["hits"] if h["corpus"] == "workers"
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"corpora": [{"name": "nope"}]}, 404),
        ({"corpora": []}, 400),
        ({"corpora": [{"name": "workers", "weight": 11}]}, 400),
        ({"corpora": [{"name": "workers", "weight": -1}]}, 400),
        ({"sql_filter": "1=1; DROP TABLE workers"}, 400),
        ({"sql_filter": "worker_id IN (SELECT worker_id FROM workers)"}, 400),
        ({"sql_filter": "1=1) UNION (SELECT 'x'"}, 400),
        ({"sql_filter": "state = 'TX' -- and more"}, 400),
        ({"k": 0}, 400),
        ({"fusion": "max"}, 400),
        ({"surprise": 1}, 400),
    ],
)
def test_bad_search_input_is_refused_and_nothing_changes(world, body, status):
    client, _ = world
    before, audit = sizes(client), records(client)
    resp = matrix(client, **body)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]
    assert sizes(client) == before and records(client) == audit
    rows = client.post("/v1/sql", json={"sql": "SELECT count(*) FROM workers"}).json()["rows"]
    assert rows == [[ROWS]]


def test_repeat_query_is_cached_until_a_write(world):
    client, rows = world
    body = {"k": 4, "query": "hotel room attendant to clean guest rooms"}
    assert matrix(client, **body).json()["cached"] is False
    assert matrix(client, **body).json()["cached"] is True
    add(client, "workers", rows[:1])  # a write to a covered corpus
    assert matrix(client, **body).json()["cached"] is False


def test_playbook_record_lifts_the_id_and_is_audited(world):
    client, _ = world
    query = "licensed nurse to administer medications"
    plain = matrix(client, query=query, k=10).json()["hits"]
    target = plain[6]["id"]
    resp = client.post("/v1/matrix/playbooks/record",
                       json={"query": query, "ids": [target], "outcome": "success"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    boosted = matrix(client, query=query, k=10, use_playbook=True).json()["hits"]
    assert boosted[0]["id"] == target and boosted[0]["explanation"]["playbook_boost"] > 0
    assert matrix(client, query=query, k=10).json()["hits"][0]["id"] == plain[0]["id"]
    audit = records(client)
    assert audit[0]["ids"] == [target] and audit[0]["who"] == "addr:127.0.0.1"
    assert audit[0]["outcome"] == "success" and audit[0]["when"]


def test_bulk_record_is_all_or_nothing_and_listed_newest_first(world):
    client, rows = world
    before = records(client)
    good = {"query": "grill cook", "ids": [rows[1]["worker_id"]], "outcome": "failure", "weight": 2}
    bad = {"query": "x", "ids": ["a"], "outcome": "maybe"}
    resp = client.post("/v1/matrix/playbooks/record/bulk", json={"records": [good, bad]})
    assert resp.status_code == 400 and records(client) == before
    resp = client.post(
        "/v1/matrix/playbooks/record/bulk",
        json={"records": [good, {**good, "query": "dishwasher"}]},
    )
    assert resp.status_code == 200 and len(resp.json()["recorded"]) == 2
    after = records(client)
    assert len(after) == len(before) + 2
    whens = [r["record_id"] for r in after]
    assert whens == sorted(whens, reverse=True)
    assert client.get("/v1/matrix/playbooks", params={"limit": 0}).status_code == 400


def test_who_is_a_token_hash_never_the_token(settings, model_cache):
    client, services = make_client(settings, headers={"Authorization": "Bearer s3cret-token"})
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    with client:
        resp = client.post("/v1/matrix/playbooks/record",
                           json={"query": "welder", "ids": ["w1"], "outcome": "success"})  # fmt: skip
        assert resp.status_code == 200, resp.text
        who = resp.json()["recorded"][0]["who"]
    assert who.startswith("token:") and "s3cret" not in who


def test_a_malformed_audit_record_is_skipped_and_reported(world):
    client, _ = world
    store = client.services.store
    before = records(client)
    folder = next(iter(store.iter_all("playbooks/"))).key.rsplit("/", 1)[0]
    bad = f"{folder}/999999999999999-bad.json"
    store.put(bad, b'{"record_id": 1, "query"')  # what a disk fault or an old writer leaves
    try:
        resp = client.get("/v1/matrix/playbooks", params={"limit": 1000})
        assert resp.status_code == 200
        assert resp.json()["records"] == before
        assert resp.json()["skipped"] == [{"key": bad, "reason": "unreadable (JSONDecodeError)"}]
    finally:
        store.delete(bad)


def test_every_object_the_service_wrote_is_under_an_owned_prefix(world):
    from lakehouse.storage.owned import service_owned

    client, _ = world
    trace = {"content": "placed a forklift driver", "tags": ["t"]}
    assert client.post("/v1/pathway/traces", json=trace).status_code == 201
    keys = [o.key for o in client.services.store.iter_all("")]
    assert keys and [k for k in keys if not service_owned(k)] == []


def test_no_corpus_answering_in_time_is_a_retryable_503_not_an_empty_200(world, monkeypatch):
    """A shard restarting misses every deadline: 503 with Retry-After (the client retries),
    nothing cached, and the next search once it answers is whole."""
    client, _ = world
    matrix_search = client.services.matrix

    async def every_corpus_late(requests, timeout_s):
        return [None] * len(requests)

    cached = len(matrix_search.cache)
    with monkeypatch.context() as patch:
        patch.setattr(matrix_search.router, "search_many", every_corpus_late)
        resp = matrix(client, k=5, query="a query no other test asks")
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "1" and resp.json()["error"] == "temporarily_unavailable"
    assert len(matrix_search.cache) == cached
    again = matrix(client, k=5, query="a query no other test asks")
    assert again.status_code == 200 and again.json()["partial"] == []
