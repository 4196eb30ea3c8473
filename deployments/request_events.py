"""Request events on their way to the observer actor, sent in batches.

One actor call per request cost every request a task and a round trip on the replica's
loop; batching sends whatever gathered within ``linger_s`` (at most ``max_batch`` per call)
in one ``emit_many``. Best effort: failures are counted and logged, never raised, and past
``max_pending`` queued events new ones are dropped (and counted) while the observer is stuck.

Each ``emit_many`` is a durable put in the object store (plus its share of the ring's
pruning), about 6 ms of the observer's CPU on the benchmark machine whatever the batch's
size. At a 50 ms linger a replica under steady load paid that 20 times a second: 2.3 ms of
CPU per search in the sequential benchmark (docs/benchmarks.md). A 250 ms linger caps it at
4 puts a second per replica. The price: a request shows in ``/v1/observer/events`` up to a
quarter second after its response, and a replica that dies loses at most that much of its
request events (never a response).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("lakehouse.access")


class EventBatches:
    def __init__(
        self, *, linger_s: float = 0.25, max_batch: int = 500, max_pending: int = 10_000
    ) -> None:
        self.linger_s = linger_s
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.failures = 0  # events not recorded (dropped or failed)
        self._pending: list[tuple] = []
        self._observer: Any = None
        self._task: asyncio.Task | None = None

    def add(self, observer: Any, event: tuple) -> None:
        """Queue ``(kind, data, trace_id, ts)`` for ``observer`` (a ``Facade``)."""
        if len(self._pending) >= self.max_pending:
            self._failed(1, "queue full")
            return
        self._observer = observer
        self._pending.append(event)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        # the linger comes before every call, not only the first: under steady load the
        # events of one call's round trip would otherwise go at once in the next, and a
        # replica would send one durable put per round trip instead of per linger
        while self._pending:
            if len(self._pending) < self.max_batch:
                await asyncio.sleep(self.linger_s)
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                await self._observer.emit_many(batch)
            except Exception as exc:  # observation is best-effort: counted, logged, never raised
                self._failed(len(batch), type(exc).__name__)

    def _failed(self, count: int, why: str) -> None:
        first = self.failures == 0
        self.failures += count
        if first or self.failures // 1000 != (self.failures - count) // 1000:
            log.warning("request events not recorded (%d so far): %s", self.failures, why)
