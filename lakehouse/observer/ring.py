"""The observer ring: the latest events in memory, bounded, persisted best-effort."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse.errors import InvalidInput, TooLarge
from lakehouse.jsonl import dumps_compact, is_finite_number
from lakehouse.observer.sink import EventSink

log = logging.getLogger(__name__)

KIND_HTTP_REQUEST = "http.request"
KIND_WORKFLOW_NODE = "workflow.node"
KIND_WORKFLOW_RUN = "workflow.run"
EVENT_SCHEMA = "observer.event.v1"
_KIND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
MAX_TRACE_ID_CHARS = 128


@dataclass(frozen=True)
class Event:
    """One observed event. ``data`` is the caller's own copy."""

    id: int
    ts: float
    kind: str
    data: dict[str, Any]
    trace_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "kind": self.kind,
            "data": self.data,
            "trace_id": self.trace_id,
        }


@dataclass(slots=True, frozen=True)
class _Stored:
    id: int
    ts: float
    kind: str
    data_json: str  # stored as text: every reader gets a fresh copy, nothing aliases
    trace_id: str | None

    def to_event(self) -> Event:
        return Event(self.id, self.ts, self.kind, json.loads(self.data_json), self.trace_id)

    def line(self) -> bytes:
        head = dumps_compact(
            {"schema": EVENT_SCHEMA, "id": self.id, "ts": self.ts, "kind": self.kind}
            | ({"trace_id": self.trace_id} if self.trace_id else {})
        )
        return f'{head[:-1]},"data":{self.data_json}}}\n'.encode()


class ObserverRing:
    """The last ``capacity`` events; when full, each new event evicts the oldest.

    Thread-safe. Persistence through ``sink`` is best-effort: a failed write is logged
    (rate-limited) and counted in ``persist_failures``, and the event is still accepted.
    On construction the ring reloads the latest events the sink holds, so a restarted
    owner starts where it left off.

    Args:
        capacity: events kept in memory.
        sink: where events are persisted, or None.
        clock: seconds since the epoch.
        max_data_bytes: cap on one event's data as compact JSON (``TooLarge`` above it).
        max_limit: cap on ``limit`` in queries.
    """

    def __init__(
        self,
        capacity: int = 10_000,
        *,
        sink: EventSink | None = None,
        clock: Callable[[], float] = time.time,
        max_data_bytes: int = 16 * 1024,
        max_limit: int = 1000,
    ) -> None:
        if capacity < 1:
            raise InvalidInput("capacity must be >= 1")
        self.capacity = capacity
        self.max_data_bytes = max_data_bytes
        self.max_limit = max_limit
        self._sink = sink
        self._clock = clock
        self._lock = threading.Lock()
        self._ring: deque[_Stored] = deque(maxlen=capacity)
        self._next_id = 1
        self.emitted = 0
        self.evicted = 0
        self.persisted = 0
        self.persist_failures = 0
        self.load_skipped = 0
        self._restore()

    def emit(
        self,
        kind: str,
        data: Mapping[str, Any] | None = None,
        *,
        trace_id: str | None = None,
        ts: float | None = None,
    ) -> Event:
        """Record one event; returns it. Bad input raises before anything is recorded."""
        stored = self._record(kind, _checked(kind, data, trace_id, ts, self.max_data_bytes), ts)
        self._persist([stored])
        return stored.to_event()

    def emit_many(
        self, events: Sequence[tuple[str, Mapping[str, Any] | None, str | None, float | None]]
    ) -> list[Event]:
        """Record ``(kind, data, trace_id, ts)`` tuples in order, persisted in one sink call.
        All are checked first: one bad tuple raises and none is recorded."""
        checked = [_checked(k, d, t, ts, self.max_data_bytes) for k, d, t, ts in events]
        stored = [self._record(e[0], args, e[3]) for e, args in zip(events, checked, strict=True)]
        self._persist(stored)
        return [s.to_event() for s in stored]

    def _record(self, kind: str, stored_args: tuple, ts: float | None) -> _Stored:
        with self._lock:
            when = self._clock() if ts is None else float(ts)
            stored = _Stored(self._next_id, when, kind, *stored_args)
            self._next_id += 1
            if len(self._ring) == self.capacity:
                self.evicted += 1
            self._ring.append(stored)
            self.emitted += 1
        return stored

    def query(
        self,
        *,
        kind: str | None = None,
        trace_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Matching events, newest first; ``since``/``until`` are inclusive bounds on ts."""
        if type(limit) is not int or not 1 <= limit <= self.max_limit:
            raise InvalidInput(f"limit must be an integer in 1..{self.max_limit}")
        for name, bound in (("since", since), ("until", until)):
            if bound is not None and not is_finite_number(bound):
                raise InvalidInput(f"{name} must be a finite number of seconds")
        out: list[_Stored] = []
        with self._lock:
            for ev in reversed(self._ring):
                if since is not None and ev.ts < since:
                    continue
                if (until is not None and ev.ts > until) or (kind and ev.kind != kind):
                    continue
                if trace_id and ev.trace_id != trace_id:
                    continue
                out.append(ev)
                if len(out) == limit:
                    break
        return [ev.to_event() for ev in out]

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "size": len(self._ring),
                "capacity": self.capacity,
                "emitted": self.emitted,
                "evicted": self.evicted,
                "persisted": self.persisted,
                "persist_failures": self.persist_failures,
                "load_skipped": self.load_skipped,
            }

    def _persist(self, stored: list[_Stored]) -> None:
        if self._sink is None:
            return
        try:
            self._sink.write_many([s.line() for s in stored])
        except Exception as exc:  # best-effort by contract: never the caller's problem
            with self._lock:
                before = self.persist_failures
                self.persist_failures += len(stored)
            if before == 0 or before // 1000 != self.persist_failures // 1000:
                log.warning("observer persist failed (%d so far): %r", self.persist_failures, exc)
            return
        with self._lock:
            self.persisted += len(stored)

    def _restore(self) -> None:
        if self._sink is None:
            return
        try:
            records, skipped = self._sink.load(self.capacity)
        except Exception:  # a damaged history must not stop the ring
            log.exception("observer could not reload persisted events")
            return
        self.load_skipped = skipped
        for rec in sorted(records, key=lambda r: r["id"]):
            stored = _Stored(rec["id"], rec["ts"], rec["kind"], rec["data_json"], rec["trace_id"])
            self._ring.append(stored)
            self._next_id = max(self._next_id, stored.id + 1)


def _checked(
    kind: Any, data: Any, trace_id: Any, ts: Any, max_bytes: int
) -> tuple[str, str | None]:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise InvalidInput("kind must match [A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
    if trace_id is not None and (
        not isinstance(trace_id, str) or not 0 < len(trace_id) <= MAX_TRACE_ID_CHARS
    ):
        raise InvalidInput(f"trace_id must be a string of 1..{MAX_TRACE_ID_CHARS} characters")
    if ts is not None and not is_finite_number(ts):
        raise InvalidInput("ts must be a finite number of seconds")
    if data is not None and not isinstance(data, Mapping):
        raise InvalidInput("data must be a JSON object")
    try:
        text = dumps_compact(dict(data or {}))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"data is not JSON: {exc}") from None
    if len(text.encode("utf-8")) > max_bytes:
        raise TooLarge(f"event data is over {max_bytes} bytes", limit=max_bytes)
    return text, trace_id
