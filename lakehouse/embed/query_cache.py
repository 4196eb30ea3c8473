"""A bounded LRU of query vectors in front of an embedder.

Search traffic repeats itself (the same intents, the same follow-up with ``exclude_ids``), and
embedding a query is the largest piece of CPU in a text search (a few milliseconds of
MiniLM against well under one for the shard's HNSW walk). Vectors are a pure function of
(model, text), so a replica may keep the latest ones; documents are never cached (a bulk
write is embedded once anyway).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from lakehouse.embed.base import TextEmbedder


class CachedQueries:
    """``embed_query`` through an LRU of at most ``entries`` vectors; the rest passes through.

    Thread-safe: the lock guards only the dictionary, never an embedding call, so two
    threads missing the same text may both embed it (same answer, no harm).
    """

    def __init__(self, embedder: TextEmbedder, entries: int = 4096) -> None:
        self.embedder, self.entries = embedder, entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.embed_documents(texts)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        found = self._lookup(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:  # one batch for every text not cached; bad input raises from here
            fresh = self.embedder.embed_query(missing)
            found.update(zip(missing, fresh, strict=True))
            self._store(missing, fresh)
        return np.stack([found[t] for t in texts]) if texts else self.embedder.embed_query(texts)

    def _lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
            self.hits += len(found)
            self.misses += len(set(texts)) - len(found)
        return found

    def _store(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._vectors[text] = vector.copy()  # not a view pinning the whole batch
            while len(self._vectors) > self.entries:
                self._vectors.popitem(last=False)
