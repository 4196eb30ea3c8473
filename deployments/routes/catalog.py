"""``/v1/catalog``: the registered datasets and their manifests."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from actors.services import Services
from deployments.routes.deps import services
from deployments.wire.common import (
    ERRORS,
    DatasetDeleteResponse,
    DatasetListResponse,
    ManifestResponse,
)
from lakehouse.catalog import validate_dataset_name
from lakehouse.errors import Conflict

CORPORA_NOTICE = (
    "corpora embedded from this dataset keep their vectors and metadata (copies); "
    "delete them with DELETE /v1/vectors/corpora/{name} or re-embed"
)

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], responses=ERRORS)


@router.get("/datasets", response_model=DatasetListResponse, summary="List datasets")
async def list_datasets(svc: Services = Depends(services)) -> DatasetListResponse:
    manifests = await svc.catalog.list()
    return DatasetListResponse(datasets=[ManifestResponse.of(m) for m in manifests])


@router.get("/datasets/{name}", response_model=ManifestResponse, summary="One dataset's manifest")
async def get_dataset(name: str, svc: Services = Depends(services)) -> ManifestResponse:
    validate_dataset_name(name)
    return ManifestResponse.of(await svc.catalog.get(name))


@router.delete(
    "/datasets/{name}",
    response_model=DatasetDeleteResponse,
    summary="Delete a dataset",
    description=(
        "Removes the manifest (the SQL view goes with it) and every object under "
        "`datasets/<name>/`. The roster dataset (`LAKEHOUSE_ROSTER_DATASET`, read by the "
        "validators and `sql_filter`) is refused with 409 unless `force=true`. Corpora "
        "embedded from the dataset are not changed; the answer's `notice` says so."
    ),
)
async def delete_dataset(
    name: str,
    force: bool = Query(default=False, description="also delete the roster dataset"),
    svc: Services = Depends(services),
) -> DatasetDeleteResponse:
    validate_dataset_name(name)
    if name == svc.settings.roster_dataset and not force:
        raise Conflict(
            f"{name!r} is the roster the validators and sql_filter read; add force=true",
            dataset=name,
        )
    deleted = await svc.catalog.delete(name)
    await svc.follower.sync()
    return DatasetDeleteResponse(name=name, deleted=deleted, notice=CORPORA_NOTICE)
