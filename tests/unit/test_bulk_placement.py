"""The bulk job's embedders call the Ollama of their own node (the real ``ollama`` client
against a stand-in server speaking ``/api/embed``)."""

from collections.abc import Iterator

import numpy as np
import pytest

from actors.jobs.bulk_embed import Embed
from actors.jobs.placement import NODE_OLLAMA_HOST, node_embed_config
from lakehouse.embed import EmbedConfig, open_embedder
from lakehouse.vectors.profile import CorpusProfile
from tests.fakes.ollama import FakeOllama

SHARED = "http://{node_ip}:9"  # port 9 (discard): a request there would fail the test
PROFILE = CorpusProfile(id_column="id", text_template="{name}", metadata_columns=())


@pytest.fixture
def ollama_server() -> Iterator[FakeOllama]:
    server = FakeOllama()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def config(host: str) -> EmbedConfig:
    return EmbedConfig(backend="ollama", model="nomic-embed-text", dim=8, ollama_host=host)


def test_an_embedder_calls_the_ollama_its_node_names(ollama_server: FakeOllama, monkeypatch):
    monkeypatch.setenv(NODE_OLLAMA_HOST, ollama_server.url)  # as `ray start` on that node had it
    embed = Embed(config(SHARED), PROFILE)
    out = embed({"id": np.asarray(["a", "b"]), "name": np.asarray(["welder", "driver"])})
    assert out["vector"].shape == (2, 8) and list(out["id"]) == ["a", "b"]
    (request,) = ollama_server.requests  # nomic adds its document prefix
    assert request["input"] == ["search_document: welder", "search_document: driver"]


def test_node_ip_in_the_configured_host_is_the_node_s_address(ollama_server: FakeOllama):
    port = ollama_server.url.rsplit(":", 1)[1]
    resolved = node_embed_config(config(f"http://{{node_ip}}:{port}"), {}, node_ip="127.0.0.1")
    assert resolved.ollama_host == ollama_server.url
    with open_embedder(resolved) as embedder:
        assert embedder.embed_documents(["forklift"]).shape == (1, 8)
    assert len(ollama_server.requests) == 1


def test_a_fixed_host_and_the_onnx_backend_are_left_alone():
    fixed = config("http://127.0.0.1:11434")
    assert node_embed_config(fixed, {}).ollama_host == "http://127.0.0.1:11434"
    onnx = EmbedConfig()
    assert node_embed_config(onnx, {NODE_OLLAMA_HOST: "http://127.0.0.1:1"}) is onnx
