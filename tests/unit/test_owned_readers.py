"""Readers of service-owned objects report and skip a malformed one instead of failing."""

import json

import pytest

from lakehouse.vectors.registry import CorpusRegistry, make_corpus


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"name": "x"}', json.dumps({"name": "x", "dim": -1, "space": "cosine",
                                                        "shards": 1}).encode()],
)  # fmt: skip
def test_a_malformed_corpus_definition_is_reported_and_skipped(local_store, body):
    good = make_corpus("good", 4)
    local_store.put("corpora/good.json", json.dumps(good.to_dict()).encode())
    local_store.put("corpora/bad.json", body)
    registry = CorpusRegistry(local_store)
    assert [c.name for c in registry.list()] == ["good"]
    assert len(registry.load_errors) == 1 and "corpora/bad.json" in registry.load_errors[0]
