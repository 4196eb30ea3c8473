"""The replica's LRU of query vectors: same answers as the embedder, fewer model calls."""

from __future__ import annotations

import numpy as np
import pytest

from lakehouse.embed.query_cache import CachedQueries
from lakehouse.errors import InvalidInput


class CountingEmbedder:
    """A deterministic stand-in that records each batch it was asked to embed."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed_query(self, texts):
        if not texts:
            raise InvalidInput("texts must not be empty", field="texts")
        self.batches.append(list(texts))
        return np.stack([self._vector(t) for t in texts])

    def embed_documents(self, texts):
        self.batches.append(["doc:" + t for t in texts])
        return np.stack([self._vector(t) for t in texts])

    @staticmethod
    def _vector(text: str) -> np.ndarray:
        rng = np.random.default_rng(abs(hash(text)) % 2**32)
        vector = rng.standard_normal(8).astype(np.float32)
        return vector / np.linalg.norm(vector)


def test_a_repeated_query_is_not_embedded_again_and_answers_the_same():
    inner = CountingEmbedder()
    cached = CachedQueries(inner, entries=10)
    first = cached.embed_query(["forklift", "nurse"])
    again = cached.embed_query(["nurse", "welder", "forklift", "welder"])
    assert inner.batches == [["forklift", "nurse"], ["welder"]]  # only the new text, once
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[2], first[0])
    np.testing.assert_array_equal(
        again, inner.embed_query(["nurse", "welder", "forklift", "welder"])
    )
    assert (cached.hits, cached.misses) == (2, 3)


def test_the_oldest_query_leaves_first():
    inner = CountingEmbedder()
    cached = CachedQueries(inner, entries=2)
    cached.embed_query(["a"])
    cached.embed_query(["b"])
    cached.embed_query(["a"])  # a is now the newest
    cached.embed_query(["c"])  # b goes
    inner.batches.clear()
    cached.embed_query(["a", "c"])
    cached.embed_query(["b"])
    assert inner.batches == [["b"]]


def test_an_answer_mutated_by_a_caller_does_not_change_the_cache():
    cached = CachedQueries(CountingEmbedder(), entries=4)
    answer = cached.embed_query(["x"])
    expected = answer.copy()
    answer[0] *= 0
    np.testing.assert_array_equal(cached.embed_query(["x"]), expected)


def test_documents_and_bad_input_pass_through_uncached():
    inner = CountingEmbedder()
    cached = CachedQueries(inner, entries=4)
    cached.embed_documents(["x"])
    cached.embed_documents(["x"])
    assert inner.batches == [["doc:x"], ["doc:x"]]
    with pytest.raises(InvalidInput):
        cached.embed_query([])
    assert (cached.hits, cached.misses) == (0, 0)
