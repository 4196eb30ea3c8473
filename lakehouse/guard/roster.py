"""The worker roster as the validators see it: many ids in, their rows out.

Lookups go through an index, never a file scan per call (issue 6): ``ParquetRoster``
loads the roster columns once into an in-memory DuckDB table with a unique ART index on
``worker_id`` and answers each lookup with one parameterised ``IN (?, ?, ...)`` query,
which DuckDB serves as an index scan (a ``IN (SELECT unnest(?))`` semi-join measured as a
full hash join above ~100 ids). ``InMemoryRoster`` is a dict, for tests and small rosters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from lakehouse.errors import InvalidInput, NotFound

REQUIRED_COLUMNS = ("worker_id", "role", "city", "state", "shift", "available")
OPTIONAL_COLUMNS = ("first_name", "last_name")
# Longer IN lists still use the index but plan slower; chunking keeps each query cheap.
IDS_PER_QUERY = 500


class Roster(Protocol):
    """Looks many worker ids up at once."""

    def lookup(self, worker_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Rows of the ids that exist (``worker_id``, ``role``, ``city``, ``state``,
        ``shift``, ``available``, and names where known); absent ids are simply missing."""
        ...


class InMemoryRoster:
    """A roster held in a dict: for tests, and rosters small enough to keep in memory.

    Args:
        rows: mappings with at least the ``REQUIRED_COLUMNS``.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._rows: dict[str, dict[str, Any]] = {}
        for row in rows:
            missing = [c for c in REQUIRED_COLUMNS if c not in row]
            if missing:
                raise InvalidInput(f"roster row lacks columns {missing}")
            self._rows[str(row["worker_id"])] = {
                c: row[c] for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in row
            }

    @classmethod
    def from_batches(cls, batches: Iterable[pa.RecordBatch]) -> InMemoryRoster:
        columns = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
        return cls(row for b in batches for row in b.select(columns).to_pylist())

    def lookup(self, worker_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: dict(self._rows[i]) for i in worker_ids if i in self._rows}

    def __len__(self) -> int:
        return len(self._rows)


class ParquetRoster:
    """The roster from a Parquet file, indexed in one in-process DuckDB connection.

    The file is read once at construction; later changes to it are not seen (catalog
    Parquet is content-addressed, so a new roster version is a new path and a new
    ``ParquetRoster``). Safe to share between threads: each lookup runs on its own cursor.

    Args:
        source: a local Parquet file, or an Arrow table (e.g. a roster read from the
            object store), with at least the ``REQUIRED_COLUMNS``.

    Raises:
        NotFound: the file cannot be read.
        InvalidInput: the roster lacks a required column or repeats a ``worker_id``.
    """

    def __init__(self, source: str | Path | pa.Table) -> None:
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        self.path = None if isinstance(source, pa.Table) else Path(source)
        self._name = "(arrow table)" if self.path is None else self.path.name
        try:
            if isinstance(source, pa.Table):
                self._con.register("roster_source", source)
                self._load("roster_source", [])
                self._con.unregister("roster_source")
            else:
                self._load("read_parquet(?)", [str(source)])
        except duckdb.IOException as exc:
            raise NotFound(f"roster {self._name} cannot be read") from exc
        self._lock_down()

    def _load(self, source: str, params: list[Any]) -> None:
        con = self._con
        present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()}
        missing = [c for c in REQUIRED_COLUMNS if c not in present]
        if missing:
            raise InvalidInput(f"roster {self._name} lacks columns {missing}")
        self.columns = REQUIRED_COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if c in present)
        cols = ", ".join(self.columns)
        con.execute(
            f"CREATE TABLE roster AS SELECT {cols} FROM {source} WHERE worker_id IS NOT NULL",
            params,
        )
        try:
            con.execute("CREATE UNIQUE INDEX roster_worker_id ON roster (worker_id)")
        except duckdb.ConstraintException as exc:
            raise InvalidInput(f"roster {self._name} repeats a worker_id") from exc
        ((self._rows,),) = con.execute("SELECT count(*) FROM roster").fetchall()
        self._select = f"SELECT {cols} FROM roster WHERE worker_id IN "

    def _lock_down(self) -> None:
        # One thread per lookup answers faster; concurrency comes from callers' threads.
        # The query text is ours and parameterised, but lock the connection down anyway.
        for statement in (
            "SET threads = 1",
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ):
            self._con.execute(statement)

    def lookup(self, worker_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(str(i) for i in worker_ids))
        if not ids:
            return {}
        with self._lock:  # DuckDB connections are not thread-safe; cursors are
            cursor = self._con.cursor()
        try:
            found: dict[str, dict[str, Any]] = {}
            for start in range(0, len(ids), IDS_PER_QUERY):
                chunk = ids[start : start + IDS_PER_QUERY]
                sql = self._select + "(" + ", ".join("?" * len(chunk)) + ")"
                for row in cursor.execute(sql, chunk).fetchall():
                    found[row[0]] = dict(zip(self.columns, row, strict=True))
            return found
        finally:
            cursor.close()

    def __len__(self) -> int:
        return self._rows

    def close(self) -> None:
        self._con.close()
