"""A shard stand-in that answers after a delay, and a router over such shards."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from actors.remote.clients import RegistryClient, ShardClient
from actors.remote.corpus_router import CorpusRouter
from lakehouse.storage import open_store
from lakehouse.vectors.registry import CorpusRegistry, make_corpus


class SlowShard:
    """``search`` sleeps ``delay`` seconds, then returns ``k`` hits named after the shard."""

    def __init__(self, name: str, delay: float) -> None:
        self.name, self.delay = name, delay

    def search(self, vector: Any, k: int, **options: Any) -> dict[str, Any]:
        time.sleep(self.delay)
        hits = [
            {"id": f"{self.name}-{i}", "score": 1.0 - i / 100, "metadata": None} for i in range(k)
        ]
        return {"hits": hits, "complete": True, "generation": self.generation()}

    def search_batch(self, queries: Any, k: int, ef: int | None = None) -> list[dict[str, Any]]:
        time.sleep(self.delay)  # one wait for the whole batch, as one knn_query would be
        delay, self.delay = self.delay, 0.0
        try:
            return [self.search(q, k) for q in queries]
        finally:
            self.delay = delay

    def generation(self) -> str:
        return f"{self.name}:0"


def slow_router(
    settings: Any, delays: dict[str, float], wrap: Callable[[SlowShard], Any] = lambda s: s
) -> tuple[CorpusRouter, list[str]]:
    """A router over one-shard corpora named by ``delays``; ``wrap`` may make each an actor.

    Returns the router and a log of the shards opened, so a test can see none was called.
    """
    registry = CorpusRegistry(open_store(settings))
    for name in delays:
        registry.create(make_corpus(name, 2))
    opened: list[str] = []

    def open_shard(corpus, index):
        opened.append(corpus.name)
        return ShardClient(wrap(SlowShard(corpus.name, delays[corpus.name])))

    return CorpusRouter(RegistryClient(registry), open_shard), opened
