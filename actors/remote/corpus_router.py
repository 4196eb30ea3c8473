"""The corpus router: ids hash to shards; a search fans out to every shard at once.

Used by each Serve replica, the bulk job and the tests (no state beyond handle caches and
the generations it has seen). Writes are validated here in full before any shard is
called, so a bad batch never reaches one shard and not another. Every search answer
carries its corpus's generation (``lakehouse.vectors.api``), which the router remembers, so
a cache above can tell whether an answer is still current without searching again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from actors.remote.batcher import NaturalBatcher
from actors.remote.clients import RegistryClient, ShardClient
from actors.remote.facade import LATE, settle
from lakehouse.errors import NotFound, Unavailable
from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore
from lakehouse.vectors import checks as check
from lakehouse.vectors.api import ABSENT, CorpusRegistryApi, Generation, SearchRequest
from lakehouse.vectors.filters import compile_filter
from lakehouse.vectors.registry import Corpus

ShardOpener = Callable[[Corpus, int], ShardClient]
GENERATION_TIMEOUT_S = 2.0


def shard_of(item: str, shards: int) -> int:
    """Stable across processes and restarts (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "big") % shards


class CorpusRouter:
    """Adds, deletes and searches over all shards of a corpus."""

    def __init__(
        self, registry: CorpusRegistryApi, open_shard: ShardOpener, max_batch: int = 10_000
    ) -> None:
        self.registry = registry
        self.open_shard = open_shard
        self.max_batch = max_batch
        self._corpora: dict[str, Corpus] = {}
        self._shards: dict[tuple[str, int], ShardClient] = {}
        self._seen: dict[str, tuple[Generation, float]] = {}  # generation, when learned
        self.on_forget: Callable[[str], Any] = lambda name: None
        self.batcher = NaturalBatcher(self._search_batch)

    async def corpus(self, name: str, fresh: bool = False) -> Corpus:
        if fresh or name not in self._corpora:
            self._corpora[name] = await self.registry.get(name)
        return self._corpora[name]

    def forget(self, name: str) -> None:
        self._corpora.pop(name, None)
        self._seen.pop(name, None)
        self.on_forget(name)
        for key in [k for k in self._shards if k[0] == name]:
            del self._shards[key]

    async def add(self, name: str, ids: list[str], vectors: Any, metadata: Any = None) -> int:
        corpus = await self.corpus(name)
        ids = check.check_ids(ids, self.max_batch)
        array = check.check_vectors(vectors, len(ids), corpus.dim)
        meta = check.check_metadata(metadata, len(ids))
        groups = _split(ids, corpus.shards)
        calls = []
        for shard, rows in groups.items():
            if len(rows) == len(ids):  # the whole batch goes to one shard: no copies
                calls.append(self._call(corpus, shard, "add", ids, array, meta))
                continue
            part_ids, part_meta = [ids[i] for i in rows], [meta[i] for i in rows]
            calls.append(self._call(corpus, shard, "add", part_ids, array[rows], part_meta))
        try:
            return sum(await asyncio.gather(*calls))
        finally:  # even a failed add may have reached some shards
            self._seen.pop(name, None)

    async def delete(self, name: str, ids: list[str]) -> int:
        corpus = await self.corpus(name)
        ids = check.check_ids(ids, self.max_batch)
        groups = _split(ids, corpus.shards)
        calls = [
            self._call(corpus, s, "delete", [ids[i] for i in rows]) for s, rows in groups.items()
        ]
        try:
            return sum(await asyncio.gather(*calls))
        finally:
            self._seen.pop(name, None)

    async def contains(self, name: str, ids: list[str]) -> list[bool]:
        corpus = await self.corpus(name)
        groups = _split(ids, corpus.shards)
        answers = await asyncio.gather(
            *(
                self._call(corpus, s, "contains", [ids[i] for i in rows])
                for s, rows in groups.items()
            )
        )
        found = [False] * len(ids)
        for rows, flags in zip(groups.values(), answers, strict=True):
            for i, flag in zip(rows, flags, strict=True):
                found[i] = flag
        return found

    async def search(self, name: str, vector: Any, k: int, **options: Any) -> dict[str, Any]:
        """Top ``k`` over all shards, searched in parallel; ``complete`` if ``k`` were found.

        A plain search (no filter, exclusions, allow-list or ``ef``) is batched with the
        plain searches of the same corpus and ``k`` that arrive while one is in flight.
        """
        if not _plain(options):
            return (await self.search_many([(name, vector, k, options)], None))[0]
        corpus = await self.corpus(name)
        query = check.check_query(vector, corpus.dim)[0]  # refused alone, never in a batch
        check.check_k(k, 1000)
        return await self.batcher.submit((name, k), query)

    async def _search_batch(self, key: tuple[str, int], queries: list[np.ndarray]) -> list:
        """One ``search_batch`` call per shard for every query, merged query by query."""
        name, k = key
        corpus = await self.corpus(name)
        stacked = np.stack(queries)
        calls = [
            self._shard(corpus, s).submit("search_batch", stacked, k) for s in range(corpus.shards)
        ]
        parts = await settle(calls, None)
        if any(isinstance(p, BaseException) for p in parts):
            # a shard restarting, the corpus gone or changed: each query on its own path,
            # which refreshes the corpus and raises each caller's own error
            return await asyncio.gather(
                *(self._search_alone(name, q, k) for q in queries),
                return_exceptions=True,
            )
        merged = [_merge([p[i] for p in parts], k) for i in range(len(queries))]
        self._seen[name] = (merged[-1]["generation"], time.monotonic())
        return merged

    async def search_many(
        self, requests: Sequence[SearchRequest], timeout_s: float | None
    ) -> list[dict[str, Any] | None]:
        """Several corpus searches at once, under one deadline.

        Each request is ``(corpus, vector, k, options)``; all are checked before any shard
        is called. Every shard call is started before any is waited for, and all are
        waited for together. A corpus whose shards did not all answer within ``timeout_s``
        (None: no deadline) gets None; the others get ``{"hits", "complete", "generation"}``.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        plans = [await self._plan(*request) for request in requests]
        answers = await self._run_plans(plans, timeout_s)
        out: list[dict[str, Any] | None] = []
        for request, plan, parts in zip(requests, plans, answers, strict=True):
            if any(isinstance(p, Unavailable) for p in parts):
                await self._refresh(plan[0].name)
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                plan = await self._plan(*request)
                parts = (await self._run_plans([plan], left))[0]
            merged = _merge(parts, request[2])
            if merged is not None:
                self._seen[plan[0].name] = (merged["generation"], time.monotonic())
            out.append(merged)
        return out

    async def _search_alone(self, name: str, query: np.ndarray, k: int) -> dict[str, Any]:
        return (await self.search_many([(name, query, k, {})], None))[0]

    async def generations(
        self, names: Sequence[str], max_age_s: float
    ) -> dict[str, Generation | None]:
        """Each corpus's generation: as last seen if at most ``max_age_s`` old, else asked
        of every shard at once. None where a shard did not answer (unknown)."""
        now = time.monotonic()
        out: dict[str, Generation | None] = {}
        stale: list[Corpus] = []
        for name in dict.fromkeys(names):
            seen = self._seen.get(name)
            if seen is not None and now - seen[1] <= max_age_s:
                out[name] = seen[0]
                continue
            try:
                stale.append(await self.corpus(name))
            except NotFound:
                out[name] = ABSENT
        if stale:
            out.update(await self._ask_generations(stale))
        return out

    async def _ask_generations(self, corpora: list[Corpus]) -> dict[str, Generation | None]:
        calls = [self._shard(c, s).submit("generation") for c in corpora for s in range(c.shards)]
        answers = iter(await settle(calls, GENERATION_TIMEOUT_S))
        out: dict[str, Generation | None] = {}
        for corpus in corpora:
            parts = [next(answers) for _ in range(corpus.shards)]
            if any(p is LATE or isinstance(p, BaseException) for p in parts):
                out[corpus.name] = None
                continue
            out[corpus.name] = tuple(parts)
            self._seen[corpus.name] = (out[corpus.name], time.monotonic())
        return out

    async def _plan(self, name: str, vector: Any, k: int, options: dict[str, Any]) -> tuple:
        """The corpus and each shard's ``(query, k, options)``, checked before any call."""
        corpus = await self.corpus(name)
        query = check.check_query(vector, corpus.dim)[0]
        check.check_k(k, 1000)
        compile_filter(options.get("filter"))  # refuse a bad filter before fanning out
        per_shard = {s: options for s in range(corpus.shards)}
        if options.get("allow_ids") is not None:  # each shard needs only its own allowed ids
            allowed = _split(list(options["allow_ids"]), corpus.shards)
            per_shard = {
                s: {**options, "allow_ids": [options["allow_ids"][i] for i in rows]}
                for s, rows in allowed.items()
            }
        return corpus, query, k, per_shard

    async def _run_plans(self, plans: list[tuple], timeout_s: float | None) -> list[list]:
        calls = [
            self._shard(corpus, s).submit("search", query, k, **kw)
            for corpus, query, k, per_shard in plans
            for s, kw in per_shard.items()
        ]
        settled = iter(await settle(calls, timeout_s))
        return [[next(settled) for _ in plan[3]] for plan in plans]

    async def sizes(self, name: str) -> int:
        corpus = await self.corpus(name)
        stats = await asyncio.gather(
            *(self._call(corpus, s, "stats") for s in range(corpus.shards))
        )
        return sum(s["count"] for s in stats)

    async def _call(self, corpus: Corpus, index: int, method: str, *args: Any, **kw: Any) -> Any:
        shard = self._shard(corpus, index)
        try:
            return await getattr(shard, method)(*args, **kw)
        except Unavailable:
            await self._refresh(corpus.name)
            return await getattr(self._shard(corpus, index), method)(*args, **kw)

    async def _refresh(self, name: str) -> None:
        """A shard actor is gone: the corpus was deleted (NotFound), or it is restarting."""
        self.forget(name)
        await self.corpus(name, fresh=True)

    def _shard(self, corpus: Corpus, index: int) -> ShardClient:
        key = (corpus.name, index)
        if key not in self._shards:
            self._shards[key] = self.open_shard(corpus, index)
        return self._shards[key]


def _plain(options: dict[str, Any]) -> bool:
    """No option that changes what a shard searches (an empty allow-list allows nothing)."""
    return all(v is None or (key == "exclude_ids" and not v) for key, v in options.items())


def _merge(parts: list[Any], k: int) -> dict[str, Any] | None:
    """The shards' answers as one top ``k``; None if one was late; a shard's error raised."""
    if any(p is LATE for p in parts):
        return None
    for part in parts:
        if isinstance(part, BaseException):
            raise part
    hits = sorted((h for p in parts for h in p["hits"]), key=lambda h: -h["score"])[:k]
    return {
        "hits": hits,
        "complete": len(hits) == k,
        "generation": tuple(p["generation"] for p in parts),
    }


def _split(ids: list[str], shards: int) -> dict[int, np.ndarray]:
    groups: dict[int, list[int]] = {}
    for i, item in enumerate(ids):
        groups.setdefault(shard_of(item, shards), []).append(i)
    return {s: np.asarray(rows) for s, rows in groups.items()}


def local_router(settings: Settings, store: ObjectStore) -> CorpusRouter:
    """A router over in-process shards (one object per shard, kept for the process)."""
    from actors.vectors import ShardActor
    from lakehouse.vectors.registry import CorpusRegistry

    shards: dict[tuple[str, int], ShardClient] = {}

    def open_shard(corpus: Corpus, index: int) -> ShardClient:
        key = (corpus.name, index)
        if key not in shards:
            shards[key] = ShardClient(ShardActor(settings, corpus, index))
        return shards[key]

    router = CorpusRouter(RegistryClient(CorpusRegistry(store)), open_shard)
    router.on_forget = lambda name: [shards.pop(k) for k in list(shards) if k[0] == name]
    return router


def remote_router(settings: Settings, store: ObjectStore | None = None) -> CorpusRouter:
    """A router over the corpus registry actor and the shard actors; with
    ``local_read_bytes``, searches of the shards on this machine are answered from read
    copies in this process while they are current (``actors.remote.local_reads``)."""
    from actors.remote.local_reads import LocalReads
    from actors.vectors import registry_actor, shard_actor
    from lakehouse.storage import open_store

    registry = RegistryClient(registry_actor(settings))
    if not settings.local_read_bytes:
        return CorpusRouter(
            registry, lambda corpus, index: ShardClient(shard_actor(settings, corpus, index))
        )
    reads = LocalReads(settings, store or open_store(settings))
    router = CorpusRouter(
        registry,
        lambda corpus, index: reads.open(corpus, index, shard_actor(settings, corpus, index)),
    )
    router.on_forget = reads.forget
    return router
