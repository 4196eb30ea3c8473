"""The in-memory side of a shard: an hnswlib index plus id ↔ label maps and metadata.

Not thread-safe by itself; ``VectorShard`` holds the locks. Labels of deleted ids are
reused (hnswlib un-deletes and overwrites a re-added label), so churn does not grow it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from lakehouse.vectors.filters import compile_filter
from lakehouse.vectors.persist import WalRecord

EXACT_FALLBACK_MAX = 200_000
EXACT_ALLOW_MAX = 20_000  # an allow-list this small is searched exactly (cheap and exact)


class HnswTable:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.index = hnswlib.Index(space=config.space, dim=config.dim)
        self.index.init_index(
            max_elements=config.initial_capacity, ef_construction=config.ef_construction, M=config.M
        )
        self.index.set_ef(config.ef_search)
        self.index.set_num_threads(config.threads)
        self.labels: dict[str, int] = {}
        self.ids: list[str | None] = []  # label -> id (None: free)
        self.meta: list[dict[str, Any] | None] = []
        self.free: list[int] = []

    @property
    def count(self) -> int:
        return len(self.labels)

    @property
    def capacity(self) -> int:
        return self.index.get_max_elements()

    def has(self, item: str) -> bool:
        return item in self.labels

    def apply(self, record: WalRecord) -> None:
        if record.op == "add":
            self._add(record.ids, record.vectors, record.metadata or [None] * len(record.ids))
        elif record.op == "delete":
            self._delete(record.ids)

    def _add(self, ids: list[str], vectors: np.ndarray, meta: list) -> None:
        labels = [self._label_for(i) for i in ids]
        needed = max(labels) + 1
        if needed > self.capacity:
            self.index.resize_index(max(needed, 2 * self.capacity))
        self.index.add_items(vectors, np.asarray(labels, dtype=np.int64))
        for item, label, m in zip(ids, labels, meta, strict=True):
            self.labels[item] = label
            self.ids[label] = item
            self.meta[label] = m

    def _label_for(self, item: str) -> int:
        if item in self.labels:
            return self.labels[item]
        if self.free:
            return self.free.pop()
        self.ids.append(None)
        self.meta.append(None)
        return len(self.ids) - 1

    def _delete(self, ids: list[str]) -> None:
        for item in ids:
            label = self.labels.pop(item, None)
            if label is None:
                continue
            self.index.mark_deleted(label)
            self.ids[label] = None
            self.meta[label] = None
            self.free.append(label)

    def search(
        self,
        query: np.ndarray,
        k: int,
        ef: int | None,
        exclude: set,
        spec: Any,
        allow: set | None = None,
    ) -> list:
        if not self.labels:
            return []
        predicate = compile_filter(spec)
        blocked = {self.labels[i] for i in exclude if i in self.labels}
        if allow is not None:  # an id allow-list: only these labels may be returned
            pool = {self.labels[i] for i in allow if i in self.labels} - blocked
            if len(pool) <= EXACT_ALLOW_MAX:
                return self._exact(query, k, lambda lb: _passes(self.meta, predicate, lb), pool)
            blocked = blocked | (set(self.labels.values()) - pool)
        if ef is not None:
            self.index.set_ef(ef)  # process-wide in hnswlib: restored right after
        try:
            return self._knn(query, k, predicate, blocked)
        finally:
            if ef is not None:
                self.index.set_ef(self.config.ef_search)

    def search_batch(self, queries: np.ndarray, k: int, ef: int | None) -> list[list]:
        """Unfiltered top ``k`` of each row of ``queries``, in one ``knn_query``."""
        if not self.labels:
            return [[] for _ in range(len(queries))]
        if ef is not None:
            self.index.set_ef(ef)
        try:
            labels, dists = self.index.knn_query(queries, k=min(k, self.count))
        except RuntimeError:  # HNSW reached fewer than k for some row: each row on its own
            return [self._knn(row, k, None, set()) for row in queries]
        finally:
            if ef is not None:
                self.index.set_ef(self.config.ef_search)
        return [self._hits(row, dist) for row, dist in zip(labels, dists, strict=True)]

    def _knn(self, query: np.ndarray, k: int, predicate: Any, blocked: set) -> list:
        if predicate is None and not blocked:
            try:
                labels, dists = self.index.knn_query(query, k=min(k, self.count))
                return self._hits(labels[0], dists[0])
            except RuntimeError:  # HNSW reached fewer than k (many equal vectors): go exact
                return self._exact(query, k, lambda label: True)

        def allowed(label: int) -> bool:
            return label not in blocked and (predicate is None or predicate(self.meta[label] or {}))

        try:
            labels, dists = self.index.knn_query(query, k=k, filter=allowed)
            return self._hits(labels[0], dists[0])
        except RuntimeError:  # fewer than k qualify among what HNSW reached: go exact
            return self._exact(query, k, allowed)

    def _exact(self, query: np.ndarray, k: int, allowed: Any, pool: Any = None) -> list:
        pool = self.labels.values() if pool is None else sorted(pool)
        candidates = [lb for lb in pool if allowed(lb)][:EXACT_FALLBACK_MAX]
        if not candidates:
            return []
        vectors = np.asarray(self.index.get_items(candidates), dtype=np.float32)
        dists = _distances(self.config.space, vectors, query)
        order = np.argsort(dists)[:k]
        return self._hits(np.asarray(candidates)[order], dists[order])

    def _hits(self, labels: Any, dists: Any) -> list[dict[str, Any]]:
        return [
            {"id": self.ids[int(lb)], "score": _score(self.config.space, float(d)),
             "metadata": self.meta[int(lb)]}
            for lb, d in zip(labels, dists, strict=True)
        ]  # fmt: skip

    def save(self, path: Path) -> dict[str, Any]:
        self.index.save_index(str(path))
        return {"ids": self.ids, "metadata": self.meta}

    def load(self, path: Path, state: dict[str, Any]) -> None:
        capacity = max(self.config.initial_capacity, len(state["ids"]))
        self.index = hnswlib.Index(space=self.config.space, dim=self.config.dim)
        self.index.load_index(str(path), max_elements=capacity)
        self.index.set_ef(self.config.ef_search)
        self.index.set_num_threads(self.config.threads)
        self.ids = list(state["ids"])
        self.meta = list(state["metadata"])
        self.labels = {item: lb for lb, item in enumerate(self.ids) if item is not None}
        self.free = [lb for lb, item in enumerate(self.ids) if item is None]


def _passes(meta: list, predicate: Any, label: int) -> bool:
    return predicate is None or predicate(meta[label] or {})


def _distances(space: str, vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    if space == "l2":
        return ((vectors - query) ** 2).sum(axis=1)
    if space == "cosine":
        norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        return 1.0 - (vectors @ query) / np.maximum(norms, 1e-12)
    return 1.0 - vectors @ query


def _score(space: str, distance: float) -> float:
    """Higher is better: cosine/ip similarity, negative squared L2 distance."""
    return -distance if space == "l2" else 1.0 - distance
