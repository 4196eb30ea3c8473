"""Input checks for shard writes and searches: everything is refused before it is logged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from lakehouse.errors import InvalidInput, TooLarge

MAX_ID_CHARS = 256
MAX_METADATA_BYTES = 16 * 1024


def check_ids(ids: Sequence[str], max_batch: int) -> list[str]:
    if not isinstance(ids, list | tuple) or not ids:
        raise InvalidInput("ids must be a non-empty list", field="ids")
    if len(ids) > max_batch:
        raise TooLarge(f"at most {max_batch} ids per call", limit=max_batch)
    for item in ids:
        if not isinstance(item, str) or not item or len(item) > MAX_ID_CHARS:
            raise InvalidInput(f"every id must be a string of 1-{MAX_ID_CHARS} characters")
    if len(set(ids)) != len(ids):
        raise InvalidInput("ids in one batch must be unique", field="ids")
    return list(ids)


def check_vectors(vectors: Any, n: int, dim: int) -> np.ndarray:
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("vectors must be a list of lists of numbers", field="vectors") from exc
    if array.ndim == 1 and n == 1:
        array = array.reshape(1, -1)
    if array.shape != (n, dim):
        raise InvalidInput(
            f"vectors must have shape ({n}, {dim}), got {tuple(array.shape)}", field="vectors"
        )
    if not np.isfinite(array).all():
        raise InvalidInput("vectors must not contain NaN or infinity", field="vectors")
    return np.ascontiguousarray(array)


def check_query(vector: Any, dim: int) -> np.ndarray:
    return check_vectors(vector, 1, dim)


def check_metadata(metadata: Any, n: int) -> list[dict[str, Any] | None]:
    if metadata is None:
        return [None] * n
    if not isinstance(metadata, list | tuple) or len(metadata) != n:
        raise InvalidInput(f"metadata must be a list of {n} objects (or null)", field="metadata")
    for item in metadata:
        if item is not None and not isinstance(item, dict):
            raise InvalidInput("each metadata entry must be an object or null", field="metadata")
        try:
            size = len(json.dumps(item, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise InvalidInput("metadata must be plain JSON", field="metadata") from exc
        if size > MAX_METADATA_BYTES:
            raise TooLarge(f"a metadata entry exceeds {MAX_METADATA_BYTES} bytes")
    return list(metadata)


def check_k(k: int, max_k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= max_k:
        raise InvalidInput(f"k must be an integer in 1..{max_k}", field="k")
    return k
