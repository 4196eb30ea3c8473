"""The matrix search: one query fanned out over several corpora at once, merged, explained.

``MatrixSearch`` is typed against ``VectorRouterApi`` (``lakehouse.vectors.api``), so it runs
over in-process shards, shard actors, or a fake in tests. Every corpus is searched at the
same time under the query's timeout; a corpus that misses it is left out and named in
``partial``. Answers are cached with the generations of the corpora they cover, and a hit
is served only while those are current (see ``cache.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lakehouse.errors import InvalidInput, TemporarilyUnavailable
from lakehouse.matrix.cache import QueryCache, current
from lakehouse.matrix.fusion import FUSIONS, K_RRF, fuse
from lakehouse.matrix.playbook import Playbook, PlaybookConfig, Record
from lakehouse.storage import ObjectStore
from lakehouse.vectors.api import Generation, VectorRouterApi

MAX_WEIGHT = 10.0
MAX_CORPORA = 16


@dataclass(frozen=True)
class MatrixConfig:
    """Fusion, confidence, cache and limits of the matrix search."""

    k_rrf: int = K_RRF
    # best raw cosine under this: flagged. Calibrated on all-MiniLM-L6-v2 over staffing
    # profiles (bench/matrix.py): out-of-domain best <= 0.39, in-domain best >= 0.43
    low_confidence_below: float = 0.41
    cache_entries: int = 1024
    cache_ttl_s: float = 60.0
    # a cache hit trusts a corpus generation learned at most this long ago; older ones are
    # asked of the shards again (one small call per shard), so any write is seen within it
    fresh_s: float = 0.5
    max_k: int = 1000
    max_allow_ids: int = 50_000
    playbook: PlaybookConfig = field(default_factory=PlaybookConfig)

    @classmethod
    def from_settings(cls, settings: Any) -> MatrixConfig:
        """The ``matrix_*`` and ``playbook_*`` fields of ``lakehouse.settings.Settings``."""
        playbook = PlaybookConfig(
            half_life_days=settings.playbook_half_life_days,
            similarity_threshold=settings.playbook_similarity_threshold,
            strength=settings.playbook_strength,
        )
        return cls(
            low_confidence_below=settings.matrix_low_confidence_below,
            cache_entries=settings.matrix_cache_entries,
            cache_ttl_s=settings.matrix_cache_ttl_s,
            fresh_s=settings.matrix_cache_fresh_s,
            playbook=playbook,
        )


@dataclass(frozen=True)
class MatrixQuery:
    """One matrix search; ``corpora`` is ``[(name, weight)]``."""

    corpora: Sequence[tuple[str, float]]
    text: str | None = None
    vector: Sequence[float] | None = None
    k: int = 10
    fusion: str = "rrf"
    filter: dict[str, Any] | None = None
    exclude_ids: Sequence[str] | None = None
    allow_ids: Sequence[str] | None = None
    min_score: float | None = None
    use_playbook: bool = False
    timeout_s: float = 2.0


class MatrixSearch:
    """Fan-out, fusion, filters, playbook boosts and the repeat-query cache.

    Args:
        router: the corpora (``VectorRouterApi``: ``search_many``, ``generations``, and
            ``search``/``add`` for the playbook).
        embed: async ``texts -> vectors`` for text queries and playbook records.
        store: the object store for the playbook's audit trail (None: no playbook).
        config: see ``MatrixConfig``.
        clock: seconds since the epoch, for the playbook's decay.
    """

    def __init__(
        self,
        router: VectorRouterApi,
        embed: Callable[[list[str]], Awaitable[Any]] | None = None,
        store: ObjectStore | None = None,
        config: MatrixConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.router, self.embed = router, embed
        self.config = config or MatrixConfig()
        self.cache = QueryCache(self.config.cache_entries, self.config.cache_ttl_s)
        self.playbook = (
            Playbook(router, store, self.config.playbook, clock) if store is not None else None
        )

    # -- the playbook ---------------------------------------------------------------------
    async def record(self, records: Sequence[Record], who: str) -> list[dict[str, Any]]:
        """Record outcomes (all checked before anything is written)."""
        playbook = self._playbook()
        for r in records:
            r.check()
        vectors = await self._embed([r.query for r in records])
        return await playbook.record(records, vectors, who)

    def list_records(self, limit: int = 100) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """The newest readable audit records and the unreadable ones skipped among them."""
        return self._playbook().list(limit)

    # -- search -------------------------------------------------------------------------
    async def search(self, query: MatrixQuery) -> dict[str, Any]:
        weights = self._check(query)
        key = _cache_key(query)
        cached = await self._cached(key)
        if cached is not None:
            return {**cached, "cached": True}
        vector = await self._vector(query)
        fetch = min(self.config.max_k, query.k * 2 if query.use_playbook else query.k)
        (results, token), (boosts, book_gen) = await asyncio.gather(
            self._fan_out(query, vector, list(weights), fetch), self._boosts(query, vector)
        )
        partial = [name for name, hits in results.items() if hits is None]
        found = {name: hits for name, hits in results.items() if hits is not None}
        if not found:  # nothing to answer with: a retryable 503, not an empty 200
            raise TemporarilyUnavailable(
                f"no corpus answered within {query.timeout_s * 1000:g} ms (a shard may be "
                "restarting); retry shortly"
            )
        await self._probe_boosted(query, vector, found, boosts)
        answer = self._rank(query, weights, found, boosts)
        answer["partial"] = partial
        answer["complete"] = not partial and len(answer["hits"]) == query.k
        if book_gen is not None and self.playbook is not None:
            token[self.playbook.config.corpus] = book_gen
        if not partial:
            self.cache.put(key, token, answer)
        return {**answer, "cached": False}

    async def _cached(self, key: str) -> dict[str, Any] | None:
        """The cached answer if every corpus it covers is still at its generation."""
        entry = self.cache.peek(key)
        if entry is None:
            self.cache.served(key, hit=False)
            return None
        token, answer = entry
        now = await self.router.generations(list(token), self.config.fresh_s)
        hit = current(token, now)
        self.cache.served(key, hit)
        return answer if hit else None

    def _check(self, query: MatrixQuery) -> dict[str, float]:
        if not query.corpora:
            raise InvalidInput("corpora must name at least one corpus", field="corpora")
        if len(query.corpora) > MAX_CORPORA:
            raise InvalidInput(f"at most {MAX_CORPORA} corpora per search", field="corpora")
        weights = dict(query.corpora)
        if len(weights) != len(query.corpora):
            raise InvalidInput("each corpus may appear once", field="corpora")
        if any(not 0 <= w <= MAX_WEIGHT for w in weights.values()):
            raise InvalidInput(f"weights must be in 0..{MAX_WEIGHT:g}", field="corpora")
        if not 1 <= query.k <= self.config.max_k:
            raise InvalidInput(f"k must be in 1..{self.config.max_k}", field="k")
        if query.fusion not in FUSIONS:
            raise InvalidInput(f"fusion must be one of {', '.join(FUSIONS)}", field="fusion")
        if query.allow_ids is not None and len(query.allow_ids) > self.config.max_allow_ids:
            raise InvalidInput(
                f"the allow-list has more than {self.config.max_allow_ids} ids; narrow the filter"
            )
        if (query.text is None) == (query.vector is None):
            raise InvalidInput("send exactly one of query or vector", field="query")
        if query.use_playbook and self.playbook is None:
            raise InvalidInput("no playbook is configured here", field="use_playbook")
        return weights

    async def _vector(self, query: MatrixQuery) -> np.ndarray:
        if query.vector is not None:
            return np.asarray(query.vector, dtype=np.float32)
        return np.asarray((await self._embed([query.text or ""]))[0], dtype=np.float32)

    async def _embed(self, texts: list[str]) -> Any:
        if self.embed is None:
            raise InvalidInput("text needs an embedder; send a vector instead", field="query")
        return await self.embed(texts)

    def _playbook(self) -> Playbook:
        if self.playbook is None:
            raise InvalidInput("no playbook is configured here")
        return self.playbook

    async def _fan_out(
        self, query: MatrixQuery, vector: Any, names: list[str], k: int, **extra: Any
    ) -> tuple[dict[str, list | None], dict[str, Generation]]:
        """Every corpus at once under the query's timeout; a late one maps to None. Also
        the generation each answering corpus was read at."""
        options = {**_options(query), **extra}
        requests = [(name, vector, k, options) for name in names]
        found = await self.router.search_many(requests, query.timeout_s)
        hits = {
            n: None if f is None else list(f["hits"]) for n, f in zip(names, found, strict=True)
        }
        token = {n: f["generation"] for n, f in zip(names, found, strict=True) if f is not None}
        return hits, token

    async def _boosts(
        self, query: MatrixQuery, vector: Any
    ) -> tuple[dict[str, dict[str, Any]], Generation | None]:
        if not query.use_playbook or self.playbook is None:
            return {}, None
        return await self.playbook.boosts(vector)

    async def _probe_boosted(
        self, query: MatrixQuery, vector: Any, found: dict[str, list], boosts: dict
    ) -> None:
        """Score success-boosted ids the top-k search missed, so a boost can bring them in."""
        seen = {h["id"] for hits in found.values() for h in hits}
        missing = sorted(i for i, b in boosts.items() if b["boost"] > 0 and i not in seen)
        if query.allow_ids is not None:
            allowed = set(query.allow_ids)
            missing = [i for i in missing if i in allowed]
        if not missing or not found:
            return
        missing = missing[: self.config.max_k]
        extra, _ = await self._fan_out(query, vector, list(found), len(missing), allow_ids=missing)
        for name, hits in extra.items():
            if hits:  # keep each corpus's list in raw-score order, so ranks stay meaningful
                found[name] = sorted([*found[name], *hits], key=lambda h: -float(h["score"]))

    def _rank(
        self, query: MatrixQuery, weights: dict[str, float], found: dict[str, list], boosts: dict
    ) -> dict[str, Any]:
        best_raw = max((float(h["score"]) for hits in found.values() for h in hits), default=None)
        merged = fuse(found, {n: weights[n] for n in found}, query.fusion, self.config.k_rrf)
        if query.min_score is not None:
            merged = [m for m in merged if m["fused"] >= query.min_score]
        top = max((m["fused"] for m in merged), default=0.0)
        strength = self.config.playbook.strength
        for m in merged:
            boost = boosts.get(m["id"], {"boost": 0.0, "records": []})
            m["boost"] = strength * boost["boost"] * top
            m["records"] = boost["records"]
            m["final"] = m["fused"] + m["boost"]
        merged.sort(key=lambda m: (-m["final"], m["id"]))
        low = best_raw is None or best_raw < self.config.low_confidence_below
        return {
            "hits": [_hit(m) for m in merged[: query.k]],
            "low_confidence": low,
            "best_raw_score": best_raw,
        }


def _options(query: MatrixQuery) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if query.filter:
        options["filter"] = query.filter
    if query.exclude_ids:
        options["exclude_ids"] = list(query.exclude_ids)
    if query.allow_ids is not None:
        options["allow_ids"] = list(query.allow_ids)
    return options


def _hit(m: dict[str, Any]) -> dict[str, Any]:
    best = m["contributions"][0]
    return {
        "id": m["id"],
        "score": m["final"],
        "corpus": best["corpus"],
        "metadata": m.get("metadata"),
        "explanation": {
            "corpus": best["corpus"],
            "raw_score": best["raw_score"],
            "rank": best["rank"],
            "fusion_score": m["fused"],
            "playbook_boost": m["boost"],
            "playbook_records": m["records"],
            "corpora": m["contributions"],
        },
    }


def _cache_key(query: MatrixQuery) -> str:
    """A digest of everything that shapes the answer (a text query skips the embedding)."""
    vector = None
    if query.vector is not None:
        vector = hashlib.sha256(np.asarray(query.vector, dtype=np.float32).tobytes()).hexdigest()
    allow = None
    if query.allow_ids is not None:
        allow = hashlib.sha256("\x1f".join(sorted(query.allow_ids)).encode()).hexdigest()
    parts = [
        query.text, vector, [list(c) for c in query.corpora], query.k, query.fusion,
        query.filter, sorted(query.exclude_ids or ()), allow, query.min_score,
        query.use_playbook,
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
