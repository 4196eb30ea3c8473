"""What a drift report compares: a catalog dataset, or a window of evidence days.

``{"dataset": "workers"}`` is one dataset as registered now. ``{"transform": "sessions",
"start": "2026-11-20", "end": "2026-11-26"}`` is every day dataset
``evidence_sessions_<YYYYMMDD>`` in that range (inclusive) that the catalog holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lakehouse.catalog.manifest import Manifest
from lakehouse.distill.materialize import dataset_name
from lakehouse.distill.transforms import TRANSFORMS
from lakehouse.errors import InvalidInput, NotFound

MAX_WINDOW_DAYS = 366
_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class Window(BaseModel):
    """One side of a comparison: ``dataset``, or ``transform`` with ``start``..``end``."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(default=None, pattern=_NAME)
    transform: str | None = Field(default=None, max_length=32)
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Window:
        if (self.dataset is None) == (self.transform is None):
            raise ValueError("give exactly one of dataset or transform")
        if self.transform is not None:
            if self.transform not in TRANSFORMS:
                raise ValueError(f"unknown transform; expected one of {list(TRANSFORMS)}")
            if self.start is None or self.end is None or self.start > self.end:
                raise ValueError("a transform window needs start <= end")
            if (self.end - self.start).days >= MAX_WINDOW_DAYS:
                raise ValueError(f"a window spans at most {MAX_WINDOW_DAYS} days")
        elif self.start is not None or self.end is not None:
            raise ValueError("start and end belong to a transform window")
        return self

    def names(self) -> list[str]:
        if self.dataset is not None:
            return [self.dataset]
        assert self.start and self.end and self.transform
        days = (self.end - self.start).days + 1
        return [
            dataset_name(self.transform, (self.start + timedelta(d)).isoformat())
            for d in range(days)
        ]

    def describe(self) -> str:
        if self.dataset is not None:
            return f"dataset {self.dataset!r}"
        return f"{self.transform} evidence {self.start}..{self.end}"


def read_window(
    window: Window,
    manifests: Mapping[str, Manifest],
    local_path: Callable[[str], Path],
    columns: Sequence[str],
) -> pa.Table:
    """The window's rows (only ``columns``), every day dataset concatenated.

    Raises:
        NotFound: the dataset is not in the catalog, or no day of the window is.
        InvalidInput: a column the data does not have.
    """
    found = [manifests[n] for n in window.names() if n in manifests]
    if not found:
        hint = "" if window.dataset else "; run POST /v1/distill/materialize first"
        raise NotFound(f"no data for {window.describe()}{hint}")
    tables = []
    for manifest in found:
        have = {c.name for c in manifest.columns}
        missing = [c for c in columns if c not in have]
        if missing:
            raise InvalidInput(f"{manifest.name} has no column(s) {missing}", field="column")
        tables.append(pq.read_table(local_path(manifest.object_key), columns=list(columns)))
    return pa.concat_tables(tables)
