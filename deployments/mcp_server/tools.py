"""The MCP tools: each one's arguments model, one-line description and handler.

Arguments are checked with the same pydantic models the HTTP routes use (the route's body
model, plus the path and query parameters as fields with the route's bounds), and handlers
call the route functions themselves, so a tool and its route answer alike, errors included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel, Field

from actors.services import Services
from deployments.assistant import Assistant
from deployments.routes import catalog, llm, matrix, observer, pathway, sql, vectors
from deployments.wire import pathway as pathway_wire
from deployments.wire import vectors as vectors_wire
from deployments.wire.base import WireModel
from deployments.wire.common import SqlRequest
from deployments.wire.matrix import MatrixSearchRequest, RecordRequest
from lakehouse.guard import ValidateRequest


@dataclass
class ToolCall:
    """What a handler may use: the replica's services and the HTTP request carrying the call."""

    services: Services
    assistant: Assistant
    request: Request


Handler = Callable[[ToolCall, Any], Awaitable[Any]]


@dataclass(frozen=True)
class ToolSpec:
    """One tool: ``args`` validates the arguments; ``write`` tools need ``mcp_write``."""

    name: str
    description: str
    args: type[BaseModel]
    handler: Handler
    write: bool = False


class NoArgs(WireModel):
    pass


class DatasetArgs(WireModel):
    name: str = Field(min_length=1, max_length=128, description="dataset (and SQL view) name")


class CorpusSearchArgs(vectors_wire.SearchRequest):
    corpus: str = Field(min_length=1, max_length=63, description="corpus name")


class PathwayAddArgs(pathway_wire.AddRequest):
    idempotent: bool = Field(
        default=False, description="return the live trace with the same content, if any"
    )


class TraceArgs(WireModel):
    uid: str = Field(min_length=1, max_length=128, description="trace uid")
    as_of: float | None = Field(default=None, description="read as of this time (epoch seconds)")


class EventsArgs(WireModel):
    kind: str | None = Field(default=None, max_length=128, description="only this event kind")
    trace_id: str | None = Field(default=None, max_length=128, description="only this trace id")
    since: float | None = Field(default=None, description="ts at or after (epoch seconds)")
    until: float | None = Field(default=None, description="ts at or before (epoch seconds)")
    limit: int = Field(default=100, ge=1, le=observer.MAX_EVENTS)


class PlaybookArgs(WireModel):
    limit: int = Field(default=100, ge=1, le=1000, description="newest first")


async def _sql(call: ToolCall, args: SqlRequest) -> Any:
    return await sql.run_sql(args, call.services)


async def _list_datasets(call: ToolCall, args: NoArgs) -> Any:
    return await catalog.list_datasets(call.services)


async def _describe_dataset(call: ToolCall, args: DatasetArgs) -> Any:
    return await catalog.get_dataset(args.name, call.services)


async def _list_corpora(call: ToolCall, args: NoArgs) -> Any:
    return await vectors.list_corpora(call.services)


async def _search_corpus(call: ToolCall, args: CorpusSearchArgs) -> Any:
    return await vectors.search(args.corpus, args, call.services)


async def _matrix_search(call: ToolCall, args: MatrixSearchRequest) -> Any:
    return await matrix.search(args, call.services)


async def _record_outcome(call: ToolCall, args: RecordRequest) -> Any:
    return await matrix.record(args, call.request, call.services)


async def _playbook_records(call: ToolCall, args: PlaybookArgs) -> Any:
    return await matrix.list_records(args.limit, call.services)


async def _validate(call: ToolCall, args: ValidateRequest) -> Any:
    return await llm.validate(args, call.assistant)


async def _pathway_add(call: ToolCall, args: PathwayAddArgs) -> Any:
    store = pathway.pathway(call.services)
    return await pathway.add_trace(args, Response(), args.idempotent, store)


async def _pathway_get(call: ToolCall, args: TraceArgs) -> Any:
    return await pathway.get_trace(args.uid, args.as_of, pathway.pathway(call.services))


async def _pathway_history(call: ToolCall, args: TraceArgs) -> Any:
    return await pathway.trace_history(args.uid, args.as_of, pathway.pathway(call.services))


async def _pathway_search(call: ToolCall, args: pathway_wire.SearchRequest) -> Any:
    return await pathway.search_traces(args, pathway.pathway(call.services))


async def _observer_events(call: ToolCall, args: EventsArgs) -> Any:
    ring = observer.observer(call.services)
    fields = args.model_dump()
    return await observer.list_events(**fields, ring=ring)


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("sql", "Run one read-only SELECT over the dataset views.", SqlRequest, _sql),
    ToolSpec("list_datasets", "List datasets with their schemas.", NoArgs, _list_datasets),
    ToolSpec(
        "describe_dataset",
        "One dataset's schema, row count and fingerprint.",
        DatasetArgs,
        _describe_dataset,
    ),
    ToolSpec("list_corpora", "List vector corpora with sizes.", NoArgs, _list_corpora),
    ToolSpec(
        "search_corpus",
        "k nearest items of one corpus to a text or vector, with metadata filters.",
        CorpusSearchArgs,
        _search_corpus,
    ),
    ToolSpec(
        "matrix_search",
        "Search several corpora at once; merged hits, each with its explanation.",
        MatrixSearchRequest,
        _matrix_search,
    ),
    ToolSpec(
        "record_outcome",
        "Record that the ids served a query well (success) or badly (failure).",
        RecordRequest,
        _record_outcome,
        write=True,
    ),
    ToolSpec(
        "playbook_records",
        "Recorded outcomes, newest first (the playbook audit).",
        PlaybookArgs,
        _playbook_records,
    ),
    ToolSpec(
        "validate",
        "Check a fill, email, sms or playbook payload against roster and policy.",
        ValidateRequest,
        _validate,
    ),
    ToolSpec(
        "pathway_add",
        "Store a JSON trace (version 1); idempotent returns an equal live one.",
        PathwayAddArgs,
        _pathway_add,
        write=True,
    ),
    ToolSpec("pathway_get", "One trace by uid, optionally as of a time.", TraceArgs, _pathway_get),
    ToolSpec(
        "pathway_history",
        "A trace's versions and predecessors, newest first.",
        TraceArgs,
        _pathway_history,
    ),
    ToolSpec(
        "pathway_search",
        "Live traces by text, tags and time window.",
        pathway_wire.SearchRequest,
        _pathway_search,
    ),
    ToolSpec(
        "observer_events",
        "Recent observer events, filtered by trace id, kind or time.",
        EventsArgs,
        _observer_events,
    ),
)
