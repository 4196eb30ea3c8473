"""One thread that interrupts DuckDB cursors past their deadline.

Queries run on the caller's thread (no hand-off per query); the watchdog only wakes for
the nearest deadline, so the time limit costs a heap push and a pop per query.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Any


class Watchdog:
    """``watch(cursor, seconds)`` → token; ``release(token)`` → True if it had fired."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._live: dict[int, Any] = {}
        self._fired: set[int] = set()
        self._ids = itertools.count()
        threading.Thread(target=self._loop, name="sql-watchdog", daemon=True).start()

    def watch(self, cursor: Any, seconds: float) -> int:
        token = next(self._ids)
        with self._cond:
            self._live[token] = cursor
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            self._cond.notify()
        return token

    def release(self, token: int) -> bool:
        with self._cond:
            self._live.pop(token, None)
            if token in self._fired:
                self._fired.discard(token)
                return True
            return False

    def _loop(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # released before its deadline
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                self._fired.add(token)
                self._live.pop(token).interrupt()
