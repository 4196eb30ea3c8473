"""``/v1/catalog``: the registered datasets and their manifests."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from actors.services import Services
from deployments.routes.deps import services
from deployments.wire.common import ERRORS, DatasetListResponse, ManifestResponse
from lakehouse.catalog import validate_dataset_name

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], responses=ERRORS)


@router.get("/datasets", response_model=DatasetListResponse, summary="List datasets")
async def list_datasets(svc: Services = Depends(services)) -> DatasetListResponse:
    manifests = await svc.catalog.list()
    return DatasetListResponse(datasets=[ManifestResponse.of(m) for m in manifests])


@router.get("/datasets/{name}", response_model=ManifestResponse, summary="One dataset's manifest")
async def get_dataset(name: str, svc: Services = Depends(services)) -> ManifestResponse:
    validate_dataset_name(name)
    return ManifestResponse.of(await svc.catalog.get(name))
