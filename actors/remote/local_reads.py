"""Searches answered inside the replica, from read copies of the shards on its machine.

A search through a shard actor costs a Ray call (3.9-5.6 ms p50 from a driver, against a
0.2 ms ``knn_query``: docs/benchmarks.md). ``LocalReadShard`` is the router's face of one
shard that answers ``search``, ``search_batch`` and ``generation`` from a
``ShardFollower`` when the follower's copy is at exactly the state the live shard has
published on its board, and sends everything else, and every search the copy cannot answer,
to the actor as before. Writes always go to the actor (the only writer and the log's owner).

A copy that is behind starts a catch-up in a worker thread (one at a time per replica);
searches go to the actor until it is done. Copies live within ``local_read_bytes`` per
replica; a shard on another machine has no board here and is always asked.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ray

from actors import metrics
from actors.remote.clients import ShardClient
from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore
from lakehouse.vectors.board import BoardReader
from lakehouse.vectors.follower import Budget, ShardFollower
from lakehouse.vectors.registry import Corpus, corpus_key, read_corpus

SNAPSHOT_TIMEOUT_S = 120.0
LOCAL_METHODS = ("search", "search_batch", "generation")
# one catch-up at a time per replica: a copy's inserts take CPU from the searches it serves
_CATCH_UP = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-copy")


class LocalReadShard(ShardClient):
    """``ShardClient`` over the actor, answering reads from the follower when it is current."""

    def __init__(self, handle: Any, follower: ShardFollower, tags: dict[str, Any]) -> None:
        super().__init__(handle)
        self.follower = follower
        self.tags = tags
        self.local_answers = 0  # searches this client answered from the copy

    def submit(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if method in LOCAL_METHODS:
            answered = self._answer(method, args, kwargs)
            if answered is not None:
                return answered
        return super().submit(method, *args, **kwargs)

    async def search(self, vector: Any, k: int, **options: Any) -> dict[str, Any]:
        answered = self._answer("search", (vector, k), options)
        return await (answered if answered is not None else super().search(vector, k, **options))

    async def search_batch(
        self, queries: Any, k: int, ef: int | None = None
    ) -> list[dict[str, Any]]:
        answered = self._answer("search_batch", (queries, k, ef), {})
        return await (answered if answered is not None else super().search_batch(queries, k, ef))

    async def generation(self) -> str:
        answered = self._answer("generation", (), {})
        return await (answered if answered is not None else super().generation())

    def _answer(self, method: str, args: tuple, kwargs: dict) -> asyncio.Future | None:
        """A settled future with the local answer, or None (ask the actor)."""
        state = self.follower.state()
        copy = self.follower.current(state)
        if copy is None:
            if self.follower.due(state):
                self._start_catch_up()
            if method == "generation" and state is not None:  # the board alone knows it
                return _settled(f"{state.incarnation}:{state.seq}", None)
            return None
        try:  # inline on the loop: no catch-up runs while the copy is current (``busy``)
            if method == "search":
                answer: Any = copy.search(*args, **kwargs).to_dict()
            elif method == "search_batch":
                answer = [r.to_dict() for r in copy.search_batch(*args, **kwargs)]
            else:
                answer = copy.generation
        except Exception as exc:  # the caller's own error (a bad k, a bad filter), as the
            return _settled(None, exc)  # shard would have raised it
        searches = len(answer) if method == "search_batch" else int(method == "search")
        if searches:
            self.local_answers += searches
            metrics.inc("lakehouse_vector_local_searches", searches, **self.tags)
        return _settled(answer, None)

    def _start_catch_up(self) -> None:
        self.follower.busy = True  # cleared by the catch-up itself, in its thread
        _CATCH_UP.submit(self.follower.catch_up)


class LocalReads:
    """One replica's followers, one per shard, within one byte budget."""

    def __init__(self, settings: Settings, store: ObjectStore) -> None:
        self.settings = settings
        self.store = store
        self.budget = Budget(settings.local_read_bytes)
        self.followers: dict[tuple[str, int], ShardFollower] = {}

    def open(self, corpus: Corpus, index: int, handle: Any) -> LocalReadShard:
        from actors.vectors import board_path

        key = (corpus.name, index)
        follower = self.followers.get(key)
        if follower is None:
            follower = ShardFollower(
                self.store,
                corpus.shard_prefix(index),
                corpus.shard_config(),
                BoardReader(board_path(self.settings, corpus.name, index)),
                lambda: ray.get(handle.snapshot.remote(), timeout=SNAPSHOT_TIMEOUT_S),
                self.budget,
                # the definition as stored now: this replica's cached one may lag behind
                lambda: read_corpus(self.store, corpus_key(corpus.name)).shard_config(),
            )
            self.followers[key] = follower
        return LocalReadShard(handle, follower, {"corpus": corpus.name, "shard": index})

    def forget(self, name: str) -> None:
        for key in [k for k in self.followers if k[0] == name]:
            self.forget_one(key)

    def forget_one(self, key: tuple[str, int]) -> None:
        follower = self.followers.pop(key, None)
        if follower is not None:
            follower.close()


def _settled(result: Any, error: BaseException | None) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
    return future
