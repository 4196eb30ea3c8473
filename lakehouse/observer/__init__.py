"""The observer: a bounded ring of recent events, persisted best-effort, and their export.

ObserverRing     emit / query (time, kind, trace id) / stats; evicts the oldest when full
JsonlFileSink    rotating JSONL persistence (EventSink is the interface)
Exporter         OTLP/HTTP JSON spans or Langfuse ingestion batches (ExportConfig)
"""

from lakehouse.observer.ring import (
    KIND_HTTP_REQUEST,
    KIND_WORKFLOW_NODE,
    KIND_WORKFLOW_RUN,
    Event,
    ObserverRing,
)
from lakehouse.observer.sink import EventSink, JsonlFileSink
from lakehouse.observer.span_export import ExportConfig, Exporter
from lakehouse.observer.spans import Span, event_span, langfuse_body, otlp_body, run_spans

__all__ = [
    "KIND_HTTP_REQUEST",
    "KIND_WORKFLOW_NODE",
    "KIND_WORKFLOW_RUN",
    "Event",
    "EventSink",
    "ExportConfig",
    "Exporter",
    "JsonlFileSink",
    "ObserverRing",
    "Span",
    "event_span",
    "langfuse_body",
    "otlp_body",
    "run_spans",
]
