"""``/v1/vectors/corpora``: corpora of vectors sharded over actors; add, search, delete."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deployments.models import UPSTREAM_ERRORS
from deployments.routes.deps import services
from deployments.services import Services
from lakehouse.errors import InvalidInput
from lakehouse.vectors.registry import MAX_SHARDS, make_corpus

router = APIRouter(prefix="/v1/vectors", tags=["vectors"], responses=UPSTREAM_ERRORS)
MAX_BATCH = 10_000
MAX_TEXTS = 1_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CorpusRequest(_Model):
    name: str = Field(min_length=1, max_length=63)
    dim: int = Field(ge=1, le=8192)
    space: Literal["cosine", "l2", "ip"] = "cosine"
    shards: int = Field(default=1, ge=1, le=MAX_SHARDS)


class AddRequest(_Model):
    ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    vectors: list[list[float]] | None = Field(default=None, max_length=MAX_BATCH)
    texts: list[str] | None = Field(default=None, max_length=MAX_TEXTS)
    metadata: list[dict[str, Any] | None] | None = Field(default=None, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _one_source(self) -> AddRequest:
        if (self.vectors is None) == (self.texts is None):
            raise ValueError("send exactly one of vectors or texts")
        return self


class SearchRequest(_Model):
    vector: list[float] | None = Field(default=None, max_length=8192)
    text: str | None = Field(default=None, max_length=10_000)
    k: int = Field(default=10, ge=1, le=1000)
    ef: int | None = Field(default=None, ge=1, le=4096)
    filter: dict[str, Any] | None = None
    exclude_ids: list[str] | None = Field(default=None, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _one_query(self) -> SearchRequest:
        if (self.vector is None) == (self.text is None):
            raise ValueError("send exactly one of vector or text")
        return self


class DeleteRequest(_Model):
    ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


@router.post(
    "/corpora",
    status_code=201,
    summary="Create a corpus (idempotent)",
    responses={200: {"description": "the same definition exists already (`created: false`)"}},
)
async def create_corpus(
    body: CorpusRequest, response: Response, svc: Services = Depends(services)
) -> dict[str, Any]:
    corpus = make_corpus(body.name, body.dim, body.space, body.shards)
    created_corpus, created = await svc.vectors.registry.create(corpus)
    if not created:
        response.status_code = 200
    return {**created_corpus.to_dict(), "created": created}


@router.get("/corpora", summary="List corpora with their sizes")
async def list_corpora(svc: Services = Depends(services)) -> dict[str, Any]:
    corpora = await svc.vectors.registry.list()
    out = []
    for corpus in corpora:
        out.append({**corpus.to_dict(), "size": await svc.vectors.sizes(corpus.name)})
    return {"corpora": out}


@router.delete("/corpora/{name}", status_code=204, summary="Delete a corpus and its data")
async def delete_corpus(name: str, svc: Services = Depends(services)) -> Response:
    try:
        await svc.vectors.registry.delete(name)
        svc.vectors.forget(name)
    finally:
        _written(svc, name)
    return Response(status_code=204)


@router.post("/corpora/{name}/add", summary="Add or replace vectors (or texts, embedded)")
async def add(name: str, body: AddRequest, svc: Services = Depends(services)) -> dict[str, int]:
    vectors = body.vectors
    if body.texts is not None:
        if len(body.texts) != len(body.ids):
            raise InvalidInput("texts and ids must have the same length", field="texts")
        vectors = await svc.embed_documents(body.texts)
    try:
        added = await svc.vectors.add(name, body.ids, vectors, body.metadata)
    finally:  # even a failed add may have reached some shards
        _written(svc, name)
    return {"added": added}


class Hit(_Model):
    id: str
    score: float
    metadata: dict[str, Any] | None = None


class SearchResponse(_Model):
    hits: list[Hit]
    complete: bool = Field(description="false when fewer than k items qualified")


@router.post(
    "/corpora/{name}/search",
    summary="k nearest neighbours, filtered",
    response_model=SearchResponse,
)
async def search(name: str, body: SearchRequest, svc: Services = Depends(services)) -> Response:
    vector = body.vector
    if body.text is not None:
        vector = (await svc.embed_queries([body.text]))[0]
    found = await svc.vectors.search(
        name, vector, body.k, ef=body.ef, exclude_ids=body.exclude_ids, filter=body.filter
    )
    # the hot read path: the shards' plain dicts are encoded as they are (the model above
    # documents them) rather than walked again by FastAPI's encoder
    return JSONResponse(found)


@router.post("/corpora/{name}/delete", summary="Delete ids")
async def delete(name: str, body: DeleteRequest, svc: Services = Depends(services)) -> dict:
    try:
        return {"deleted": await svc.vectors.delete(name, body.ids)}
    finally:
        _written(svc, name)


def _written(svc: Services, name: str) -> None:
    """Cached matrix answers covering ``name`` are stale now."""
    if svc.matrix is not None:
        svc.matrix.invalidate(name)
