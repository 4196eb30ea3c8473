"""Observer events persisted in the object store, so a ring restarted on another node finds
them (``ObserverRing`` reloads its sink in ``__init__``).

Acknowledged means stored: ``write_many`` returns once its lines are in an object, so an
event the ring has acknowledged survives a killed process and a lost node. Writers are
group-committed: one put at a time carries every line queued while the previous put ran, as
``<prefix>/<time_ns>-<count>-<id>.jsonl``. A quiet ring puts one small object per emit; a busy
one puts one object per object-store round trip, however many emits queued meanwhile. Request
events already reach the ring in batches after their response (``deployments.request_events``),
so no HTTP request waits for these puts. Old batches are deleted once newer ones hold
``keep_events``, and past ``MAX_BATCHES`` objects they are merged into one.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.jsonl import iter_lines
from lakehouse.observer.sink import EventSink, _parse
from lakehouse.storage import ObjectStore

PREFIX = "observer/events"
PRUNE_EVERY = 16  # puts between two listings for pruning
MAX_BATCHES = 64  # past this many objects the batches are merged into one (a quiet ring
# puts one small object per emit: without merging a restart would read thousands of objects)


@dataclass
class _Queued:
    """One writer's lines, and what became of the put that carried them."""

    lines: Sequence[bytes]
    done: bool = False
    error: Exception | None = field(default=None)


class ObjectStoreSink(EventSink):
    """Batches of event lines as objects under ``prefix`` in ``store``."""

    def __init__(
        self,
        store: ObjectStore,
        prefix: str = PREFIX,
        *,
        keep_events: int = 10_000,
        max_line_bytes: int = 1 << 20,
    ) -> None:
        self.store, self.prefix = store, prefix.rstrip("/")
        self.keep_events, self.max_line_bytes = keep_events, max_line_bytes
        self._lock = threading.Lock()  # guards the queue
        self._put_lock = threading.Lock()  # one put at a time: the group commit
        self._queue: list[_Queued] = []
        self._puts = 0

    def write(self, line: bytes) -> None:
        self.write_many([line])

    def write_many(self, lines: Sequence[bytes]) -> None:
        """Store ``lines``; returns once they are in an object (raises if that put failed)."""
        mine = _Queued(lines)
        with self._lock:
            self._queue.append(mine)
        with self._put_lock:
            if not mine.done:  # no put carried them while this writer waited: lead one
                self._put_queued()
        if mine.error is not None:
            raise mine.error

    def _put_queued(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        lines = [line for queued in batch for line in queued.lines]
        key = f"{self.prefix}/{time.time_ns():020d}-{len(lines):06d}-{uuid.uuid4().hex[:8]}"
        try:
            self.store.put(key + ".jsonl", b"".join(lines))
        except Exception as exc:  # every writer it carried raises it
            for queued in batch:
                queued.error = exc
        finally:
            for queued in batch:
                queued.done = True
        self._puts += 1
        if self._puts % PRUNE_EVERY == 0:
            with contextlib.suppress(Exception):  # housekeeping: the next prune tries again
                self._prune()

    def flush(self) -> None:
        """Nothing to do: every acknowledged line is already stored (kept for callers)."""

    def load(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        kept: list[tuple[int, int, dict[str, Any]]] = []  # min-heap of (id, order, record)
        skipped, order, ids = [0], 0, set()

        def overlong(_lineno: int) -> None:
            skipped[0] += 1

        for key in reversed(self._keys()):  # newest batch first, until enough are read
            if len(kept) >= limit:
                break
            batch = io.BytesIO(self.store.get(key))
            for _, line in iter_lines(batch, self.max_line_bytes, overlong):
                rec = _parse(line)
                if rec is None:
                    skipped[0] += 1
                    continue
                if rec["id"] in ids:  # a merge cut short by a crash leaves copies
                    continue
                ids.add(rec["id"])
                order += 1
                entry = (rec["id"], order, rec)
                if len(kept) < limit:
                    heapq.heappush(kept, entry)
                elif entry[:2] > kept[0][:2]:
                    heapq.heapreplace(kept, entry)
        return [rec for _, _, rec in sorted(kept, key=lambda e: e[:2])], skipped[0]

    def close(self) -> None:
        """Nothing buffered to flush: ``write_many`` stores before it returns."""

    def _keys(self) -> list[str]:
        return [o.key for o in self.store.iter_all(f"{self.prefix}/")]

    def _prune(self) -> None:
        held, kept = 0, []
        for key in reversed(self._keys()):
            if held >= self.keep_events:
                self.store.delete(key)
            else:
                kept.append(key)
            held += _count_of(key)
        if len(kept) > MAX_BATCHES:
            self._merge(list(reversed(kept)))

    def _merge(self, keys: list[str]) -> None:
        """Replace ``keys`` (oldest first) by one object of their newest ``keep_events`` lines;
        it is put before they are deleted, so a crash in between only duplicates lines (the
        ring's reload keeps one event per id)."""
        lines = [line for key in keys for line in self.store.get(key).splitlines(keepends=True)]
        lines = lines[-self.keep_events :]
        merged = f"{self.prefix}/{time.time_ns():020d}-{len(lines):06d}-{uuid.uuid4().hex[:8]}"
        self.store.put(merged + ".jsonl", b"".join(lines))
        for key in keys:
            self.store.delete(key)


def _count_of(key: str) -> int:
    parts = key.rsplit("/", 1)[-1].split("-")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
