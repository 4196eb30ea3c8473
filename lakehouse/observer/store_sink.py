"""Observer events persisted in the object store, so a ring restarted on another node finds
them (``ObserverRing`` reloads its sink in ``__init__``).

Events are buffered and put as one object per batch, ``<prefix>/<time_ns>-<count>-<id>.jsonl``
(after ``flush_lines`` events or ``flush_s`` seconds, whichever comes first): a put per
event would cost every request an object-store round trip. The ring is best-effort by
contract; what a crash can lose is the last ``flush_s`` of events. Old batches are deleted
once the newer ones hold ``keep_events``.
"""

from __future__ import annotations

import heapq
import io
import threading
import time
import uuid
from typing import Any

from lakehouse.jsonl import iter_lines
from lakehouse.observer.sink import EventSink, _parse
from lakehouse.storage import ObjectStore

PRUNE_EVERY = 16  # flushes between two listings for pruning
MAX_BATCHES = 64  # past this many objects the batches are merged into one (quiet times
# put one small batch a second: without merging a restart would read thousands of objects)


class ObjectStoreSink(EventSink):
    """Batches of event lines as objects under ``prefix`` in ``store``."""

    def __init__(
        self,
        store: ObjectStore,
        prefix: str = "observer/events",
        *,
        keep_events: int = 10_000,
        flush_lines: int = 256,
        flush_s: float = 1.0,
        max_line_bytes: int = 1 << 20,
    ) -> None:
        self.store, self.prefix = store, prefix.rstrip("/")
        self.keep_events, self.flush_lines = keep_events, flush_lines
        self.max_line_bytes = max_line_bytes
        self._lock = threading.Lock()
        self._put_lock = threading.Lock()  # batches go out one at a time, in order
        self._buffer: list[bytes] = []
        self._flushes = 0
        self._closed = threading.Event()
        if flush_s > 0:
            threading.Thread(target=self._flush_every, args=(flush_s,), daemon=True).start()

    def write(self, line: bytes) -> None:
        with self._lock:
            self._buffer.append(line)
            full = len(self._buffer) >= self.flush_lines
        if full:
            self.flush()

    def flush(self) -> None:
        """Put the buffered lines as one object now (nothing when none are buffered)."""
        with self._put_lock:
            with self._lock:
                lines, self._buffer = self._buffer, []
            if not lines:
                return
            key = f"{self.prefix}/{time.time_ns():020d}-{len(lines):06d}-{uuid.uuid4().hex[:8]}"
            self.store.put(key + ".jsonl", b"".join(lines))
            self._flushes += 1
            if self._flushes % PRUNE_EVERY == 0:
                self._prune()

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
        self._closed.set()
        self.flush()

    def _flush_every(self, every_s: float) -> None:
        while not self._closed.wait(every_s):
            try:
                self.flush()
            except Exception:  # best-effort; the next flush tries again with more lines
                continue

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


class TeeSink(EventSink):
    """Writes every line to each sink; reloads from the first (the object store's).

    The ring is reloaded from the object store, so a restart on any node finds its events;
    the copies (the node-local JSONL file the distill materializer reads) are extra.
    """

    def __init__(self, first: EventSink, *copies: EventSink) -> None:
        self.sinks = (first, *copies)

    def write(self, line: bytes) -> None:
        errors = []
        for sink in self.sinks:
            try:
                sink.write(line)
            except Exception as exc:  # the others still get the line; the ring counts one
                errors.append(exc)
        if errors:
            raise errors[0]

    def load(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        return self.sinks[0].load(limit)

    def close(self) -> None:
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()
