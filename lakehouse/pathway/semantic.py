"""Text search through an injected embedder: vectors cached per (uid, version).

Vectors are computed at search time for the candidates that lack one, so writes never
wait on (or fail with) the embedder, and a replay does not re-embed the whole store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from lakehouse.errors import BadGateway
from lakehouse.pathway.events import State
from lakehouse.pathway.index import content_text
from lakehouse.pathway.search import SearchQuery
from lakehouse.pathway.trace import SearchHit

Embedder = Callable[[list[str]], np.ndarray]
"""``embed(texts) -> array (len(texts), d)`` of unit vectors (normalised again here)."""


class VectorCache:
    """Unit vectors of trace texts, keyed by uid and valid for one version."""

    def __init__(self, embed: Embedder, batch_size: int = 256) -> None:
        self.embed = embed
        self.batch_size = batch_size
        self.vectors: dict[str, tuple[int, np.ndarray]] = {}

    def missing(self, wanted: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        """The ``(uid, version)`` pairs among ``wanted`` that have no current vector."""
        out = []
        for uid, version in wanted:
            have = self.vectors.get(uid)
            if have is None or have[0] != version:
                out.append((uid, version))
        return out

    def compute(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` in batches; safe to call without the store's lock."""
        parts = [
            embed_checked(self.embed, texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def store(self, keys: Sequence[tuple[str, int]], matrix: np.ndarray) -> None:
        if len(keys) and self.vectors:
            dim = next(iter(self.vectors.values()))[1].shape[0]
            if matrix.shape[1] != dim:  # the embedder changed: old vectors are useless
                self.vectors.clear()
        for (uid, version), vec in zip(keys, matrix, strict=True):
            self.vectors[uid] = (version, vec)

    def forget(self, uid: str) -> None:
        self.vectors.pop(uid, None)

    def top(
        self, query: np.ndarray, wanted: Sequence[tuple[str, int]], k: int
    ) -> list[tuple[str, float]]:
        """The ``k`` best ``(uid, cosine)`` among ``wanted`` ``(uid, version)`` with a vector."""
        usable = []
        for uid, version in wanted:
            have = self.vectors.get(uid)
            if have is not None and have[0] == version and have[1].shape == query.shape:
                usable.append((uid, have[1]))
        if not usable:
            return []
        scores = np.stack([vec for _, vec in usable]) @ query
        k = min(k, len(usable))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(usable[i][0], float(scores[i])) for i in best]


def embed_checked(embed: Embedder, texts: list[str]) -> np.ndarray:
    """Call ``embed`` and normalise its rows; ``BadGateway`` if the answer is unusable."""
    try:
        arr = np.asarray(embed(texts), dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise BadGateway(f"embedder returned no usable array: {exc}") from None
    if arr.ndim != 2 or arr.shape[0] != len(texts) or arr.shape[1] == 0:
        raise BadGateway(f"embedder returned shape {arr.shape} for {len(texts)} texts")
    if not np.isfinite(arr).all():
        raise BadGateway("embedder returned NaN or infinite values")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return arr / norms


def semantic_search(
    lock: AbstractContextManager[Any],
    pick: Callable[[], list[State]],
    cache: VectorCache,
    query: SearchQuery,
) -> list[SearchHit]:
    """Rank ``pick()``'s states by cosine to ``query.text``, embedding what is missing.

    The embedder runs without ``lock`` held; candidates are picked again afterwards, so a
    trace changed meanwhile is ranked only if its vector matches its current version.
    """
    assert query.text is not None
    with lock:
        states = pick()
        pending = cache.missing([(s.uid, s.version) for s in states])
        by_uid = {s.uid: s for s in states}
        texts = [content_text(by_uid[uid].content_json) for uid, _ in pending]
    matrix = cache.compute([query.text, *texts])
    with lock:
        if pending:
            cache.store(pending, matrix[1:])
        states = pick()
        hits = cache.top(matrix[0], [(s.uid, s.version) for s in states], query.k)
        by_uid = {s.uid: s for s in states}
        return [SearchHit(by_uid[uid].to_trace(), score) for uid, score in hits]
