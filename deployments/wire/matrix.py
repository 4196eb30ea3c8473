"""Wire models of ``/v1/matrix`` (see ``deployments/routes/matrix.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from deployments.wire.base import WireModel
from lakehouse.matrix import Record
from lakehouse.matrix.engine import MAX_CORPORA, MAX_WEIGHT
from lakehouse.matrix.playbook import MAX_IDS, MAX_QUERY_CHARS
from lakehouse.vectors.packed import PackedVectors

JsonVector = Annotated[list[float], Field(min_length=1, max_length=8192)]

MAX_EXCLUDE = 10_000
MAX_BULK = 256


class CorpusWeight(WireModel):
    name: str = Field(min_length=1, max_length=63)
    weight: float = Field(default=1.0, ge=0, le=MAX_WEIGHT)


class MatrixSearchRequest(WireModel):
    query: str | None = Field(default=None, min_length=1, max_length=10_000)
    vector: JsonVector | PackedVectors | None = None
    corpora: list[CorpusWeight] = Field(min_length=1, max_length=MAX_CORPORA)
    k: int = Field(default=10, ge=1, le=1000)
    fusion: Literal["rrf", "score"] = "rrf"
    filter: dict[str, Any] | None = None
    sql_filter: str | None = Field(default=None, max_length=2000)
    exclude_ids: list[str] | None = Field(default=None, max_length=MAX_EXCLUDE)
    min_score: float | None = Field(default=None, ge=0)
    use_playbook: bool = False
    timeout_ms: int = Field(default=2000, ge=10, le=60_000)

    @model_validator(mode="after")
    def _one_query(self) -> MatrixSearchRequest:
        if (self.vector is None) == (self.query is None):
            raise ValueError("send exactly one of query or vector")
        return self


class RecordRequest(WireModel):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    ids: list[str] = Field(min_length=1, max_length=MAX_IDS)
    outcome: Literal["success", "failure"]
    weight: float = Field(default=1.0, gt=0, le=10)

    def to_record(self) -> Record:
        return Record(self.query, tuple(self.ids), self.outcome, self.weight)


class BulkRecordRequest(WireModel):
    records: list[RecordRequest] = Field(min_length=1, max_length=MAX_BULK)
