"""``/v1/distill``: the service's own logs materialized as evidence datasets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from deployments.distill import Distill
from deployments.models import ERRORS

router = APIRouter(prefix="/v1/distill", tags=["distill"], responses=ERRORS)


class MaterializeRequest(BaseModel):
    """``POST /v1/distill/materialize`` body; no ``transforms`` means all of them."""

    model_config = ConfigDict(extra="forbid")

    transforms: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="some of sessions, replay_runs, observer_events, playbook_records, "
        "pathway_events",
    )


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


@router.get("/receipts/{run_id}", summary="A materialize run's receipt")
async def receipt(
    run_id: str = Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$"),
    dist: Distill = Depends(distill),
) -> dict[str, Any]:
    return await dist.receipt(run_id)
