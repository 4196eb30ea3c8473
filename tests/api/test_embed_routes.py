"""/v1/embed and text search/add over the real app with the real in-process embedder."""

import numpy as np
import pytest

from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.vectors.packed import from_response
from tests.api.conftest import make_client


@pytest.fixture
def api_embed(settings, model_cache):
    client, services = make_client(settings)
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    with client:
        client.services = services
        yield client


def test_embed_returns_unit_vectors(api_embed):
    resp = api_embed.post("/v1/embed", json={"texts": ["forklift operator", "registered nurse"]})
    assert resp.status_code == 200
    body = resp.json()
    assert body["dim"] == 384 and body["model"] and len(body["vectors"]) == 2
    norms = np.linalg.norm(np.asarray(body["vectors"]), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)


def test_embed_answers_packed_vectors_on_request(api_embed):
    texts = ["forklift operator", "registered nurse"]
    as_json = api_embed.post("/v1/embed", json={"texts": texts}).json()
    body = api_embed.post("/v1/embed", json={"texts": texts, "encoding": "base64-f32le"}).json()
    assert body["vectors"]["encoding"] == "base64-f32le" and body["vectors"]["dim"] == 384
    packed = from_response(body["vectors"])
    assert packed.shape == (2, 384)
    assert np.allclose(packed, np.asarray(as_json["vectors"], dtype=np.float32), atol=1e-6)


@pytest.mark.parametrize(
    "body",
    [
        {"texts": []},
        {"texts": ["x"] * 257},
        {"texts": [1]},
        {"texts": "x"},
        {"texts": ["x"], "kind": "poem"},
        {"texts": ["x"], "encoding": "base64"},
    ],
)
def test_bad_embed_requests_are_400(api_embed, body):
    assert api_embed.post("/v1/embed", json=body).status_code == 400


def test_text_add_and_text_search(api_embed):
    api_embed.post("/v1/vectors/corpora", json={"name": "docs", "dim": 384})
    texts = {
        "fork": "Forklift operator moving pallets in a warehouse, OSHA certified",
        "nurse": "Registered nurse giving IV therapy on a hospital ward",
        "cook": "Line cook on the grill station for dinner service",
    }
    resp = api_embed.post(
        "/v1/vectors/corpora/docs/add", json={"ids": list(texts), "texts": list(texts.values())}
    )
    assert resp.json() == {"added": 3}
    hits = api_embed.post(
        "/v1/vectors/corpora/docs/search", json={"text": "who can drive a forklift?", "k": 3}
    ).json()["hits"]
    assert hits[0]["id"] == "fork"
    bad = api_embed.post(
        "/v1/vectors/corpora/docs/add", json={"ids": ["a", "b"], "texts": ["only one"]}
    )
    assert bad.status_code == 400
    assert api_embed.get("/v1/vectors/corpora").json()["corpora"][0]["size"] == 3


def test_dimension_mismatch_is_400_and_nothing_written(api_embed):
    api_embed.post("/v1/vectors/corpora", json={"name": "small", "dim": 8})
    resp = api_embed.post(
        "/v1/vectors/corpora/small/add", json={"ids": ["a"], "texts": ["forklift"]}
    )
    assert resp.status_code == 400
    assert api_embed.get("/v1/vectors/corpora").json()["corpora"][0]["size"] == 0


@pytest.mark.parametrize("binary", [True, False])
def test_client_embeds_to_numpy_and_adds_texts(api_embed, binary):
    from lakehouse.client import Client

    client = Client(http=api_embed, binary=binary)
    vectors = client.embed.texts(["forklift operator", "registered nurse"], kind="query")
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    client.vectors.create("docs", 384)
    client.vectors.add("docs", ["fork", "nurse"], texts=["Forklift operator", "Registered nurse"])
    assert client.vectors.search("docs", vectors[1], k=1)["hits"][0]["id"] == "nurse"
    assert client.vectors.search("docs", text="hospital nurse", k=1)["hits"][0]["id"] == "nurse"
