"""Transforms: one per record type the service writes, each to one evidence schema.

Every evidence row starts with the same provenance columns (``PROVENANCE``): a stable
``evidence_id`` (SHA-256 of the transform name and the source line's bytes, so the same
line is the same row however often it is read, even after a log rotates), the source
object, the line's offset in it (0 is the first line), when the record was recorded, its
UTC day, and its trace and session ids. The analysis columns follow, per transform.

A transform's ``extract(record)`` returns ``(recorded_ts, trace_id, session_id, fields)``
or raises ``ValueError`` for a record it cannot use (counted as malformed), and returns
None for a line that is intact but not this transform's (a snapshot header: skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from lakehouse.jsonl import dumps_compact, is_finite_number

Extracted = tuple[float, str | None, str | None, dict[str, Any]]

PROVENANCE = [
    ("evidence_id", pa.string()),
    ("source_object", pa.string()),
    ("line_offset", pa.int64()),
    ("recorded_at", pa.timestamp("ms", tz="UTC")),
    ("day", pa.string()),
    ("trace_id", pa.string()),
    ("session_id", pa.string()),
]
# Long texts are cut: evidence is for analysis; the source line keeps the whole text.
MAX_TEXT_CHARS = 2000
_STRINGS = pa.list_(pa.string())


@dataclass(frozen=True)
class Transform:
    """One record type to one evidence schema.

    Attributes:
        name: the transform's name; datasets are ``evidence_<name>_<YYYYMMDD>``.
        fields: the analysis columns after the provenance ones.
        extract: ``record -> (ts, trace_id, session_id, fields)``, None to skip, or
            ``ValueError`` for a malformed record.
    """

    name: str
    fields: list[tuple[str, pa.DataType]]
    extract: Callable[[dict[str, Any]], Extracted | None]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(PROVENANCE + self.fields)


def _ts(value: Any) -> float:
    if is_finite_number(value):
        return float(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value).timestamp()
    raise ValueError("record has no usable time")


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _need(record: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = record.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ValueError(f"{name} is missing or not {kind}")
    return value


def error_classes(errors: Any) -> list[str]:
    """The categories (``Schema``, ``Consistency`` ...) of a list of wire violations."""
    out = []
    for err in errors if isinstance(errors, list) else []:
        if isinstance(err, dict) and len(err) == 1:
            out.append(next(iter(err)))
        elif isinstance(err, dict) and isinstance(err.get("error"), str):
            out.append(err["error"])  # a provider error in its wire form
    return out


def _attempt_summary(attempts: list[Any]) -> dict[str, Any]:
    verdicts, classes, latency, providers = [], [], 0.0, []
    known_latency = False
    for att in attempts:
        if not isinstance(att, dict) or not isinstance(att.get("status"), str):
            raise ValueError("an attempt without a status")
        verdicts.append(att["status"])
        classes.extend(error_classes(att.get("errors")))
        if is_finite_number(att.get("latency_ms")):
            latency, known_latency = latency + float(att["latency_ms"]), True
        if isinstance(att.get("provider"), str):
            providers.append(att["provider"])
    first_prompt = attempts[0].get("prompt") if attempts else None
    return {
        "verdicts": verdicts,
        "error_classes": classes,
        "error_count": len(classes),
        "first_status": verdicts[0] if verdicts else None,
        "latency_ms": latency if known_latency else None,
        "provider": providers[-1] if providers else None,
        "prompt": first_prompt[:MAX_TEXT_CHARS] if isinstance(first_prompt, str) else None,
    }


_RUN_FIELDS = [
    ("model", pa.string()),
    ("kind", pa.string()),
    ("status", pa.string()),
    ("accepted", pa.bool_()),
    ("first_shot_accepted", pa.bool_()),
    ("attempts", pa.int64()),
    ("max_iter", pa.int64()),
    ("verdicts", _STRINGS),
    ("error_classes", _STRINGS),
    ("error_count", pa.int64()),
    ("first_status", pa.string()),
    ("grounded_in_roster", pa.bool_()),
    ("tokens", pa.int64()),
    ("latency_ms", pa.float64()),
    ("provider", pa.string()),
    ("tier", pa.string()),
    ("prompt", pa.string()),
]


def _run_fields(record: dict[str, Any]) -> dict[str, Any]:
    attempts = record.get("attempts") or []
    if not isinstance(attempts, list):
        raise ValueError("attempts is not a list")
    summary = _attempt_summary(attempts)
    grounded = record.get("grounded_in_roster")
    tokens = record.get("tokens")
    return {
        "model": _need(record, "model", str),
        "kind": _opt_str(record.get("kind")),
        "status": _need(record, "status", str),
        "accepted": record.get("status") == "accepted",
        "first_shot_accepted": summary["first_status"] == "accepted",
        "attempts": len(attempts),
        "max_iter": record.get("max_iter") if type(record.get("max_iter")) is int else None,
        "grounded_in_roster": grounded if isinstance(grounded, bool) else None,
        "tokens": tokens if type(tokens) is int else None,
        "tier": _tier(record.get("tier")),
        **summary,
    }


def _tier(value: Any) -> str | None:
    # a replay row records the gate's whole decision; only the tier is an evidence column
    return _opt_str(value.get("tier")) if isinstance(value, dict) else _opt_str(value)


def _session(record: dict[str, Any]) -> Extracted | None:
    if record.get("schema") != "session.iterate.v1":
        raise ValueError("not a session.iterate.v1 record")
    ts = _ts(record.get("finished_at") or record.get("started_at"))
    fields = _run_fields(record)
    return ts, _opt_str(record.get("trace_id")), _need(record, "session_id", str), fields


def _replay(record: dict[str, Any]) -> Extracted | None:
    if record.get("schema") != "replay_run.v1":
        raise ValueError("not a replay_run.v1 record")
    ts = _ts(record.get("finished_at"))
    fields = {
        "run_id": _need(record, "run_id", str),
        "mode": _need(record, "mode", str),
        "hit_rank": record.get("hit_rank") if type(record.get("hit_rank")) is int else None,
        "original_status": _opt_str(record.get("original_status")),
        "model": _opt_str(record.get("model")),
    }
    if fields["mode"] == "full":
        fields |= _run_fields(record)
    return ts, _opt_str(record.get("trace_id")), _need(record, "session_id", str), fields


def _observer(record: dict[str, Any]) -> Extracted | None:
    if type(record.get("id")) is not int or not isinstance(record.get("kind"), str):
        raise ValueError("an observer event needs an integer id and a kind")
    data = record.get("data")
    if not isinstance(data, dict):
        raise ValueError("an observer event's data must be an object")
    duration = data.get("duration_ms")
    fields = {
        "event_id": record["id"],
        "kind": record["kind"],
        "route": _opt_str(data.get("route")),
        "http_status": data.get("status") if type(data.get("status")) is int else None,
        "latency_ms": float(duration) if is_finite_number(duration) else None,
        "data_json": dumps_compact(data)[:MAX_TEXT_CHARS],
    }
    session = _opt_str(data.get("session_id"))
    return _ts(record.get("ts")), _opt_str(record.get("trace_id")), session, fields


def _playbook(record: dict[str, Any]) -> Extracted | None:
    ids = _need(record, "ids", list)
    if not all(isinstance(i, str) for i in ids):
        raise ValueError("playbook ids must be strings")
    fields = {
        "record_id": _need(record, "record_id", str),
        "query": _need(record, "query", str)[:MAX_TEXT_CHARS],
        "ids": ids,
        "outcome": _need(record, "outcome", str),
        "weight": float(_need(record, "weight", (int, float))),
        "who": _opt_str(record.get("who")),
    }
    return _ts(record.get("when_ts", record.get("when"))), None, None, fields


def _pathway(record: dict[str, Any]) -> Extracted | None:
    if record.get("schema") == "pathway.snapshot.v1":
        return None
    if record.get("schema") != "pathway.event.v1":
        raise ValueError("not a pathway.event.v1 record")
    content = record.get("content")
    tags = record.get("tags") or []
    fields = {
        "seq": _need(record, "seq", int),
        "op": _need(record, "op", str),
        "uid": _need(record, "uid", str),
        "version": record.get("version") if type(record.get("version")) is int else None,
        "tags": [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
        "content_json": None if content is None else dumps_compact(content)[:MAX_TEXT_CHARS],
    }
    return _ts(record.get("ts")), _opt_str(record.get("trace_id")), None, fields


SESSIONS = Transform("sessions", _RUN_FIELDS, _session)
REPLAY_RUNS = Transform(
    "replay_runs",
    [("run_id", pa.string()), ("mode", pa.string()), ("hit_rank", pa.int64()),
     ("original_status", pa.string())] + _RUN_FIELDS,
    _replay,
)  # fmt: skip
OBSERVER_EVENTS = Transform(
    "observer_events",
    [("event_id", pa.int64()), ("kind", pa.string()), ("route", pa.string()),
     ("http_status", pa.int64()), ("latency_ms", pa.float64()), ("data_json", pa.string())],
    _observer,
)  # fmt: skip
PLAYBOOK_RECORDS = Transform(
    "playbook_records",
    [("record_id", pa.string()), ("query", pa.string()), ("ids", _STRINGS),
     ("outcome", pa.string()), ("weight", pa.float64()), ("who", pa.string())],
    _playbook,
)  # fmt: skip
PATHWAY_EVENTS = Transform(
    "pathway_events",
    [("seq", pa.int64()), ("op", pa.string()), ("uid", pa.string()), ("version", pa.int64()),
     ("tags", _STRINGS), ("content_json", pa.string())],
    _pathway,
)  # fmt: skip

TRANSFORMS = {t.name: t for t in (SESSIONS, REPLAY_RUNS, OBSERVER_EVENTS, PLAYBOOK_RECORDS,
                                  PATHWAY_EVENTS)}  # fmt: skip
