"""/v1/vectors over the real app with in-process shards: every route, bad input → 4xx with
nothing changed."""

import numpy as np
import pytest

from lakehouse.vectors.profile import STAFFING

DIM = 8


def vecs(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, DIM)).round(4).tolist()


@pytest.fixture
def corpus(api):
    resp = api.post("/v1/vectors/corpora", json={"name": "people", "dim": DIM, "shards": 3})
    assert resp.status_code == 201 and resp.json()["created"] is True
    return "people"


def files(api):
    return sorted(o.key for o in api.services.store.iter_all("vectors/"))


def test_create_is_idempotent_and_conflicts_on_another_definition(api, corpus):
    again = api.post("/v1/vectors/corpora", json={"name": "people", "dim": DIM, "shards": 3})
    assert again.status_code == 200 and again.json()["created"] is False
    other = api.post("/v1/vectors/corpora", json={"name": "people", "dim": DIM + 1, "shards": 3})
    assert other.status_code == 409


def test_add_search_delete_and_sizes(api, corpus):
    v = vecs(60)
    meta = [{"state": "TX" if i % 3 == 0 else "CA", "i": i} for i in range(60)]
    resp = api.post(
        f"/v1/vectors/corpora/{corpus}/add",
        json={"ids": [f"w{i}" for i in range(60)], "vectors": v, "metadata": meta},
    )
    assert resp.json() == {"added": 60}
    listing = api.get("/v1/vectors/corpora").json()["corpora"]
    assert listing == [{"name": "people", "dim": DIM, "space": "cosine", "shards": 3, "M": 16,
                        "ef_construction": 200, "ef_search": 64, "size": 60,
                        "profile": STAFFING.to_dict()}]  # fmt: skip
    body = api.post(f"/v1/vectors/corpora/{corpus}/search", json={"vector": v[5], "k": 3}).json()
    assert (
        body["complete"] and body["hits"][0]["id"] == "w5" and body["hits"][0]["metadata"]["i"] == 5
    )
    assert [h["score"] for h in body["hits"]] == sorted(
        (h["score"] for h in body["hits"]), reverse=True
    )
    body = api.post(f"/v1/vectors/corpora/{corpus}/search",
                    json={"vector": v[5], "k": 25, "filter": {"state": "TX"}, "exclude_ids": ["w0"]}).json()  # fmt: skip
    assert len(body["hits"]) == 19 and not body["complete"]
    assert all(h["metadata"]["state"] == "TX" and h["id"] != "w0" for h in body["hits"])
    assert api.post(f"/v1/vectors/corpora/{corpus}/delete", json={"ids": ["w5", "zz"]}).json() == {
        "deleted": 1
    }
    body = api.post(f"/v1/vectors/corpora/{corpus}/search", json={"vector": v[5], "k": 59}).json()
    assert "w5" not in [h["id"] for h in body["hits"]] and body["complete"]


def test_merge_matches_a_brute_force_reference(api, corpus):
    v = np.asarray(vecs(200, 4))
    api.post(
        f"/v1/vectors/corpora/{corpus}/add",
        json={"ids": [f"m{i}" for i in range(200)], "vectors": v.tolist()},
    )
    q = np.asarray(vecs(1, 77)[0])
    got = [
        h["id"]
        for h in api.post(
            f"/v1/vectors/corpora/{corpus}/search", json={"vector": q.tolist(), "k": 10}
        ).json()["hits"]
    ]
    sims = (v / np.linalg.norm(v, axis=1, keepdims=True)) @ (q / np.linalg.norm(q))
    want = [f"m{i}" for i in np.argsort(-sims)[:10]]
    assert len(set(got) & set(want)) >= 9


@pytest.mark.parametrize(
    "body",
    [
        {"ids": ["a"], "vectors": [[0.0] * (DIM + 1)]},
        {"ids": ["a", "a"], "vectors": vecs(2)},
        {"ids": ["a", ""], "vectors": vecs(2)},
        {"ids": [], "vectors": []},
        {"ids": ["a"]},
        {"ids": ["a"], "vectors": vecs(1), "texts": ["x"]},
        {"ids": ["a", "b"], "vectors": vecs(1)},
        {"ids": ["a"], "vectors": vecs(1), "metadata": [{"x": 1}, {"y": 2}]},
    ],
)
def test_bad_adds_are_400_and_nothing_written(api, corpus, body):
    api.post(f"/v1/vectors/corpora/{corpus}/add", json={"ids": ["keep"], "vectors": vecs(1, 3)})
    before = files(api)
    resp = api.post(f"/v1/vectors/corpora/{corpus}/add", json=body)
    assert resp.status_code == 400, resp.text
    assert files(api) == before
    assert api.get("/v1/vectors/corpora").json()["corpora"][0]["size"] == 1


def test_nan_and_infinity_are_refused(api, corpus):
    before = files(api)
    raw = '{"ids": ["a"], "vectors": [[NaN, 1, 1, 1, 1, 1, 1, 1]]}'
    resp = api.post(
        f"/v1/vectors/corpora/{corpus}/add",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    raw = raw.replace("NaN", "Infinity")
    resp = api.post(
        f"/v1/vectors/corpora/{corpus}/add",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    assert files(api) == before


@pytest.mark.parametrize(
    "body",
    [{"vector": vecs(1)[0], "k": 0}, {"vector": vecs(1)[0], "k": 1001}, {"k": 3},
     {"vector": [1.0] * (DIM + 2), "k": 3}, {"vector": vecs(1)[0], "k": 3, "filter": {"a": {"$bad": 1}}}],
)  # fmt: skip
def test_bad_searches_are_400(api, corpus, body):
    api.post(f"/v1/vectors/corpora/{corpus}/add", json={"ids": ["x"], "vectors": vecs(1)})
    assert api.post(f"/v1/vectors/corpora/{corpus}/search", json=body).status_code == 400


def test_unknown_corpus_is_404_and_nothing_written(api):
    before = files(api)
    assert (
        api.post(
            "/v1/vectors/corpora/nope/add", json={"ids": ["a"], "vectors": vecs(1)}
        ).status_code
        == 404
    )
    assert (
        api.post("/v1/vectors/corpora/nope/search", json={"vector": vecs(1)[0]}).status_code == 404
    )
    assert api.delete("/v1/vectors/corpora/nope").status_code == 404
    assert files(api) == before


def test_bad_corpus_definitions_are_400(api):
    for body in ({"name": "bad-name", "dim": 4}, {"name": "x", "dim": 0}, {"name": "x", "dim": 4, "shards": 65},
                 {"name": "x", "dim": 4, "space": "hamming"}):  # fmt: skip
        assert api.post("/v1/vectors/corpora", json=body).status_code == 400
    assert api.get("/v1/vectors/corpora").json() == {"corpora": []}


def test_delete_corpus_removes_its_data(api, corpus):
    api.post(f"/v1/vectors/corpora/{corpus}/add", json={"ids": ["a"], "vectors": vecs(1)})
    assert files(api)
    assert api.delete(f"/v1/vectors/corpora/{corpus}").status_code == 204
    assert files(api) == [] and api.get("/v1/vectors/corpora").json() == {"corpora": []}


def test_text_routes_without_an_embedder_are_503(api, corpus):
    resp = api.post(f"/v1/vectors/corpora/{corpus}/search", json={"text": "forklift", "k": 3})
    assert resp.status_code == 503


def test_text_routes_on_an_unknown_corpus_are_404_before_embedding(api):
    """No embedder here: a 404 shows the corpus was checked before any embedding was tried."""
    search = api.post("/v1/vectors/corpora/nope/search", json={"text": "forklift", "k": 3})
    add = api.post("/v1/vectors/corpora/nope/add", json={"ids": ["a"], "texts": ["forklift"]})
    assert (search.status_code, add.status_code) == (404, 404)
    assert "nope" in search.json()["message"]
    assert api.get("/v1/vectors/corpora").json() == {"corpora": []}


def test_vector_store_prefixes_are_read_only_through_storage(api, corpus):
    assert api.put("/v1/storage/objects/corpora/people.json", content=b"{}").status_code == 403
    assert api.put("/v1/storage/objects/vectors/people/000/wal/x", content=b"x").status_code == 403


PARTS_CSV = b"part_no,title,notes,maker\nP1,bolt,steel bolt,acme\nP2,nut,brass nut,acme\n"


def _ingest_parts(api):
    resp = api.post(
        "/v1/ingest?name=parts", content=PARTS_CSV, headers={"Content-Type": "text/csv"}
    )
    assert resp.status_code == 201


def test_a_corpus_profile_is_stored_with_the_definition(api):
    _ingest_parts(api)
    profile = {"dataset": "parts", "id_column": "part_no", "text_template": "{title}: {notes}",
               "metadata_columns": ["maker"]}  # fmt: skip
    resp = api.post("/v1/vectors/corpora", json={"name": "parts", "dim": 4, "profile": profile})
    assert resp.status_code == 201 and resp.json()["profile"] == profile
    listed = api.get("/v1/vectors/corpora").json()["corpora"]
    assert listed[0]["profile"] == profile


@pytest.mark.parametrize(
    ("profile", "status", "words"),
    [
        ({"dataset": "parts", "id_column": "part_no", "text_template": "no columns"}, 400, "names no column"),
        ({"dataset": "parts", "id_column": "sku", "text_template": "{title}"}, 400, "'sku'"),
        ({"dataset": "parts", "id_column": "part_no", "text_template": "{title}",
          "metadata_columns": ["colour"]}, 400, "'colour'"),
        ({"id_column": "part_no", "text_template": "{title.__class__}"}, 400, "not column names"),
        ({"id_column": "part_no", "text_template": "{title"}, 400, "malformed"),
        ({"dataset": "nowhere", "id_column": "part_no", "text_template": "{title}"}, 404, "nowhere"),
    ],
)  # fmt: skip
def test_a_bad_profile_is_refused_before_anything_is_created(api, profile, status, words):
    _ingest_parts(api)
    before = data_keys(api)
    resp = api.post("/v1/vectors/corpora", json={"name": "parts", "dim": 4, "profile": profile})
    assert resp.status_code == status and words in resp.json()["message"]
    assert api.get("/v1/vectors/corpora").json() == {"corpora": []}
    assert data_keys(api) == before


def data_keys(api) -> list[str]:
    """Stored keys but the observer's (every request, a refused one too, is an event there)."""
    keys = (o["key"] for o in api.get("/v1/storage/objects").json()["objects"])
    return sorted(k for k in keys if not k.startswith("observer/"))
