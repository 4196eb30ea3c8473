"""``/v1/vectors/corpora``: corpora of vectors sharded over actors; add, search, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from actors.services import Services
from deployments.fastjson import OrjsonRoute, json_response
from deployments.routes.deps import services
from deployments.wire.common import UPSTREAM_ERRORS
from deployments.wire.vectors import (
    MAX_BATCH,
    AddRequest,
    CorpusRequest,
    DeleteRequest,
    SearchRequest,
    SearchResponse,
)
from lakehouse.errors import InvalidInput, NotFound
from lakehouse.vectors.packed import unpack, unpack_one
from lakehouse.vectors.registry import make_corpus

router = APIRouter(
    prefix="/v1/vectors", tags=["vectors"], responses=UPSTREAM_ERRORS, route_class=OrjsonRoute
)


@router.post(
    "/corpora",
    status_code=201,
    summary="Create a corpus (idempotent)",
    responses={200: {"description": "the same definition exists already (`created: false`)"}},
)
async def create_corpus(
    body: CorpusRequest, response: Response, svc: Services = Depends(services)
) -> dict[str, Any]:
    profile = body.profile.to_profile() if body.profile else None
    if profile is not None and profile.dataset is not None:  # its columns, before creating
        manifest = await svc.manifest(profile.dataset)
        if manifest is None:
            raise NotFound(f"dataset {profile.dataset!r} is not in the catalog")
        profile.check_columns([c.name for c in manifest.columns], profile.dataset)
    corpus = make_corpus(body.name, body.dim, body.space, body.shards, profile=profile)
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
    await svc.vectors.registry.delete(name)
    svc.vectors.forget(name)
    return Response(status_code=204)


@router.post("/corpora/{name}/add", summary="Add or replace vectors (or texts, embedded)")
async def add(name: str, body: AddRequest, svc: Services = Depends(services)) -> dict[str, int]:
    vectors = unpack(body.vectors, MAX_BATCH)
    if body.texts is not None:
        if len(body.texts) != len(body.ids):
            raise InvalidInput("texts and ids must have the same length", field="texts")
        await svc.vectors.corpus(name)  # an unknown corpus is 404 before any embedding work
        vectors = await svc.embed_documents(body.texts)
    return {"added": await svc.vectors.add(name, body.ids, vectors, body.metadata)}


@router.post(
    "/corpora/{name}/search",
    summary="k nearest neighbours, filtered",
    response_model=SearchResponse,
)
async def search(name: str, body: SearchRequest, svc: Services = Depends(services)) -> Response:
    vector = unpack_one(body.vector)
    if body.text is not None:
        await svc.vectors.corpus(name)  # an unknown corpus is 404 before any embedding work
        vector = (await svc.embed_queries([body.text]))[0]
    found = await svc.vectors.search(
        name, vector, body.k, ef=body.ef, exclude_ids=body.exclude_ids, filter=body.filter
    )
    # the hot read path: the shards' plain dicts are encoded as they are (the model above
    # documents them) rather than walked again by FastAPI's encoder
    return json_response({"hits": found["hits"], "complete": found["complete"]})


@router.post("/corpora/{name}/delete", summary="Delete ids")
async def delete(name: str, body: DeleteRequest, svc: Services = Depends(services)) -> dict:
    return {"deleted": await svc.vectors.delete(name, body.ids)}
