"""Vector actors: one named shard actor per (corpus, shard), and the corpus registry actor.

Shard actors restore their index in ``__init__`` (snapshot + log replay) and are restarted
by Ray; they are threaded so searches run in parallel (the shard's readers-writer lock
keeps writes exclusive).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import ray

from actors import NAMESPACE, metrics, stateful_actor
from lakehouse.settings import Settings
from lakehouse.storage import open_store
from lakehouse.storage.factory import store_identity
from lakehouse.vectors import VectorShard
from lakehouse.vectors.board import BoardWriter
from lakehouse.vectors.registry import Corpus, CorpusRegistry

# how often a shard publishes its gauges when idle (snapshot age keeps growing)
PUBLISH_EVERY_S = 5.0


class ShardActor:
    """Remote face of one ``VectorShard``; publishes its gauges (``actors.metrics``)."""

    def __init__(self, settings: Settings, corpus: Corpus, index: int) -> None:
        store = open_store(settings)
        # an actor publishes its state on its board for the replicas' read copies
        # (actors.remote.local_reads); an in-process shard (tests) has no readers elsewhere
        in_actor = metrics.in_actor()
        board = BoardWriter(board_path(settings, corpus.name, index)) if in_actor else None
        self.shard = VectorShard(
            store,
            corpus.shard_prefix(index),
            corpus.shard_config(),
            on_applied=board.publish if board else None,
        )
        self.tags = {"corpus": corpus.name, "shard": index}
        if in_actor:  # an in-process shard has no gauges to keep fresh
            threading.Thread(target=self._publish_loop, daemon=True).start()

    def _publish_loop(self) -> None:
        while True:
            metrics.shard_stats(self.tags["corpus"], self.tags["shard"], self.shard.stats())
            time.sleep(PUBLISH_EVERY_S)

    def add(self, ids: list[str], vectors: Any, metadata: Any = None) -> int:
        added = self.shard.add(ids, vectors, metadata)
        metrics.inc("lakehouse_vector_adds", added, **self.tags)
        return added

    def delete(self, ids: list[str]) -> int:
        return self.shard.delete(ids)

    def search(self, vector: Any, k: int, **options: Any) -> dict[str, Any]:
        result = self.shard.search(vector, k, **options).to_dict()
        metrics.inc("lakehouse_vector_searches", **self.tags)
        return result

    def search_batch(self, queries: Any, k: int, ef: int | None = None) -> list[dict[str, Any]]:
        results = [r.to_dict() for r in self.shard.search_batch(queries, k, ef)]
        metrics.inc("lakehouse_vector_searches", len(results), **self.tags)  # one per query
        return results

    def contains(self, ids: list[str]) -> list[bool]:
        return self.shard.contains(ids)

    def stats(self) -> dict[str, Any]:
        return self.shard.stats()

    def generation(self) -> str:
        return self.shard.generation

    def snapshot(self) -> int:
        return self.shard.snapshot()

    def memory(self) -> dict[str, int]:
        """RSS and USS of this actor process (USS leaves out shared object-store pages)."""
        info = psutil.Process().memory_full_info()
        return {"rss": info.rss, "uss": info.uss}


class RegistryActor:
    """Remote face of ``CorpusRegistry``; deleting a corpus stops its shard actors first."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = CorpusRegistry(open_store(settings))

    def create(self, corpus: Corpus) -> tuple[Corpus, bool]:
        return self.registry.create(corpus)

    def get(self, name: str) -> Corpus:
        return self.registry.get(name)

    def list(self) -> list[Corpus]:
        return self.registry.list()

    def delete(self, name: str) -> Corpus:
        corpus = self.registry.get(name)
        for index in range(corpus.shards):
            with contextlib.suppress(ValueError):  # never started, or already gone
                ray.kill(ray.get_actor(shard_name(self.settings, name, index), NAMESPACE))
        return self.registry.delete(name)


def shard_name(settings: Settings, corpus: str, index: int) -> str:
    return f"shard-{store_identity(settings)}-{corpus}-{index}"


def board_path(settings: Settings, corpus: str, index: int) -> Path:
    """The shard's board on this machine (``lakehouse.vectors.board``)."""
    return settings.boards_dir / shard_name(settings, corpus, index)


# glibc's malloc raises its mmap threshold after the first large free, so the write path's
# transient buffers (a WAL segment is MBs) are then served from per-thread arenas that keep
# the memory: a fixed threshold returns them to the OS at once, and fewer arenas hold less.
SHARD_ENV = {"MALLOC_MMAP_THRESHOLD_": str(256 * 1024), "MALLOC_ARENA_MAX": "2"}


def shard_actor(settings: Settings, corpus: Corpus, index: int) -> ray.actor.ActorHandle:
    """A shard actor; threaded so searches run side by side (the shard's RW lock).

    Shards spread over the nodes that may host them (``settings.shard_resources``), so
    losing one node loses few of a corpus's shards; Ray restarts those on a surviving node.
    """
    name = shard_name(settings, corpus.name, index)
    placement = {"scheduling_strategy": "SPREAD", "resources": dict(settings.shard_resources)}
    return stateful_actor(
        ShardActor,
        name,
        settings,
        corpus,
        index,
        max_concurrency=8,
        env=SHARD_ENV,
        placement=placement,
    )


def registry_actor(settings: Settings) -> ray.actor.ActorHandle:
    return stateful_actor(RegistryActor, f"corpora-{store_identity(settings)}", settings)
