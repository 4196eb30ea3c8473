"""``/v1/storage/objects``: put, get, delete and list raw objects.

The prefixes the services own (``lakehouse.storage.owned``: ``catalog/``, ``datasets/``,
``staging/``, ``corpora/``, ``vectors/``, ``pathway/``, ``playbooks/``, ``drift/``,
``distill/``) are read-only here:
they change only through their own routes, so the storage API can never corrupt or forge a
dataset, an index, a log or an audit record.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from actors.services import Services
from deployments.routes.deps import services
from deployments.wire.common import ERRORS, ObjectInfoResponse, ObjectListResponse
from lakehouse.errors import Forbidden, TooLarge
from lakehouse.storage import validate_key
from lakehouse.storage.owned import SERVICE_PREFIXES, service_owned

router = APIRouter(prefix="/v1/storage", tags=["storage"], responses=ERRORS)


@router.put(
    "/objects/{key:path}",
    response_model=ObjectInfoResponse,
    summary="Write an object",
    # the body is streamed by hand (capped, never parsed), so it is declared here
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_object(
    key: str,
    request: Request,
    svc: Services = Depends(services),
    if_none_match: str | None = Header(default=None, description="'*': create only"),
) -> ObjectInfoResponse:
    _writable(key)
    body = await _read_capped(request, svc.store.max_object_bytes)
    info = await asyncio.to_thread(svc.store.put, key, body, if_absent=if_none_match == "*")
    return ObjectInfoResponse(key=info.key, size=info.size, etag=info.etag)


@router.get("/objects/{key:path}", summary="Read an object", response_class=StreamingResponse)
async def get_object(key: str, svc: Services = Depends(services)) -> StreamingResponse:
    validate_key(key)
    info = await asyncio.to_thread(svc.store.head, key)
    chunks = await asyncio.to_thread(svc.store.iter_chunks, key)
    headers = {"ETag": f'"{info.etag}"', "Content-Length": str(info.size)}
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)


@router.delete("/objects/{key:path}", status_code=204, summary="Delete an object")
async def delete_object(key: str, svc: Services = Depends(services)) -> Response:
    _writable(key)
    await asyncio.to_thread(svc.store.delete, key)
    return Response(status_code=204)


@router.get("/objects", response_model=ObjectListResponse, summary="List objects by prefix")
async def list_objects(
    svc: Services = Depends(services),
    prefix: str = Query(default="", max_length=1024),
    limit: int | None = Query(default=None, ge=1, le=100_000),
) -> ObjectListResponse:
    listing = await asyncio.to_thread(svc.store.list, prefix, limit)
    objects = [ObjectInfoResponse(key=o.key, size=o.size, etag=o.etag) for o in listing.objects]
    return ObjectListResponse(prefix=prefix, objects=objects, truncated=listing.truncated)


def _writable(key: str) -> None:
    validate_key(key)
    if service_owned(key):
        owned = ", ".join(f"{p}/" for p in SERVICE_PREFIXES)
        raise Forbidden(f"keys under {owned} change only through their own routes")


async def _read_capped(request: Request, cap: int) -> bytes:
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise TooLarge(f"object exceeds the cap of {cap} bytes", limit=cap)
        parts.append(chunk)
    return b"".join(parts)
