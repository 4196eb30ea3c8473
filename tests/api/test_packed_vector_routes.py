"""The packed vector form over the real app: same answers as JSON floats, same refusals."""

import base64

import numpy as np
import pytest

from lakehouse.settings import Settings
from lakehouse.vectors.packed import encode
from tests.api.conftest import make_client

DIM = 8


def rows(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def raw(array):
    return base64.b64encode(np.asarray(array, dtype="<f4").tobytes()).decode()


def packed(data, dim=DIM):
    return {"encoding": "base64-f32le", "dim": dim, "data": data}


@pytest.fixture
def corpus(api):
    assert (
        api.post("/v1/vectors/corpora", json={"name": "p", "dim": DIM, "shards": 2}).status_code
        == 201
    )
    resp = api.post(
        "/v1/vectors/corpora/p/add", json={"ids": ["keep"], "vectors": encode(rows(1, 9))}
    )
    assert resp.json() == {"added": 1}
    return "p"


def files(api):
    return sorted(o.key for o in api.services.store.iter_all("vectors/"))


def size(api):
    return api.get("/v1/vectors/corpora").json()["corpora"][0]["size"]


def search(api, body):
    return api.post("/v1/vectors/corpora/p/search", json=body)


def test_packed_and_json_forms_give_the_same_answers(api, corpus):
    v = rows(50)
    ids = [f"w{i}" for i in range(50)]
    assert api.post(
        "/v1/vectors/corpora/p/add", json={"ids": ids, "vectors": encode(v)}
    ).json() == {"added": 50}
    assert size(api) == 51
    as_json = search(api, {"vector": v[7].tolist(), "k": 5}).json()
    as_packed = search(api, {"vector": encode(v[7]), "k": 5}).json()
    assert as_packed == as_json and as_packed["hits"][0]["id"] == "w7"


def test_a_json_add_and_a_packed_add_store_the_same_vector(api, corpus):
    v = rows(2, 3)
    api.post("/v1/vectors/corpora/p/add", json={"ids": ["j"], "vectors": v[:1].tolist()})
    api.post("/v1/vectors/corpora/p/add", json={"ids": ["b"], "vectors": encode(v[:1])})
    hits = search(api, {"vector": encode(v[0]), "k": 3}).json()["hits"]
    assert {h["id"] for h in hits[:2]} == {"j", "b"}
    assert hits[0]["score"] == pytest.approx(hits[1]["score"], abs=1e-6)


NAN_ROW = raw(np.r_[[np.nan], np.ones(DIM - 1)].reshape(1, DIM))
INF_ROW = raw(np.r_[[np.inf], np.ones(DIM - 1)].reshape(1, DIM))


@pytest.mark.parametrize(
    "vectors",
    [
        packed(raw(rows(1)[:, :4]), dim=4),  # the corpus is 8-d
        packed(raw(rows(1)) + "AAAA"),  # 8 rows' worth of bytes plus 3 stray ones
        packed(raw(rows(1))[:-4] + "!!!!"),  # not base64
        packed(NAN_ROW),
        packed(INF_ROW),
        packed(raw(rows(2))),  # two rows for one id
        packed(""),
        {"encoding": "base64-f16le", "dim": DIM, "data": raw(rows(1))},
        {"encoding": "base64-f32le", "dim": 0, "data": raw(rows(1))},
        {"encoding": "base64-f32le", "dim": DIM, "data": raw(rows(1)), "extra": 1},
        {"dim": DIM, "data": raw(rows(1))},
    ],
)
def test_bad_packed_adds_are_400_and_nothing_written(api, corpus, vectors):
    before = files(api)
    resp = api.post("/v1/vectors/corpora/p/add", json={"ids": ["a"], "vectors": vectors})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] == "invalid_input"
    assert files(api) == before and size(api) == 1


def test_more_rows_than_a_batch_is_400_in_both_forms(api, corpus):
    many = rows(10_001)
    ids = [f"i{i}" for i in range(10_001)]
    before = files(api)
    for vectors in (encode(many), many.tolist()):
        resp = api.post("/v1/vectors/corpora/p/add", json={"ids": ids, "vectors": vectors})
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_input"
    packed_only = api.post(
        "/v1/vectors/corpora/p/add", json={"ids": ids[:2], "vectors": encode(many)}
    )
    assert packed_only.status_code == 400
    assert files(api) == before and size(api) == 1


@pytest.mark.parametrize(
    "vector",
    [packed(raw(rows(2))), packed(raw(rows(1)[:, :4]), dim=4), packed(NAN_ROW), packed("@@@@")],
)
def test_bad_packed_searches_are_400(api, corpus, vector):
    resp = search(api, {"vector": vector, "k": 3})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_input"
    assert size(api) == 1


def test_a_body_over_the_cap_is_413_in_both_forms(tmp_path):
    client, services = make_client(
        Settings(data_dir=tmp_path / "d", max_vectors_body_bytes=64 * 1024)
    )
    with client:
        client.post("/v1/vectors/corpora", json={"name": "p", "dim": DIM})
        big = rows(3_000)  # 96 KB packed, ~600 KB as JSON floats
        ids = [f"i{i}" for i in range(3_000)]
        for vectors in (encode(big), big.tolist()):
            resp = client.post("/v1/vectors/corpora/p/add", json={"ids": ids, "vectors": vectors})
            assert resp.status_code == 413 and resp.json()["error"] == "too_large"
        assert list(services.store.iter_all("vectors/")) == []
        assert client.get("/v1/vectors/corpora").json()["corpora"][0]["size"] == 0


def test_matrix_search_takes_a_packed_vector(api, corpus):
    v = rows(20, 5)
    api.post(
        "/v1/vectors/corpora/p/add",
        json={"ids": [f"m{i}" for i in range(20)], "vectors": encode(v)},
    )
    base = {"corpora": [{"name": "p"}], "k": 3}
    as_packed = api.post("/v1/matrix/search", json={**base, "vector": encode(v[4])}).json()
    as_json = api.post("/v1/matrix/search", json={**base, "vector": v[4].tolist()}).json()
    assert as_packed["hits"][0]["id"] == "m4" and as_packed["hits"] == as_json["hits"]
    for bad in (packed(raw(rows(1)[:, :4]), dim=4), packed(NAN_ROW), packed(raw(rows(2)))):
        resp = api.post("/v1/matrix/search", json={**base, "vector": bad})
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_input"
    assert size(api) == 21
