"""Wire models of ``/v1/pathway`` (see ``deployments/routes/pathway.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from deployments.wire.base import WireModel
from lakehouse.pathway import PathwayLimits

LIMITS = PathwayLimits()
Tag = Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.max_tag_chars)]
Tags = Annotated[list[Tag] | None, Field(max_length=LIMITS.max_tags)]


class AddRequest(WireModel):
    content: Any = Field(description="any JSON value")
    tags: Tags = None


class ContentRequest(WireModel):
    content: Any = Field(description="any JSON value")
    tags: Tags = Field(default=None, description="kept (update) or inherited (revise) if absent")


class RevertRequest(WireModel):
    version: int = Field(ge=1, strict=True, description="an earlier version of the trace")


class SearchRequest(WireModel):
    text: str | None = Field(default=None, max_length=LIMITS.max_text_chars)
    tags: Tags = Field(default=None, description="every one of these tags")
    since: float | None = Field(default=None, description="last changed at or after")
    until: float | None = Field(default=None, description="last changed at or before")
    k: int = Field(default=10, ge=1, le=LIMITS.max_k, strict=True)


class TraceResponse(WireModel):
    uid: str
    content: Any
    tags: list[str]
    created_at: float
    updated_at: float
    predecessor: str | None
    replay_count: int
    retired: bool
    version: int


class HistoryResponse(WireModel):
    uid: str
    entries: list[TraceResponse]
    complete: bool
    missing_predecessor: str | None
    cycle_at: str | None
    truncated: bool


class SearchHitResponse(WireModel):
    trace: TraceResponse
    score: float | None


class SearchResponse(WireModel):
    hits: list[SearchHitResponse]
