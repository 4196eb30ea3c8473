"""Dataset manifests, schema fingerprints and dataset ids (DESIGN.md, "Wire contracts")."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.errors import InvalidInput

#: The fixed namespace of dataset ids: ``dataset_id = uuid5(DATASET_NAMESPACE, name)``.
DATASET_NAMESPACE = uuid.UUID("6f1c6a52-3f0e-5b7a-9d4e-1c2b3a4d5e6f")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Manifest:
    """What the catalog knows of one dataset; persisted as a one-row Parquet file."""

    dataset_id: str
    name: str
    fingerprint: str
    object_key: str
    row_count: int
    columns: list[Column]
    size_bytes: int
    etag: str
    created_at: str
    updated_at: str
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        cols = [Column(**c) for c in data["columns"]]
        extra = dict(data.get("extra") or {})
        return cls(**{**data, "columns": cols, "extra": extra})

    def to_parquet(self) -> bytes:
        row = self.to_dict()
        row["extra"] = list(row["extra"].items())
        table = pa.Table.from_pylist([row], schema=_MANIFEST_SCHEMA)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()

    @classmethod
    def from_parquet(cls, data: bytes) -> Manifest:
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
        if len(rows) != 1:
            raise ValueError(f"manifest has {len(rows)} rows, expected 1")
        row = rows[0]
        row["extra"] = dict(row.get("extra") or [])
        return cls.from_dict(row)


_MANIFEST_SCHEMA = pa.schema(
    [
        ("dataset_id", pa.string()),
        ("name", pa.string()),
        ("fingerprint", pa.string()),
        ("object_key", pa.string()),
        ("row_count", pa.int64()),
        ("columns", pa.list_(pa.struct([("name", pa.string()), ("type", pa.string())]))),
        ("size_bytes", pa.int64()),
        ("etag", pa.string()),
        ("created_at", pa.string()),
        ("updated_at", pa.string()),
        ("extra", pa.map_(pa.string(), pa.string())),
    ]
)


def fingerprint(columns: list[Column]) -> str:
    """SHA-256 hex over the ordered (name, type) pairs: name 0x1f type, pairs joined by 0x1e."""
    joined = "\x1e".join(f"{c.name}\x1f{c.type}" for c in columns)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def columns_of(schema: pa.Schema) -> list[Column]:
    """The catalog's columns for an Arrow schema (types as Arrow spells them)."""
    return [Column(name=f.name, type=str(f.type)) for f in schema]


def dataset_id(name: str) -> str:
    """The stable id of a dataset name: UUIDv5 in ``DATASET_NAMESPACE``."""
    return str(uuid.uuid5(DATASET_NAMESPACE, name))


def validate_dataset_name(name: str) -> str:
    """Dataset names double as SQL view names: a letter or ``_``, then letters, digits, ``_``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput("dataset name must match [A-Za-z_][A-Za-z0-9_]{0,62}", field="name")
    return name


def object_key_for(name: str, fp: str) -> str:
    """The content-addressed home of a dataset's Parquet."""
    return f"datasets/{name}/{fp}.parquet"


def manifest_key_for(name: str) -> str:
    return f"catalog/{name}/manifest.parquet"
