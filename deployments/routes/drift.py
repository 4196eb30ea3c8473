"""``/v1/drift``: reports (embedding, verdict, playbook, baseline drift) and baselines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from actors import metrics
from deployments.distill import Distill
from deployments.routes.distill import distill
from deployments.tracing import current_trace_id
from deployments.wire import ERRORS
from deployments.wire.distill import BASELINE_NAME, BaselineRequest
from lakehouse.drift import DriftRequest

router = APIRouter(prefix="/v1/drift", tags=["drift"], responses=ERRORS)


@router.post(
    "/report",
    summary="A drift report: embedding, verdict, playbook or baseline drift",
    description=(
        'Windows are `{"dataset": name}` or `{"transform": "sessions", "start": day, '
        '"end": day}` (evidence days from `/v1/distill/materialize`). Answers sample '
        "sizes, statistics, the thresholds used and `verdict` (`drift` / `no_drift`). 400 "
        "for a malformed threshold or window, 404 for a dataset, window, playbook corpus "
        "or baseline that does not exist, 503 for embedding drift with no embedder. Each "
        "report's main statistics are also published as the `lakehouse_drift_statistic` "
        "metric (tags `kind`, `statistic`, `verdict`)."
    ),
)
async def report(body: DriftRequest, dist: Distill = Depends(distill)) -> dict[str, Any]:
    report = await dist.drift(body, current_trace_id())
    metrics.drift(report)  # lakehouse_drift_statistic{kind, statistic, verdict}
    return report


@router.post("/baselines", status_code=201, summary="Save a window's figures as a baseline")
async def save_baseline(body: BaselineRequest, dist: Distill = Depends(distill)) -> dict[str, Any]:
    return await dist.save_baseline(body.name, body.window)


@router.get("/baselines/{name}", summary="A saved baseline")
async def baseline(
    name: str = Path(pattern=BASELINE_NAME), dist: Distill = Depends(distill)
) -> dict[str, Any]:
    return await dist.baseline(name)
