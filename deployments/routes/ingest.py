"""``POST /v1/ingest``: a CSV upload streamed to disk, converted to Parquet, registered."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request

from actors import metrics
from actors.services import Services
from deployments.routes.deps import services
from deployments.upload import receive_file
from deployments.wire.common import ERRORS, ManifestResponse
from lakehouse.catalog import validate_dataset_name
from lakehouse.ingest import csv_to_parquet

router = APIRouter(tags=["ingest"], responses=ERRORS)
# The body is streamed by hand (never parsed into memory by FastAPI), so it is declared here.
CSV_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}


@router.post(
    "/v1/ingest",
    response_model=ManifestResponse,
    status_code=201,
    summary="Ingest a CSV as a dataset",
    openapi_extra={"requestBody": CSV_BODY},
    description=(
        "Send the CSV as multipart field `file` (or a raw `text/csv` body). The body is "
        "streamed to disk (413 past the cap), converted to Parquet and registered. The same "
        "schema again replaces the data; another schema is refused with 409."
    ),
)
async def ingest(
    request: Request,
    name: str = Query(description="dataset name, also its SQL view name"),
    svc: Services = Depends(services),
) -> ManifestResponse:
    validate_dataset_name(name)
    cfg = svc.settings
    csv_path = await receive_file(request, cfg.tmp_dir, cfg.ingest_max_bytes)
    csv_bytes = csv_path.stat().st_size
    parquet = cfg.tmp_dir / f"ingest-{uuid.uuid4().hex}.parquet"
    try:
        result = await asyncio.to_thread(
            csv_to_parquet,
            csv_path,
            parquet,
            max_bytes=cfg.ingest_max_bytes,
            block_bytes=cfg.ingest_block_bytes,
            max_field_bytes=cfg.ingest_max_field_bytes,
            max_columns=cfg.ingest_max_columns,
        )
        await svc.catalog.check(name, result.columns)  # fail fast, before any upload
        staged = f"staging/{uuid.uuid4().hex}.parquet"
        await asyncio.to_thread(svc.store.put_file, staged, parquet, consume=True)
        manifest = await svc.catalog.register(name, result.columns, result.row_count, staged)
    finally:
        _remove(csv_path, parquet)
    metrics.inc("lakehouse_ingest_rows", manifest.row_count, dataset=name)
    metrics.inc("lakehouse_ingest_bytes", csv_bytes, dataset=name)
    return ManifestResponse.of(manifest)


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
