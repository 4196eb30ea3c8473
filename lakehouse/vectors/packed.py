"""Vectors on the wire as base64 of little-endian float32 rows, beside plain JSON floats.

One add of 1,000 x 384 floats is ~8 MB of JSON digits that both sides parse float by float;
the same rows packed are 2 MB of base64 that numpy reads in one ``frombuffer``::

    {"encoding": "base64-f32le", "dim": 384, "data": "AACAPwAAAEA..."}

``data`` is ``n * dim`` float32 values, little-endian, row after row, base64-encoded (the
standard alphabet, padded). Decoding never builds Python floats. The checks that follow
(dimension against the corpus, finiteness, ids and vectors of the same length) are the same
for both forms, so a bad packed body gets the same error and status as a bad JSON one.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lakehouse.errors import InvalidInput

ENCODING = "base64-f32le"
MAX_DIM = 8192
MAX_ROWS = 10_000
F32LE = np.dtype("<f4")


def b64_chars(n_bytes: int) -> int:
    """Length of the padded base64 text of ``n_bytes`` bytes."""
    return 4 * ((n_bytes + 2) // 3)


class PackedVectors(BaseModel):
    """Rows of float32 packed as base64 (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    encoding: Literal["base64-f32le"]
    dim: int = Field(ge=1, le=MAX_DIM)
    data: str = Field(min_length=1, max_length=b64_chars(MAX_ROWS * MAX_DIM * 4))

    def array(self, max_rows: int = MAX_ROWS, field: str = "vectors") -> np.ndarray:
        """The rows as an ``(n, dim)`` float32 array, ``1 <= n <= max_rows``."""
        return decode(self.data, self.dim, max_rows=max_rows, field=field)


def encode(vectors: Any) -> dict[str, Any]:
    """The packed form of one vector or a 2-d array of rows (``dim`` from the last axis)."""
    array = np.asarray(vectors, dtype=F32LE)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] < 1:
        raise InvalidInput(f"vectors must be 1-d or 2-d, got shape {array.shape}")
    data = base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")
    return {"encoding": ENCODING, "dim": int(array.shape[1]), "data": data}


def decode(
    data: str, dim: int, max_rows: int | None = MAX_ROWS, field: str = "vectors"
) -> np.ndarray:
    """Base64 text of float32 rows → an ``(n, dim)`` float32 array (read-only, no copy).

    Raises:
        InvalidInput: not base64, not a whole number of rows, no rows, or more than
            ``max_rows`` rows (None: no cap, for answers the caller asked for).
    """
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{field}.data is not valid base64", field=field) from exc
    row_bytes = 4 * dim
    if not raw or len(raw) % row_bytes:
        raise InvalidInput(
            f"{field}.data holds {len(raw)} bytes, not a whole number of {dim}-d float32 rows",
            field=field,
        )
    rows = len(raw) // row_bytes
    if max_rows is not None and rows > max_rows:
        raise InvalidInput(f"{field} holds {rows} rows, at most {max_rows}", field=field)
    return np.frombuffer(raw, dtype=F32LE).reshape(rows, dim).astype(np.float32, copy=False)


def unpack(value: Any, max_rows: int = MAX_ROWS, field: str = "vectors") -> Any:
    """A request's vectors as they came (JSON lists) or decoded (packed → ndarray)."""
    if isinstance(value, PackedVectors):
        return value.array(max_rows, field)
    return value


def unpack_one(value: Any, field: str = "vector") -> Any:
    """One query vector: JSON floats as they came, packed → a 1-d array (exactly one row)."""
    if isinstance(value, PackedVectors):
        return value.array(1, field)[0]
    return value


def from_response(value: Any) -> np.ndarray:
    """A response's vectors (JSON lists or the packed dict) → an ``(n, dim)`` float32 array."""
    if isinstance(value, dict):
        packed = PackedVectors.model_validate(value)
        return decode(packed.data, packed.dim, max_rows=None)
    return np.asarray(value, dtype=np.float32)


Encoding = Literal["json", "base64-f32le"]
