"""``/v1/matrix``: one query over several corpora, merged and explained; the playbook."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deployments.models import UPSTREAM_ERRORS
from deployments.routes.deps import services
from deployments.services import Services
from lakehouse.errors import InvalidInput, NotFound, Unavailable
from lakehouse.matrix import MatrixQuery, MatrixSearch, Record, allow_list_sql
from lakehouse.matrix.engine import MAX_CORPORA, MAX_WEIGHT
from lakehouse.matrix.playbook import MAX_IDS, MAX_QUERY_CHARS

router = APIRouter(prefix="/v1/matrix", tags=["matrix"], responses=UPSTREAM_ERRORS)
MAX_EXCLUDE = 10_000
MAX_BULK = 256
ID_COLUMN = "worker_id"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CorpusWeight(_Model):
    name: str = Field(min_length=1, max_length=63)
    weight: float = Field(default=1.0, ge=0, le=MAX_WEIGHT)


class MatrixSearchRequest(_Model):
    query: str | None = Field(default=None, min_length=1, max_length=10_000)
    vector: list[float] | None = Field(default=None, min_length=1, max_length=8192)
    corpora: list[CorpusWeight] = Field(min_length=1, max_length=MAX_CORPORA)
    k: int = Field(default=10, ge=1, le=1000)
    fusion: Literal["rrf", "score"] = "rrf"
    filter: dict[str, Any] | None = None
    sql_filter: str | None = Field(default=None, max_length=2000)
    exclude_ids: list[str] | None = Field(default=None, max_length=MAX_EXCLUDE)
    min_score: float | None = Field(default=None, ge=0)
    use_playbook: bool = False
    timeout_ms: int = Field(default=2000, ge=10, le=60_000)

    @model_validator(mode="after")
    def _one_query(self) -> MatrixSearchRequest:
        if (self.vector is None) == (self.query is None):
            raise ValueError("send exactly one of query or vector")
        return self


class RecordRequest(_Model):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    ids: list[str] = Field(min_length=1, max_length=MAX_IDS)
    outcome: Literal["success", "failure"]
    weight: float = Field(default=1.0, gt=0, le=10)

    def to_record(self) -> Record:
        return Record(self.query, tuple(self.ids), self.outcome, self.weight)


class BulkRecordRequest(_Model):
    records: list[RecordRequest] = Field(min_length=1, max_length=MAX_BULK)


@router.post("/search", summary="Search several corpora at once; merged, explained hits")
async def search(body: MatrixSearchRequest, svc: Services = Depends(services)) -> dict:
    matrix = _matrix(svc)
    allow = await _allow_list(svc, body.sql_filter) if body.sql_filter is not None else None
    for corpus in body.corpora:  # unknown corpus: 404 before any search runs
        await svc.vectors.corpus(corpus.name)
    query = MatrixQuery(
        corpora=[(c.name, c.weight) for c in body.corpora],
        text=body.query,
        vector=body.vector,
        k=body.k,
        fusion=body.fusion,
        filter=body.filter,
        exclude_ids=body.exclude_ids,
        allow_ids=allow,
        min_score=body.min_score,
        use_playbook=body.use_playbook,
        timeout_s=body.timeout_ms / 1000,
    )
    return await matrix.search(query)


@router.post("/playbooks/record", summary="Record an outcome for a query")
async def record(body: RecordRequest, request: Request, svc: Services = Depends(services)):
    rows = await _matrix(svc).record([body.to_record()], who=_who(request))
    return {"recorded": rows}


@router.post("/playbooks/record/bulk", summary="Record many outcomes (all or nothing checked)")
async def record_bulk(
    body: BulkRecordRequest, request: Request, svc: Services = Depends(services)
) -> dict:
    records = [r.to_record() for r in body.records]
    rows = await _matrix(svc).record(records, who=_who(request))
    return {"recorded": rows}


@router.get(
    "/playbooks",
    summary="Recorded outcomes, newest first (the audit trail)",
    description="`skipped` lists `{key, reason}` for each unreadable audit object (not counted).",
)
async def list_records(
    limit: int = Query(default=100, ge=1, le=1000), svc: Services = Depends(services)
) -> dict:
    records, skipped = await asyncio.to_thread(_matrix(svc).list_records, limit)
    return {"records": records, "skipped": skipped}


def _matrix(svc: Services) -> MatrixSearch:
    if svc.matrix is None:
        raise Unavailable("matrix search is not configured in this replica")
    return svc.matrix


async def _allow_list(svc: Services, predicate: str) -> list[str]:
    """Run the predicate over the roster; its ids are the only ones the shards may return."""
    dataset = svc.settings.roster_dataset
    sql = allow_list_sql(dataset, ID_COLUMN, predicate)  # InvalidInput before any query
    if await svc.manifest(dataset) is None:
        raise NotFound(f"the roster dataset {dataset!r} is not in the catalog")
    cap = min(svc.matrix.config.max_allow_ids, svc.settings.sql_max_rows)
    result = await svc.query(sql)
    if result.truncated or result.row_count > cap:
        raise InvalidInput(f"sql_filter matches more than {cap} workers; narrow it")
    return [str(row[0]) for row in result.rows if row[0] is not None]


def _who(request: Request) -> str:
    """Who recorded it: a hash prefix of the bearer token, else the client address."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:12]
    return "addr:" + (request.client.host if request.client else "unknown")
