"""Wire models of ``/v1/vectors`` (see ``deployments/routes/vectors.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from deployments.wire.base import WireModel
from lakehouse.vectors.packed import PackedVectors
from lakehouse.vectors.profile import MAX_METADATA_COLUMNS, MAX_TEMPLATE_CHARS, CorpusProfile
from lakehouse.vectors.registry import MAX_SHARDS

MAX_BATCH = 10_000
MAX_TEXTS = 1_000


class ProfileRequest(WireModel):
    """How the bulk job turns a dataset's rows into this corpus (default: staffing)."""

    dataset: str | None = Field(default=None, min_length=1, max_length=63)
    id_column: str = Field(default="worker_id", min_length=1, max_length=63)
    text_template: str = Field(
        default=CorpusProfile().text_template, min_length=1, max_length=MAX_TEMPLATE_CHARS
    )
    metadata_columns: list[str] = Field(
        default_factory=lambda: list(CorpusProfile().metadata_columns),
        max_length=MAX_METADATA_COLUMNS,
    )

    def to_profile(self) -> CorpusProfile:
        return CorpusProfile.from_dict(self.model_dump())


class CorpusRequest(WireModel):
    name: str = Field(min_length=1, max_length=63)
    dim: int = Field(ge=1, le=8192)
    space: Literal["cosine", "l2", "ip"] = "cosine"
    shards: int = Field(default=1, ge=1, le=MAX_SHARDS)
    profile: ProfileRequest | None = None


class AddRequest(WireModel):
    ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    vectors: Annotated[list[list[float]], Field(max_length=MAX_BATCH)] | PackedVectors | None = None
    texts: list[str] | None = Field(default=None, max_length=MAX_TEXTS)
    metadata: list[dict[str, Any] | None] | None = Field(default=None, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _one_source(self) -> AddRequest:
        if (self.vectors is None) == (self.texts is None):
            raise ValueError("send exactly one of vectors or texts")
        return self


class SearchRequest(WireModel):
    vector: Annotated[list[float], Field(max_length=8192)] | PackedVectors | None = None
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


class DeleteRequest(WireModel):
    ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class Hit(WireModel):
    id: str
    score: float
    metadata: dict[str, Any] | None = None


class SearchResponse(WireModel):
    hits: list[Hit]
    complete: bool = Field(description="false when fewer than k items qualified")
