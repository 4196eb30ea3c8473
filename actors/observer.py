"""The observer actor: one ring of recent events per deployment, and their export.

A thin shell over ``lakehouse.observer.ObserverRing``, persisted to the object store under
``observer/events/`` before an emit returns (group-committed puts; reloaded in ``__init__``,
so an actor restarted on any node starts with the latest events;
``lakehouse.observer.store_sink``) and, when ``LAKEHOUSE_EXPORT_TARGET`` is set, shipped to an
OTLP collector or Langfuse by a background flush. Named ``observer-<store id>`` in the
``lakehouse`` namespace, detached, restarted by Ray (``max_restarts=-1``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import ray

from actors import metrics, stateful_actor
from lakehouse.observer import (
    KIND_WORKFLOW_NODE,
    KIND_WORKFLOW_RUN,
    Event,
    ExportConfig,
    Exporter,
    ObserverRing,
    Span,
)
from lakehouse.observer.store_sink import ObjectStoreSink
from lakehouse.settings import Settings
from lakehouse.storage import open_store
from lakehouse.storage.factory import store_identity

ACTOR_PREFIX = "observer"
EXPORT_INTERVAL_S = 2.0
# A workflow's node and run events are exported as one span tree (``export_run``), not
# one loose span each.
_RUN_KINDS = frozenset({KIND_WORKFLOW_NODE, KIND_WORKFLOW_RUN})
log = logging.getLogger(__name__)


class ObserverActor:
    """Remote face of ``ObserverRing`` (and its ``Exporter``); straight calls into the core."""

    def __init__(self, settings: Settings) -> None:
        # stored before an emit returns, reloaded on any node; the distill materializer reads
        # the same objects (lakehouse.distill.sources)
        self.sink = ObjectStoreSink(open_store(settings), keep_events=settings.observer_capacity)
        self.ring = ObserverRing(settings.observer_capacity, sink=self.sink)
        self.exporter = Exporter(export_config(settings))
        self.exporter.start(EXPORT_INTERVAL_S)
        log.info("observer actor up: %s", self.ring.stats())

    def emit(
        self,
        kind: str,
        data: Mapping[str, Any] | None = None,
        trace_id: str | None = None,
        ts: float | None = None,
    ) -> Event:
        event = self.ring.emit(kind, data, trace_id=trace_id, ts=ts)
        if kind not in _RUN_KINDS:
            self.exporter.submit(events=[event])
        self._publish()
        return event

    def emit_many(self, events: list[tuple]) -> int:
        """Record ``(kind, data, trace_id, ts)`` tuples (the edge's batched request events)."""
        recorded = self.ring.emit_many(events)
        self.exporter.submit(events=[e for e in recorded if e.kind not in _RUN_KINDS])
        self._publish()
        return len(recorded)

    def _publish(self) -> None:
        stats = self.ring.stats()
        metrics.set_gauge("lakehouse_observer_ring_events", stats["size"])
        metrics.set_gauge("lakehouse_observer_ring_fill", stats["size"] / stats["capacity"])

    def query(
        self,
        kind: str | None = None,
        trace_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Event]:
        return self.ring.query(kind=kind, trace_id=trace_id, since=since, until=until, limit=limit)

    def export_run(self, run: Mapping[str, Any]) -> None:
        """Queue a workflow run (``RunResult.to_dict()``) for export as a span tree."""
        self.exporter.submit(runs=[run])

    def export_spans(self, spans: list[Span]) -> None:
        """Queue ready-made spans (iterate sessions, chat calls) for export."""
        self.exporter.submit(spans=spans)

    def stats(self) -> dict[str, Any]:
        return {"ring": self.ring.stats(), "export": self.exporter.stats()}

    def close(self) -> None:
        self.exporter.close()
        self.sink.close()


def export_config(settings: Settings) -> ExportConfig:
    """The exporter's config; ``InvalidInput`` for a target without its endpoint or keys."""
    return ExportConfig(
        target=settings.export_target,
        endpoint=settings.export_endpoint,
        public_key=settings.export_public_key,
        secret_key=settings.export_secret_key.get_secret_value(),
        timeout_s=settings.export_timeout_s,
    )


def observer_actor(settings: Settings) -> ray.actor.ActorHandle:
    """The observer actor. Threaded: every HTTP request emits here; the ring takes one
    short lock."""
    export_config(settings)  # a bad export setting fails here, not in a restart loop
    return stateful_actor(ObserverActor, actor_name(settings), settings, max_concurrency=32)


def actor_name(settings: Settings) -> str:
    return f"{ACTOR_PREFIX}-{store_identity(settings)}"
