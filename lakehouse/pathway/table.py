"""The state behind a pathway store: every state of every trace, kept in step with the log."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from lakehouse.errors import Conflict, InvalidInput, NotFound, TooLarge
from lakehouse.pathway.events import (
    CONTENT_OPS,
    EVENT_SCHEMA,
    State,
    encode_event,
    event_of,
    next_state,
    snapshot_header,
)
from lakehouse.pathway.index import ContentIndex, SearchIndex
from lakehouse.pathway.log import EventLog
from lakehouse.pathway.replay import replay
from lakehouse.pathway.trace import PathwayLimits, check_uid

log = logging.getLogger(__name__)

MAX_TRACE_ID_CHARS = 128


class TraceTable:
    """Per-uid lists of states (oldest first), derived indexes, and the log behind them.

    ``write`` makes one event durable in the log and only then applies it in memory;
    construction replays the log through the same ``next_state``. Not locked: the owning
    ``PathwayStore`` serialises access.
    """

    def __init__(self, event_log: EventLog, limits: PathwayLimits, clock: Callable[[], float]):
        self.log = event_log
        self.limits = limits
        self.clock = clock
        self.records: dict[str, list[State]] = {}
        self.seq = 0
        self.last_ts = 0.0
        self.live = 0
        self.compaction_failures = 0
        self._search: SearchIndex | None = None
        self._contents: ContentIndex | None = None
        self.replay_report = replay(event_log, self.head_or_none, self.commit)

    # ---- lookups ------------------------------------------------------------------------

    def head(self, uid: str) -> State:
        return self.records[uid][-1]

    def head_or_none(self, uid: object) -> State | None:
        states = self.records.get(uid)  # type: ignore[call-overload]
        return states[-1] if states else None

    def current(self, uid: Any) -> State:
        """The latest state of ``uid``; ``InvalidInput`` if malformed, ``NotFound``."""
        states = self.records.get(check_uid(uid, self.limits))
        if not states:
            raise NotFound(f"trace {uid} not found")
        return states[-1]

    def current_live(self, uid: Any, op: str) -> State:
        state = self.current(uid)
        if state.retired:
            raise Conflict(f"trace {uid} is retired; {op} refused")
        return state

    def search_index(self) -> SearchIndex:
        # Built on first use, not at replay: a restart should not pay for every word.
        if self._search is None:
            self._search = SearchIndex(states[-1] for states in self.records.values())
        return self._search

    def content_index(self) -> ContentIndex:
        if self._contents is None:
            self._contents = ContentIndex(states[-1] for states in self.records.values())
        return self._contents

    # ---- writes -------------------------------------------------------------------------

    def create(self, op: str, content_json: str, tags, predecessor, trace_id) -> State:
        fields: dict[str, Any] = {"tags": list(tags)}
        if predecessor is not None:
            fields["predecessor"] = predecessor
        return self.write(op, self._new_uid(), trace_id, content_json, **fields)

    def write(self, op: str, uid: str, trace_id: Any, content_json: str | None, **fields) -> State:
        """Log, then apply, one event; returns the new state."""
        ev = self._event(op, uid, trace_id, fields)
        prev = self.head_or_none(uid)
        state = next_state(ev, content_json, prev)
        line = encode_event(ev, content_json)
        if len(line) - 1 > self.limits.max_line_bytes:
            raise TooLarge("the event is larger than one log line may be")
        self.log.append(line)  # durable from here on: only now does memory change
        self.commit(state, prev)
        self._maybe_compact()
        return state

    def commit(self, state: State, prev: State | None) -> None:
        self.records.setdefault(state.uid, []).append(state)
        self.seq = state.seq
        self.last_ts = max(self.last_ts, state.ts)
        self.live += (not state.retired) - (prev is not None and not prev.retired)
        if self._search is not None:
            self._search.put(prev, state)
        if self._contents is not None:
            self._contents.put(prev, state)

    def compact(self) -> int:
        """Publish every state as one snapshot and restart the tail; returns events."""
        states = sorted((s for ss in self.records.values() for s in ss), key=lambda s: s.seq)
        self.log.write_snapshot(self._snapshot_lines(states))
        return len(states)

    def _snapshot_lines(self, states: list[State]) -> Iterator[bytes]:
        yield snapshot_header(self.seq, len(states))
        for s in states:
            yield encode_event(event_of(s), s.content_json if s.op in CONTENT_OPS else None)

    def _maybe_compact(self) -> None:
        # The write that triggered this is already durable: a failed compaction is
        # logged, counted and retried on a later write, never a failed request.
        if not self.log.wants_compaction():
            return
        try:
            self.compact()
        except Exception:
            self.compaction_failures += 1
            log.exception("pathway compaction failed; the log keeps growing until it succeeds")

    def _event(self, op: str, uid: str, trace_id: Any, fields: dict[str, Any]) -> dict[str, Any]:
        if trace_id is not None and (
            not isinstance(trace_id, str) or not 0 < len(trace_id) <= MAX_TRACE_ID_CHARS
        ):
            raise InvalidInput(f"trace_id must be a string of 1..{MAX_TRACE_ID_CHARS} characters")
        ts = max(self.clock(), self.last_ts)  # never backwards: as-of reads bisect on ts
        ev = {"schema": EVENT_SCHEMA, "seq": self.seq + 1, "ts": ts, "op": op, "uid": uid}
        if trace_id is not None:
            ev["trace_id"] = trace_id
        ev.update(fields)
        return ev

    def _new_uid(self) -> str:
        while True:
            uid = str(uuid.uuid4())
            if uid not in self.records:
                return uid
