"""Day partitions: rows spilled to Parquet as they come, merged with what is already there.

Memory stays bounded by the batch size (rows are written ``batch_rows`` at a time per open
partition) plus one 16-byte digest per row seen in this run, and, at merge time, the ids of
one day partition. A merge copies the existing partition batch by batch and appends only
the rows whose ``evidence_id`` it does not hold, so the same inputs add nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.errors import SchemaDrift


@dataclass
class _Open:
    path: Path
    schema: pa.Schema
    writer: pq.ParquetWriter | None = None
    rows: list[dict[str, Any]] | None = None
    count: int = 0


@dataclass(frozen=True)
class Spilled:
    """One (transform, day) partition of this run's new rows, in a temp Parquet file."""

    transform: str
    day: str
    path: Path
    schema: pa.Schema
    rows: int


class DayPartitions:
    """Collects rows per (transform, day), writing each partition in batches."""

    def __init__(self, tmp_dir: Path, batch_rows: int = 2048) -> None:
        self.tmp_dir, self.batch_rows = tmp_dir, batch_rows
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self._open: dict[tuple[str, str], _Open] = {}
        self._seen: set[bytes] = set()

    def add(self, transform: str, schema: pa.Schema, row: dict[str, Any]) -> bool:
        """Queue ``row``; False (and nothing queued) if its evidence id was seen this run."""
        digest = bytes.fromhex(row["evidence_id"])[:16]
        if digest in self._seen:
            return False
        self._seen.add(digest)
        key = (transform, row["day"])
        part = self._open.get(key)
        if part is None:
            path = self.tmp_dir / f"distill-{uuid.uuid4().hex}.parquet"
            part = self._open[key] = _Open(path, schema, rows=[])
        assert part.rows is not None
        part.rows.append(row)
        part.count += 1
        if len(part.rows) >= self.batch_rows:
            _flush(part)
        return True

    def close(self) -> list[Spilled]:
        """Flush everything; the partitions, sorted by transform and day."""
        out = []
        for (transform, day), part in sorted(self._open.items()):
            _flush(part)
            if part.writer is not None:
                part.writer.close()
            out.append(Spilled(transform, day, part.path, part.schema, part.count))
        self._open.clear()
        return out

    def discard(self) -> None:
        for part in self._open.values():
            if part.writer is not None:
                part.writer.close()
            part.path.unlink(missing_ok=True)
        self._open.clear()


def _flush(part: _Open) -> None:
    if not part.rows:
        return
    if part.writer is None:
        part.writer = pq.ParquetWriter(part.path, part.schema)
    part.writer.write_table(pa.Table.from_pylist(part.rows, schema=part.schema))
    part.rows = []


def merge(existing: Path | None, new: Spilled, out: Path) -> tuple[int, int]:
    """Write ``existing`` plus the rows of ``new`` it lacks to ``out``: (added, total).

    Raises:
        SchemaDrift: the existing partition has another schema than the transform's now.
    """
    known: pa.Array = pa.array([], pa.string())
    if existing is not None:
        old = pq.ParquetFile(existing)
        if not old.schema_arrow.equals(new.schema):
            raise SchemaDrift(f"evidence partition {new.transform}/{new.day} has another schema")
        known = pq.read_table(existing, columns=["evidence_id"]).column(0).combine_chunks()
    added = total = 0
    with pq.ParquetWriter(out, new.schema) as writer:
        if existing is not None:
            for batch in pq.ParquetFile(existing).iter_batches(batch_size=8192):
                writer.write_batch(batch)
                total += batch.num_rows
        for batch in pq.ParquetFile(new.path).iter_batches(batch_size=8192):
            fresh = batch.filter(pc.invert(pc.is_in(batch.column("evidence_id"), known)))
            if fresh.num_rows:
                writer.write_batch(fresh)
            added += fresh.num_rows
    return added, total + added
