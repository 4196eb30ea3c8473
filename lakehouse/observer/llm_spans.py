"""Iterate sessions and chat calls as spans, under the request's trace id.

A ``session.iterate.v1`` record (or a ``replay_run.v1`` row in full mode) becomes::

    iterate <kind>                      session_id, model, status, accepted, grounded
      iterate.attempt[1]                prompt, raw output, verdict, errors
        chat <model>                    provider, latency_ms
      iterate.attempt[2] ...

The record keeps each chat call's latency but not its start, so the attempts are laid out
one after another from the session's start: a chat span lasts its recorded latency, its
attempt ends with it (validation takes microseconds), and the last attempt ends with the
session. Texts are cut to ``MAX_TEXT_CHARS`` so a span stays well under a collector's limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lakehouse.jsonl import is_finite_number
from lakehouse.observer.spans import Span, _digest, trace_hex

MAX_TEXT_CHARS = 4000


def session_spans(record: Mapping[str, Any]) -> list[Span]:
    """The session's span, then per attempt its span and its chat call's span."""
    # a replay row's own session id first: its session_id is the original's (the join key)
    key = str(record.get("replay_session_id") or record.get("session_id") or "session")
    trace = trace_hex(record.get("trace_id"), f"session:{key}")
    start, end = _ts(record.get("started_at")), _ts(record.get("finished_at"))
    end = max(end, start)
    root = _digest(f"session:{key}", 16)
    spans = [_root(record, trace, root, start, end)]
    cursor = start
    attempts = [a for a in record.get("attempts") or [] if isinstance(a, Mapping)]
    for i, att in enumerate(attempts):
        latency = att.get("latency_ms")
        chat_end = cursor + (latency / 1000 if is_finite_number(latency) else 0.0)
        att_end = end if i == len(attempts) - 1 else min(max(chat_end, cursor), end)
        spans += _attempt(record, att, trace, root, key, cursor, att_end, chat_end)
        cursor = att_end
    return spans


def chat_span(
    trace_id: str | None, model: str, reply: Mapping[str, Any], start: float, end: float
) -> Span:
    """One ``/v1/chat`` call."""
    attrs = {"llm.model": model, "llm.provider": reply.get("provider"),
             "llm.latency_ms": reply.get("latency_ms"),
             "llm.output": str(reply.get("text") or "")[:MAX_TEXT_CHARS]}  # fmt: skip
    return Span(
        trace_id=trace_hex(trace_id, f"chat:{start}"),
        span_id=_digest(f"chat:{trace_id}:{start}:{model}", 16),
        name=f"chat {model}",
        start=start,
        end=max(end, start),
        attributes={k: v for k, v in attrs.items() if v is not None},
        trace_key=trace_id,
    )


def _root(record: Mapping[str, Any], trace: str, root: str, start: float, end: float) -> Span:
    attrs = {
        "session.id": record.get("session_id"),
        "llm.model": record.get("model"),
        "iterate.kind": record.get("kind"),
        "iterate.status": record.get("status"),
        "iterate.accepted": record.get("status") == "accepted",
        "iterate.attempts": len(record.get("attempts") or []),
        "iterate.grounded_in_roster": record.get("grounded_in_roster"),
        "replay.run_id": record.get("run_id"),
    }
    status = record.get("status")
    return Span(
        trace_id=trace,
        span_id=root,
        name=f"iterate {record.get('kind') or ''}".strip(),
        start=start,
        end=end,
        attributes={k: v for k, v in attrs.items() if v is not None},
        error=str(status) if status in ("provider_error", "error") else None,
        trace_key=record.get("trace_id"),
    )


def _attempt(
    record: Mapping[str, Any], att: Mapping[str, Any], trace: str, root: str, key: str,
    start: float, end: float, chat_end: float,
) -> list[Span]:  # fmt: skip
    n = att.get("n")
    span_id = _digest(f"session:{key}:attempt:{n}", 16)
    errors = att.get("errors") or []
    attrs = {
        "iterate.attempt": n,
        "iterate.verdict": att.get("status"),
        "iterate.prompt": str(att.get("prompt") or "")[:MAX_TEXT_CHARS],
        "iterate.raw_output": str(att.get("raw") or "")[:MAX_TEXT_CHARS],
        "iterate.errors": json.dumps(errors)[:MAX_TEXT_CHARS],
    }
    failed = att.get("status") == "provider_error"
    attempt = Span(trace, span_id, f"iterate.attempt[{n}]", start, end, attrs, root,
                   "provider_error" if failed else None, record.get("trace_id"))  # fmt: skip
    chat_attrs = {"llm.model": record.get("model"), "llm.provider": att.get("provider"),
                  "llm.latency_ms": att.get("latency_ms")}  # fmt: skip
    chat = Span(trace, _digest(f"session:{key}:chat:{n}", 16), f"chat {record.get('model')}",
                start, min(chat_end, end) if chat_end > start else start,
                {k: v for k, v in chat_attrs.items() if v is not None}, span_id,
                "provider_error" if failed else None, record.get("trace_id"))  # fmt: skip
    return [attempt, chat]


def _ts(value: Any) -> float:
    if is_finite_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return 0.0
    return 0.0
