"""``/v1/pathway``: versioned JSON traces with no lost history (Mem0-style, plus revert).

Every write is checked before anything changes and is durable in the pathway log before
the response; each records the request's trace id. Reads take ``as_of`` (seconds since the
epoch) to see a trace as it stood then.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from actors.remote.facade import Facade
from actors.services import Services
from deployments.routes.deps import services
from deployments.tracing import current_trace_id
from deployments.wire.common import UPSTREAM_ERRORS
from deployments.wire.pathway import (
    AddRequest,
    ContentRequest,
    HistoryResponse,
    RevertRequest,
    SearchRequest,
    SearchResponse,
    TraceResponse,
)
from lakehouse.errors import Unavailable

router = APIRouter(prefix="/v1/pathway", tags=["pathway"], responses=UPSTREAM_ERRORS)
AsOf = Annotated[float | None, Query(description="read as of this time (epoch seconds)")]


def pathway(svc: Services = Depends(services)) -> Facade:
    if svc.pathway is None:
        raise Unavailable("the pathway store is not configured in this replica")
    return svc.pathway


@router.post(
    "/traces",
    status_code=201,
    response_model=TraceResponse,
    responses={200: {"model": TraceResponse, "description": "an idempotent replay"}},
    summary="Add a trace",
    description=(
        "201 with a new trace (version 1). With `?idempotent=true` the oldest live trace "
        "holding the same content (object key order aside) is returned instead, 200, its "
        "`replay_count` + 1 and its content and tags kept."
    ),
)
async def add_trace(
    body: AddRequest,
    response: Response,
    idempotent: bool = Query(default=False),
    store: Facade = Depends(pathway),
) -> dict[str, Any]:
    write = store.add_idempotent if idempotent else store.add
    trace = await write(body.content, body.tags, trace_id=current_trace_id())
    if trace.replay_count > 0:
        response.status_code = 200
    return trace.to_dict()


@router.get("/traces/{uid}", response_model=TraceResponse, summary="One trace (404 if unknown)")
async def get_trace(uid: str, as_of: AsOf = None, store: Facade = Depends(pathway)) -> Any:
    return (await store.get(uid, as_of=as_of)).to_dict()


@router.put(
    "/traces/{uid}",
    response_model=TraceResponse,
    summary="Update: same uid, next version (the old one stays in history)",
    description="409 if the trace is retired.",
)
async def update_trace(uid: str, body: ContentRequest, store: Facade = Depends(pathway)) -> Any:
    trace = await store.update(uid, body.content, body.tags, trace_id=current_trace_id())
    return trace.to_dict()


@router.post(
    "/traces/{uid}/revise",
    status_code=201,
    response_model=TraceResponse,
    summary="Revise: a new trace whose predecessor is this one",
)
async def revise_trace(uid: str, body: ContentRequest, store: Facade = Depends(pathway)) -> Any:
    trace = await store.revise(uid, body.content, body.tags, trace_id=current_trace_id())
    return trace.to_dict()


@router.post(
    "/traces/{uid}/retire",
    response_model=TraceResponse,
    summary="Retire: left out of search for good, still readable (twice is a no-op)",
)
async def retire_trace(uid: str, store: Facade = Depends(pathway)) -> Any:
    return (await store.retire(uid, trace_id=current_trace_id())).to_dict()


@router.post(
    "/traces/{uid}/revert",
    response_model=TraceResponse,
    summary="Revert: a new version with the content and tags of an earlier one",
    description="400 for the current version, 404 for one the trace never had, 409 if retired.",
)
async def revert_trace(uid: str, body: RevertRequest, store: Facade = Depends(pathway)) -> Any:
    trace = await store.revert(uid, body.version, trace_id=current_trace_id())
    return trace.to_dict()


@router.get(
    "/traces/{uid}/history",
    response_model=HistoryResponse,
    summary="Versions of the trace and its predecessors, newest first",
    description=(
        "`complete` is false when the walk stopped early: at a predecessor whose events "
        "were lost (`missing_predecessor`), at a cycle (`cycle_at`), or at the length cap."
    ),
)
async def trace_history(uid: str, as_of: AsOf = None, store: Facade = Depends(pathway)) -> Any:
    return (await store.history(uid, as_of=as_of)).to_dict()


@router.post(
    "/search",
    response_model=SearchResponse,
    summary="Live traces by text, tags and time window",
    description=(
        "Retired traces are never returned. With `text`, hits are ranked by similarity "
        "(`score`); without it, the most recently changed come first (`score` null)."
    ),
)
async def search_traces(body: SearchRequest, store: Facade = Depends(pathway)) -> Any:
    hits = await store.search(body.text, body.tags, body.since, body.until, body.k)
    return {"hits": [hit.to_dict() for hit in hits]}
