"""``/v1/distill``: the service's own logs materialized as evidence datasets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request

from deployments.distill import Distill
from deployments.tracing import current_trace_id
from deployments.wire import ERRORS
from deployments.wire.distill import RUN_ID, CompareRequest, MaterializeRequest
from lakehouse.distill.replay import ReplayRequest

router = APIRouter(prefix="/v1/distill", tags=["distill"], responses=ERRORS)


def distill(request: Request) -> Distill:
    return request.app.state.distill


@router.post(
    "/materialize",
    summary="Turn the service's logs into evidence datasets (idempotent, with a receipt)",
    description=(
        "Reads the session log, replay log, observer sink, playbook records and pathway "
        "events; adds the rows not yet materialized to the day datasets "
        "`evidence_<transform>_<YYYYMMDD>` (queryable with `/v1/sql`); returns the receipt "
        "(inputs with SHA-256, counts in/out/duplicate/malformed/skipped per transform, "
        "outputs). The same inputs again add zero rows. 400 for an unknown transform."
    ),
)
async def materialize(
    body: MaterializeRequest | None = None, dist: Distill = Depends(distill)
) -> dict[str, Any]:
    return await dist.materialize(body.transforms if body else None)


@router.get(
    "/receipts",
    summary="The newest materialize receipts in brief; unreadable objects go in `skipped`",
)
async def receipts(
    limit: int = Query(default=20, ge=1, le=1000), dist: Distill = Depends(distill)
) -> dict[str, Any]:
    return await dist.receipts(limit)


@router.get("/receipts/{run_id}", summary="A materialize run's receipt (404: none, or malformed)")
async def receipt(
    run_id: str = Path(max_length=64, pattern=RUN_ID),
    dist: Distill = Depends(distill),
) -> dict[str, Any]:
    return await dist.receipt(run_id)


@router.post(
    "/replay",
    summary="Replay recorded sessions or tasks: retrieve -> bundle -> chat -> validate",
    description=(
        "`sessions` (ids from the session log) or inline `tasks`, at most 100. Mode `full` "
        "runs each through matrix search, the prompt with the retrieved roster facts, the "
        "iterate loop (the configured provider; `model`, or the `tier` gate, or the "
        "session's own model) and the validator; mode `retrieval` asks no model and reports "
        "the rank of the recorded successes in what retrieval returns now. One "
        "`replay_run.v1` row per task goes to the replay log, joined by `session_id`. "
        "404 for a session id not in the log or an unknown corpus, with nothing written."
    ),
)
async def replay(body: ReplayRequest, dist: Distill = Depends(distill)) -> dict[str, Any]:
    return await dist.replay(body, current_trace_id())


@router.post("/replay/compare", summary="Two replay runs side by side, per model")
async def compare(body: CompareRequest, dist: Distill = Depends(distill)) -> dict[str, Any]:
    return await dist.compare(body.a, body.b)
