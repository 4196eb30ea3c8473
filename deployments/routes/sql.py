"""``POST /v1/sql``: read-only SQL over the datasets (one view per dataset name)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from actors.services import Services
from deployments.fastjson import json_response
from deployments.routes.deps import services
from deployments.wire.common import ERRORS, SqlRequest, SqlResponse

router = APIRouter(tags=["sql"], responses=ERRORS)


@router.post(
    "/v1/sql",
    response_model=SqlResponse,
    summary="Run one read-only SELECT",
    description=(
        "One SELECT or WITH query over the dataset views. Writes, SET, ATTACH, INSTALL, LOAD, "
        "COPY and file access outside the datasets are refused (400); queries past the time "
        "limit are cancelled (408); results past the row cap come back with `truncated`."
    ),
)
async def run_sql(body: SqlRequest, svc: Services = Depends(services)) -> Response:
    result = await svc.query(body.sql)
    return json_response(result.to_dict())
