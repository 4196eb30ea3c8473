"""The event log's records, and how one event turns the previous state into the next.

The live write path and the replay path both go through ``next_state``, so a store
rebuilt from its log holds exactly what the store that wrote it held.

One line per event (``schema: pathway.event.v1``)::

    {"schema", "seq", "ts", "op", "uid", "trace_id"?, ...op fields}
    add      content, tags                new trace, version 1
    revise   content, tags, predecessor   new trace, version 1, linked to predecessor
    update   content, tags, version       same uid, next version
    revert   content, tags, version, reverted_from
    replay   replay_count                 add-idempotent hit
    retire                                hidden from search, still readable

A snapshot is the same lines, preceded by a header ``{"schema": pathway.snapshot.v1,
"seq", "events"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lakehouse.jsonl import dumps_compact, is_finite_number
from lakehouse.pathway.trace import Trace

EVENT_SCHEMA = "pathway.event.v1"
SNAPSHOT_SCHEMA = "pathway.snapshot.v1"
CREATE_OPS = frozenset({"add", "revise"})
CONTENT_OPS = frozenset({"add", "revise", "update", "revert"})
ALL_OPS = CONTENT_OPS | {"replay", "retire"}


@dataclass(slots=True)
class State:
    """One stored state of a trace. Never leaves the store: callers get ``Trace`` copies."""

    seq: int
    ts: float
    op: str
    uid: str
    content_json: str
    tags: tuple[str, ...]
    created_at: float
    predecessor: str | None
    replay_count: int
    retired: bool
    version: int
    trace_id: str | None = None
    reverted_from: int | None = None

    def to_trace(self) -> Trace:
        return Trace(
            uid=self.uid,
            content=json.loads(self.content_json),
            tags=self.tags,
            created_at=self.created_at,
            updated_at=self.ts,
            predecessor=self.predecessor,
            replay_count=self.replay_count,
            retired=self.retired,
            version=self.version,
        )


def next_state(ev: dict[str, Any], content_json: str | None, prev: State | None) -> State:
    """The state ``ev`` leads to from ``prev``; ``ValueError`` if ``ev`` does not apply.

    ``content_json`` is the event's content as compact JSON (None for replay/retire).
    """
    op, seq, ts, uid = ev["op"], ev["seq"], ev["ts"], ev["uid"]
    if op not in ALL_OPS or type(seq) is not int or not is_finite_number(ts):
        raise ValueError(f"bad op, seq or ts in event {seq!r}")
    if not isinstance(uid, str) or not uid:
        raise ValueError("bad uid")
    trace_id = ev.get("trace_id")
    if trace_id is not None and not isinstance(trace_id, str):
        raise ValueError("bad trace_id")
    if op in CREATE_OPS:
        return _created(ev, content_json, prev, trace_id)
    if prev is None:
        raise ValueError(f"{op} of unknown trace {uid}")
    if ts < prev.ts:
        raise ValueError(f"{op} of {uid} goes back in time")
    if op == "replay":
        return _changed(prev, ev, replay_count=_expect(ev, "replay_count", prev.replay_count + 1))
    if prev.retired:
        raise ValueError(f"{op} of retired trace {uid}")
    if op == "retire":
        return _changed(prev, ev, retired=True)
    if content_json is None:
        raise ValueError(f"{op} without content")
    reverted = ev.get("reverted_from") if op == "revert" else None
    if op == "revert" and not (type(reverted) is int and 1 <= reverted <= prev.version):
        raise ValueError(f"revert of {uid} to a version it never had")
    return _changed(
        prev,
        ev,
        content_json=content_json,
        tags=_tags(ev),
        version=_expect(ev, "version", prev.version + 1),
        reverted_from=reverted,
    )


def _created(ev: dict[str, Any], content_json: str | None, prev: State | None, trace_id) -> State:
    if prev is not None:
        raise ValueError(f"{ev['op']} of existing uid {ev['uid']}")
    predecessor = ev.get("predecessor")
    if ev["op"] == "revise" and (not isinstance(predecessor, str) or not predecessor):
        raise ValueError("revise without a predecessor")
    if content_json is None:
        raise ValueError("create without content")
    return State(
        seq=ev["seq"],
        ts=float(ev["ts"]),
        op=ev["op"],
        uid=ev["uid"],
        content_json=content_json,
        tags=_tags(ev),
        created_at=float(ev["ts"]),
        predecessor=predecessor if ev["op"] == "revise" else None,
        replay_count=0,
        retired=False,
        version=1,
        trace_id=trace_id,
    )


def _changed(prev: State, ev: dict[str, Any], **changes: Any) -> State:
    fields = {name: getattr(prev, name) for name in State.__slots__}
    # reverted_from describes one revert event only; later states do not inherit it.
    fields.update(seq=ev["seq"], ts=float(ev["ts"]), op=ev["op"], trace_id=ev.get("trace_id"))
    fields["reverted_from"] = None
    fields.update(changes)
    return State(**fields)


def _expect(ev: dict[str, Any], name: str, wanted: int) -> int:
    if ev.get(name) != wanted or type(ev.get(name)) is not int:
        raise ValueError(f"{name} {ev.get(name)!r} where {wanted} was due")
    return wanted


def _tags(ev: dict[str, Any]) -> tuple[str, ...]:
    tags = ev.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError("tags are not a list of strings")
    return tuple(tags)


def event_content(ev: dict[str, Any]) -> str | None:
    """The compact JSON of a decoded event's content, if its op carries content."""
    if ev.get("op") not in CONTENT_OPS or "content" not in ev:
        return None
    return dumps_compact(ev["content"])


def encode_event(ev: dict[str, Any], content_json: str | None) -> bytes:
    """One log line; the content text is spliced in rather than parsed and dumped again."""
    head = dumps_compact(ev)
    if content_json is not None:
        head = f'{head[:-1]},"content":{content_json}}}'
    return (head + "\n").encode("utf-8")


def event_of(state: State) -> dict[str, Any]:
    """The event (without content) that produced ``state``: what compaction writes."""
    ev: dict[str, Any] = {
        "schema": EVENT_SCHEMA,
        "seq": state.seq,
        "ts": state.ts,
        "op": state.op,
        "uid": state.uid,
    }
    if state.trace_id is not None:
        ev["trace_id"] = state.trace_id
    if state.op == "replay":
        ev["replay_count"] = state.replay_count
    elif state.op in CONTENT_OPS:
        ev["tags"] = list(state.tags)
        if state.op == "revise":
            ev["predecessor"] = state.predecessor
        if state.op in ("update", "revert"):
            ev["version"] = state.version
        if state.op == "revert":
            ev["reverted_from"] = state.reverted_from
    return ev


def snapshot_header(seq: int, events: int) -> bytes:
    return encode_event({"schema": SNAPSHOT_SCHEMA, "seq": seq, "events": events}, None)
