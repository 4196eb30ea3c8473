"""``/v1/matrix``: one query over several corpora, merged and explained; the playbook."""

from __future__ import annotations

import asyncio
import hashlib

from fastapi import APIRouter, Depends, Query, Request, Response

from actors import metrics
from actors.services import Services
from deployments.fastjson import OrjsonRoute, json_response
from deployments.routes.deps import services
from deployments.wire.common import UPSTREAM_ERRORS
from deployments.wire.matrix import (
    BulkRecordRequest,
    MatrixSearchRequest,
    RecordRequest,
)
from lakehouse.errors import InvalidInput, NotFound
from lakehouse.matrix import MatrixQuery, allow_list_sql
from lakehouse.vectors.packed import unpack_one
from lakehouse.vectors.registry import Corpus

router = APIRouter(
    prefix="/v1/matrix", tags=["matrix"], responses=UPSTREAM_ERRORS, route_class=OrjsonRoute
)


@router.post("/search", summary="Search several corpora at once; merged, explained hits")
async def search(body: MatrixSearchRequest, svc: Services = Depends(services)) -> Response:
    # unknown corpus: 404 before any search runs
    corpora = [await svc.vectors.corpus(c.name) for c in body.corpora]
    allow = None
    if body.sql_filter is not None:
        allow = await _allow_list(svc, corpora, body.sql_filter)
    query = MatrixQuery(
        corpora=[(c.name, c.weight) for c in body.corpora],
        text=body.query,
        vector=unpack_one(body.vector),
        k=body.k,
        fusion=body.fusion,
        filter=body.filter,
        exclude_ids=body.exclude_ids,
        allow_ids=allow,
        min_score=body.min_score,
        use_playbook=body.use_playbook,
        timeout_s=body.timeout_ms / 1000,
    )
    return json_response(await svc.matrix.search(query))


@router.post("/playbooks/record", summary="Record an outcome for a query")
async def record(body: RecordRequest, request: Request, svc: Services = Depends(services)):
    rows = await svc.matrix.record([body.to_record()], who=_who(request))
    metrics.inc("lakehouse_playbook_records", len(rows), mode="single")
    return {"recorded": rows}


@router.post("/playbooks/record/bulk", summary="Record many outcomes (all or nothing checked)")
async def record_bulk(
    body: BulkRecordRequest, request: Request, svc: Services = Depends(services)
) -> dict:
    records = [r.to_record() for r in body.records]
    rows = await svc.matrix.record(records, who=_who(request))
    metrics.inc("lakehouse_playbook_records", len(rows), mode="bulk")
    return {"recorded": rows}


@router.get(
    "/playbooks",
    summary="Recorded outcomes, newest first (the audit trail)",
    description="`skipped` lists `{key, reason}` for each unreadable audit object (not counted).",
)
async def list_records(
    limit: int = Query(default=100, ge=1, le=1000), svc: Services = Depends(services)
) -> dict:
    records, skipped = await asyncio.to_thread(svc.matrix.list_records, limit)
    return {"records": records, "skipped": skipped}


async def _allow_list(svc: Services, corpora: list[Corpus], predicate: str) -> list[str]:
    """Run the predicate over the corpora's dataset; its ids are the only ones the shards may
    return. The dataset and id column come from the corpora's profiles (a corpus with no
    dataset in its profile is read as the roster, ``LAKEHOUSE_ROSTER_DATASET``)."""
    sources = {
        (c.profile.dataset or svc.settings.roster_dataset, c.profile.id_column) for c in corpora
    }
    if len(sources) > 1:
        names = ", ".join(f"{d}.{i}" for d, i in sorted(sources))
        raise InvalidInput(f"sql_filter needs corpora built from one dataset, not {names}")
    dataset, id_column = sources.pop()
    sql = allow_list_sql(dataset, id_column, predicate)  # InvalidInput before any query
    if await svc.manifest(dataset) is None:
        raise NotFound(f"the dataset {dataset!r} of these corpora is not in the catalog")
    cap = min(svc.matrix.config.max_allow_ids, svc.settings.sql_max_rows)
    result = await svc.query(sql)
    if result.truncated or result.row_count > cap:
        raise InvalidInput(f"sql_filter matches more than {cap} rows; narrow it")
    return [str(row[0]) for row in result.rows if row[0] is not None]


def _who(request: Request) -> str:
    """Who recorded it: a hash prefix of the bearer token, else the client address."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:12]
    return "addr:" + (request.client.host if request.client else "unknown")
