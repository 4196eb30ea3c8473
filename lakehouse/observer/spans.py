"""Observer events and workflow runs as spans, encoded for OTLP/HTTP JSON or Langfuse.

A workflow run (``RunResult.to_dict()``) becomes a parent span with one child per node
that ran; an observer event becomes one span ending at its ``ts`` (starting
``data.duration_ms`` earlier, if given). Ids are derived deterministically, so a retried
export describes the same spans rather than new ones.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse import __version__
from lakehouse.jsonl import is_finite_number
from lakehouse.observer.ring import Event

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_ITEM_NAMESPACE = uuid.UUID("5f0c1f3e-8f9d-4b8e-9a51-6c3c1d2b7a10")
STATUS_OK, STATUS_ERROR = 1, 2  # OTLP Status.code


@dataclass(frozen=True)
class Span:
    """A backend-neutral span. ``trace_key`` is the project's own trace id, if any."""

    trace_id: str
    span_id: str
    name: str
    start: float
    end: float
    attributes: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    error: str | None = None
    trace_key: str | None = None


def trace_hex(trace_id: str | None, fallback: str) -> str:
    """32 hex digits for ``trace_id``: itself if already so (or a UUID), else a hash."""
    if trace_id:
        plain = trace_id.replace("-", "").lower()
        if _HEX32.match(plain) and plain != "0" * 32:
            return plain
    return _digest(trace_id or fallback, 32)


def event_span(ev: Event) -> Span:
    duration = ev.data.get("duration_ms")
    start = ev.ts - duration / 1000 if is_finite_number(duration) and duration > 0 else ev.ts
    attrs = {"event.id": ev.id, "event.kind": ev.kind, **ev.data}
    return Span(
        trace_id=trace_hex(ev.trace_id, f"event:{ev.id}:{ev.ts}"),
        span_id=_digest(f"event:{ev.id}:{ev.ts}:{ev.kind}", 16),
        name=ev.kind,
        start=start,
        end=ev.ts,
        attributes=attrs,
        error=_event_error(ev.data),
        trace_key=ev.trace_id,
    )


def run_spans(run: Mapping[str, Any]) -> list[Span]:
    """The run's span, then one per node that ran (skipped nodes have no span)."""
    trace_id = trace_hex(run.get("trace_id"), f"run:{run['run_id']}")
    root_id = _digest(f"run:{run['run_id']}", 16)
    error = run.get("error") or None
    spans = [
        Span(
            trace_id=trace_id,
            span_id=root_id,
            name=f"workflow {run.get('workflow') or 'run'}",
            start=run["started_at"],
            end=run["finished_at"],
            attributes={"workflow.run_id": run["run_id"], "workflow.status": run.get("status")},
            error=_message(error) if error else None,
            trace_key=run.get("trace_id"),
        )
    ]
    for node in run.get("nodes", []):
        if node.get("started_at") is None:
            continue
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=_digest(f"run:{run['run_id']}:node:{node['name']}", 16),
                parent_id=root_id,
                name=f"{node['name']} ({node['mode']})",
                start=node["started_at"],
                end=node["finished_at"],
                attributes={"workflow.node": node["name"], "workflow.mode": node["mode"]},
                error=_message(node["error"]) if node.get("error") else None,
                trace_key=run.get("trace_id"),
            )
        )
    return spans


def otlp_body(spans: Iterable[Span], service_name: str) -> dict[str, Any]:
    """An OTLP ``ExportTraceServiceRequest`` in its JSON encoding (hex ids, string int64s)."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _otlp_attrs({"service.name": service_name})},
                "scopeSpans": [
                    {
                        "scope": {"name": "lakehouse.observer", "version": __version__},
                        "spans": [_otlp_span(s) for s in spans],
                    }
                ],
            }
        ]
    }


def langfuse_body(spans: Iterable[Span]) -> dict[str, Any]:
    """A Langfuse ingestion batch: one ``trace-create`` per trace, one ``span-create`` each."""
    batch: list[dict[str, Any]] = []
    seen: set[str] = set()
    for span in spans:
        trace_id = span.trace_key or span.trace_id
        if trace_id not in seen:
            seen.add(trace_id)
            body = {"id": trace_id, "name": span.name, "timestamp": _iso(span.start)}
            batch.append(_item("trace-create", trace_id, span.start, body))
        batch.append(_item("span-create", span.span_id, span.end, _langfuse_span(span, trace_id)))
    return {"batch": batch}


def _otlp_span(span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": 1,  # SPAN_KIND_INTERNAL
        "startTimeUnixNano": str(int(span.start * 1e9)),
        "endTimeUnixNano": str(int(span.end * 1e9)),
        "attributes": _otlp_attrs(span.attributes),
        "status": {"code": STATUS_ERROR, "message": span.error}
        if span.error
        else {"code": STATUS_OK},
    }
    if span.parent_id:
        out["parentSpanId"] = span.parent_id
    return out


def _otlp_attrs(attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(k), "value": _any_value(v)} for k, v in attrs.items()]


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"stringValue": json.dumps(value, default=str)}


def _langfuse_span(span: Span, trace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": span.span_id,
        "traceId": trace_id,
        "name": span.name,
        "startTime": _iso(span.start),
        "endTime": _iso(span.end),
        "metadata": span.attributes,
        "level": "ERROR" if span.error else "DEFAULT",
    }
    if span.error:
        body["statusMessage"] = span.error
    if span.parent_id:
        body["parentObservationId"] = span.parent_id
    return body


def _item(kind: str, key: str, ts: float, body: dict[str, Any]) -> dict[str, Any]:
    item_id = str(uuid.uuid5(_ITEM_NAMESPACE, f"{kind}:{key}"))
    return {"id": item_id, "timestamp": _iso(ts), "type": kind, "body": body}


def _event_error(data: Mapping[str, Any]) -> str | None:
    if data.get("error"):
        return _message(data["error"])
    status = data.get("status")
    if status in ("error", "failed"):
        return str(status)
    if isinstance(status, int) and not isinstance(status, bool) and status >= 500:
        return f"HTTP {status}"
    return None


def _message(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("code") or "error")
    return str(error)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digest(value: str, length: int) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:length]
