"""``POST /v1/embed``: texts → unit vectors with the configured embedder."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from actors.services import Services
from deployments.fastjson import json_response
from deployments.routes.deps import services
from deployments.wire.common import UPSTREAM_ERRORS
from deployments.wire.embed import EmbedRequest
from lakehouse.vectors.packed import encode

router = APIRouter(tags=["embed"], responses=UPSTREAM_ERRORS)


@router.post(
    "/v1/embed",
    summary="Embed texts",
    description=(
        "In-process all-MiniLM-L6-v2 (ONNX, int8; 384-d) by default, or Ollama with "
        "`LAKEHOUSE_EMBED_BACKEND=ollama`. `kind` picks the document or query prefix where "
        "the model has them. Rows are L2-normalised. `encoding: base64-f32le` answers "
        '`vectors` as `{"encoding", "dim", "data"}` (base64 of little-endian float32 rows).'
    ),
)
async def embed(body: EmbedRequest, svc: Services = Depends(services)) -> Response:
    embed_fn = svc.embed_queries if body.kind == "query" else svc.embed_documents
    vectors = await embed_fn(body.texts)
    embedder = svc.embedder
    out = encode(vectors) if body.encoding == "base64-f32le" else vectors  # numpy: orjson
    return json_response({"model": embedder.name, "dim": embedder.dim, "vectors": out})
