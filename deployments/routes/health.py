"""``GET /health``: open, cheap, touches no actor (the latency floor of the benchmarks)."""

from __future__ import annotations

from fastapi import APIRouter

import lakehouse
from deployments.wire.common import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Liveness (no auth)")
async def health() -> HealthResponse:
    return HealthResponse(status="ok", version=lakehouse.__version__)
