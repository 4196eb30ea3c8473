"""Wire models shared by several route families: health, objects, catalog, SQL, errors."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from deployments.wire.base import WireModel
from lakehouse.catalog import Manifest


class HealthResponse(WireModel):
    status: str
    version: str


class ObjectInfoResponse(WireModel):
    key: str
    size: int
    etag: str


class ObjectListResponse(WireModel):
    prefix: str
    objects: list[ObjectInfoResponse]
    truncated: bool


class ColumnModel(WireModel):
    name: str
    type: str


class ManifestResponse(WireModel):
    dataset_id: str
    name: str
    fingerprint: str
    object_key: str
    row_count: int
    columns: list[ColumnModel]
    size_bytes: int
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, manifest: Manifest) -> ManifestResponse:
        data = manifest.to_dict()
        data.pop("etag", None)
        data.pop("extra", None)
        return cls.model_validate(data)


class DatasetListResponse(WireModel):
    datasets: list[ManifestResponse]


class DatasetDeleteResponse(WireModel):
    name: str
    deleted: list[str] = Field(description="object keys removed: the manifest, then the Parquet")
    notice: str


class SqlRequest(WireModel):
    sql: str = Field(min_length=1, max_length=100_000, description="one SELECT or WITH query")


class SqlResponse(WireModel):
    columns: list[ColumnModel]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = Field(description="true when more rows matched than the row cap")


class ErrorResponse(WireModel):
    error: str
    message: str
    details: Any = None


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 408, 409, 413, 500)
}
ERRORS[503] = {
    "model": ErrorResponse,
    "description": "`temporarily_unavailable` (an actor restarting, every worker busy, no "
    "corpus in time): ask again after `Retry-After`; `unavailable`: missing configuration",
    "headers": {"Retry-After": {"description": "seconds; only on `temporarily_unavailable`",
                                "schema": {"type": "integer"}}},
}  # fmt: skip
# routes that reach an embedder or a chat provider: its garbled answer (502), its silence (504),
# a reply with no usable JSON (422)
UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    **{status: {"model": ErrorResponse} for status in (422, 502, 504)},
}
