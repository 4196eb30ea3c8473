"""Natural batching: calls that arrive while one is in flight go out together as the next.

A lone call is sent at once (no timer, so a sequential client waits for nothing); under
concurrency, everything that queued behind the call in flight is sent as one batch when it
returns. ``serve.batch`` does the same inside Serve replicas, but the corpus router also
runs outside Serve (the bulk job, the tests' in-process services) and needs batches grouped
by a key (corpus, ``k``, ``ef``); this is the few lines that takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

RunBatch = Callable[[Hashable, list[Any]], Awaitable[Sequence[Any]]]


class NaturalBatcher:
    """Groups ``submit(key, item)`` calls into ``run(key, items)`` calls, one in flight per key.

    ``run`` returns one answer per item, in order; an answer that is an exception is raised
    to that item's caller alone, an exception raised by ``run`` to every caller of the batch.

    Args:
        run: sends one batch and answers each of its items.
        max_batch: the most items one batch carries.
    """

    def __init__(self, run: RunBatch, max_batch: int = 64) -> None:
        self.run = run
        self.max_batch = max_batch
        self._queued: dict[Hashable, list[tuple[Any, asyncio.Future]]] = {}
        self._draining: set[Hashable] = set()
        self.batches = 0  # how many batches were sent (what a test or a bench reads)

    async def submit(self, key: Hashable, item: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._queued.setdefault(key, []).append((item, future))
        if key not in self._draining:
            self._draining.add(key)
            asyncio.get_running_loop().create_task(self._drain(key))
        return await future

    async def _drain(self, key: Hashable) -> None:
        try:
            while queued := self._queued.get(key):
                batch = queued[: self.max_batch]
                del queued[: self.max_batch]
                if not queued:
                    del self._queued[key]
                await self._send(key, batch)
        finally:
            self._draining.discard(key)

    async def _send(self, key: Hashable, batch: list[tuple[Any, asyncio.Future]]) -> None:
        self.batches += 1
        try:
            answers = await self.run(key, [item for item, _ in batch])
        except Exception as exc:  # the batch failed as a whole: every caller hears why
            answers = [exc] * len(batch)
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done() or future.get_loop().is_closed():  # the caller went away
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
