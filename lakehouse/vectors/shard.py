"""One HNSW shard: string ids, metadata, upsert/delete, filtered search, durable writes.

Every write is validated, then logged to the object store (``ShardStorage.append``), then
applied, then acknowledged; a restart loads the newest valid snapshot and replays the log
after it. Searches run concurrently; a write waits for them and blocks new ones (hnswlib
is not safe for add during search).
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lakehouse.errors import InvalidInput
from lakehouse.storage import ObjectStore
from lakehouse.vectors import checks as check
from lakehouse.vectors.board import BoardState
from lakehouse.vectors.index import HnswTable
from lakehouse.vectors.persist import LoadReport, ShardStorage, WalRecord
from lakehouse.vectors.rwlock import RWLock


@dataclass(frozen=True)
class ShardConfig:
    """Index parameters and limits of a shard."""

    dim: int
    space: Literal["cosine", "l2", "ip"] = "cosine"
    M: int = 16
    ef_construction: int = 200
    ef_search: int = 64
    initial_capacity: int = 1024
    # A snapshot is due after ``snapshot_every`` logged writes once they also touched a
    # ``snapshot_fraction`` of the index (so a growing index is not rewritten over and over:
    # snapshot work stays linear in its size), and always after ``snapshot_max_writes``.
    snapshot_every: int = 200
    snapshot_fraction: float = 0.25
    snapshot_max_writes: int = 5000
    max_k: int = 1000
    max_ef: int = 4096
    max_batch: int = 10_000
    threads: int = 2

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SearchResult:
    hits: list[dict[str, Any]]
    complete: bool
    generation: str = ""  # the shard's state the hits were read from

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "complete": self.complete, "generation": self.generation}


@dataclass
class _Counters:
    seq: int = 0  # applied
    logged: int = 0
    snapshot_seq: int = 0  # the newest snapshot (loaded or written)
    since_snapshot: int = 0
    rows_since_snapshot: int = 0
    log_bytes_since_snapshot: int = 0
    snapshot_at: float = 0.0  # wall clock of the last snapshot, or of the load
    load_s: float = 0.0  # how long loading the snapshot and replaying the log took
    report: LoadReport = field(default_factory=LoadReport)


class VectorShard:
    """A durable hnswlib index under ``prefix`` in ``store``."""

    def __init__(
        self,
        store: ObjectStore,
        prefix: str,
        config: ShardConfig,
        *,
        incarnation: str | None = None,
        on_applied: Callable[[BoardState], None] | None = None,
    ) -> None:
        """``incarnation`` names a read copy after the shard it follows (``follower``);
        ``on_applied`` hears the state after the load and after every applied write and
        snapshot, before the write is acknowledged (the shard's board)."""
        if config.dim < 1 or config.dim > 8192:
            raise InvalidInput("dim must be in 1..8192", field="dim")
        self.config = config
        self.storage = ShardStorage(store, prefix)
        self._rw = RWLock()
        self._writer = threading.Lock()  # one writer logs at a time; readers go on meanwhile
        self._turn = threading.Condition()  # applies happen in log order
        self._state = _Counters()
        # a restart gets a new incarnation: what a cache saw before it is never taken as current
        self._incarnation = incarnation or uuid.uuid4().hex[:12]
        self._on_applied = on_applied or (lambda state: None)
        self.table = HnswTable(config)
        started = time.perf_counter()
        self._load()
        self._state.load_s = time.perf_counter() - started
        self._state.snapshot_at = time.time()
        self._on_applied(self.board_state())

    # -- writes -------------------------------------------------------------------------
    def add(self, ids: list[str], vectors: Any, metadata: Any = None) -> int:
        """Insert or replace ``ids``; durable before it returns. Returns how many."""
        ids = check.check_ids(ids, self.config.max_batch)
        array = check.check_vectors(vectors, len(ids), self.config.dim)
        meta = check.check_metadata(metadata, len(ids))
        self._write(WalRecord("add", ids, array, meta))
        return len(ids)

    def delete(self, ids: list[str]) -> int:
        """Remove ``ids`` (unknown ones are ignored); returns how many were present."""
        ids = check.check_ids(ids, self.config.max_batch)
        with self._rw.read():
            present = sum(1 for i in ids if self.table.has(i))
        self._write(WalRecord("delete", ids))
        return present

    def snapshot(self) -> int:
        """Write a snapshot of the current state now; returns its sequence number."""
        with self._writer, self._turn:
            self._turn.wait_for(lambda: self._state.seq == self._state.logged)
            return self._snapshot()

    def _write(self, record: WalRecord) -> None:
        # Logging is ordered by the writer lock; applying waits for its turn. So while one
        # batch is inserted into the index, the next one can already be logged (pipelined
        # callers hide the log's cost behind hnswlib's insert, which releases the GIL).
        with self._writer:
            seq = self._state.logged + 1
            logged_bytes = self.storage.append(seq, record)
            self._state.logged = seq
            self._state.log_bytes_since_snapshot += logged_bytes
        with self._turn:
            self._turn.wait_for(lambda: self._state.seq == seq - 1)
            try:
                with self._rw.write():
                    self.table.apply(record)
            finally:  # never leave later writers waiting; the log has it for a replay
                self._state.seq = seq
                self._on_applied(self.board_state())
            self._state.since_snapshot += 1
            self._state.rows_since_snapshot += len(record.ids)
            due = self._snapshot_due()
            self._turn.notify_all()
        if due:
            self.snapshot()

    def _snapshot_due(self) -> bool:
        state, config = self._state, self.config
        if state.since_snapshot >= config.snapshot_max_writes:
            return True
        enough_rows = state.rows_since_snapshot >= config.snapshot_fraction * self.table.count
        return state.since_snapshot >= config.snapshot_every and enough_rows

    def _snapshot(self) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "index.hnsw"
            with self._rw.read():
                state = self.table.save(path)
                seq = self._state.seq
            self.storage.write_snapshot(seq, path, {**state, "config": self.config.to_dict()})
        self._state.since_snapshot = self._state.rows_since_snapshot = 0
        self._state.log_bytes_since_snapshot = 0
        self._state.snapshot_at = time.time()
        self._state.snapshot_seq = seq
        self._on_applied(self.board_state())
        self.storage.prune()
        return seq

    def replay(self, seq: int, record: WalRecord | None) -> None:
        """Apply write ``seq`` that another process logged and applied (a read copy
        following its shard's log); None for a segment that process skipped as corrupt."""
        with self._rw.write():
            if record is not None:
                self.table.apply(record)
            self._state.seq = seq

    # -- reads --------------------------------------------------------------------------
    def search(
        self,
        vector: Any,
        k: int = 10,
        *,
        ef: int | None = None,
        exclude_ids: list[str] | None = None,
        filter: dict[str, Any] | None = None,
        allow_ids: list[str] | None = None,
    ) -> SearchResult:
        """The ``k`` nearest items; ``complete`` is False when fewer than ``k`` qualify.

        ``allow_ids`` (when not None) restricts the answer to those ids, like the opposite
        of ``exclude_ids``; an empty list allows nothing.
        """
        query = check.check_query(vector, self.config.dim)
        k = check.check_k(k, self.config.max_k)
        if ef is not None and not 1 <= ef <= self.config.max_ef:
            raise InvalidInput(f"ef must be in 1..{self.config.max_ef}", field="ef")
        if allow_ids is not None and not isinstance(allow_ids, list | tuple | set):
            raise InvalidInput("allow_ids must be a list of ids", field="allow_ids")
        allow = None if allow_ids is None else set(allow_ids)
        with self._rw.read():
            hits = self.table.search(query[0], k, ef, set(exclude_ids or ()), filter, allow)
            generation = self.generation
        return SearchResult(hits=hits, complete=len(hits) == k, generation=generation)

    def search_batch(self, queries: Any, k: int = 10, ef: int | None = None) -> list[SearchResult]:
        """``search`` of every row of ``queries`` at once (no filters): one ``knn_query``, so
        concurrent searches batched above cost one call and one pass through hnswlib."""
        rows = len(queries) if isinstance(queries, list | tuple | np.ndarray) else 0
        if not 1 <= rows <= self.config.max_batch:
            raise InvalidInput(f"queries must be 1..{self.config.max_batch} rows", field="vector")
        array = check.check_vectors(queries, rows, self.config.dim)
        k = check.check_k(k, self.config.max_k)
        if ef is not None and not 1 <= ef <= self.config.max_ef:
            raise InvalidInput(f"ef must be in 1..{self.config.max_ef}", field="ef")
        with self._rw.read():
            found = self.table.search_batch(array, k, ef)
            generation = self.generation
        return [SearchResult(hits, len(hits) == k, generation) for hits in found]

    @property
    def seq(self) -> int:
        """The last write applied (or skipped as corrupt) to this index."""
        return self._state.seq

    def board_state(self) -> BoardState:
        return BoardState(self._incarnation, self._state.seq, self._state.snapshot_seq)

    @property
    def generation(self) -> str:
        """Changes with every applied write and every restart (``lakehouse.vectors.api``)."""
        return f"{self._incarnation}:{self._state.seq}"

    def contains(self, ids: list[str]) -> list[bool]:
        with self._rw.read():
            return [self.table.has(i) for i in ids]

    @property
    def count(self) -> int:
        return self.table.count

    def stats(self) -> dict[str, Any]:
        with self._rw.read():
            return {
                "count": self.table.count,
                "capacity": self.table.capacity,
                "seq": self._state.seq,
                "snapshot_seq": self._state.report.snapshot_seq,
                "replayed": self._state.report.replayed,
                "load_problems": list(self._state.report.problems),
                "load_s": round(self._state.load_s, 4),
                "log_bytes_since_snapshot": self._state.log_bytes_since_snapshot,
                "snapshot_age_s": round(time.time() - self._state.snapshot_at, 3),
            }

    # -- load ---------------------------------------------------------------------------
    def _load(self) -> None:
        report = self._state.report
        for seq in self.storage.snapshot_seqs():
            try:
                path, state = self.storage.load_snapshot(seq)
                self.table.load(path, state)
                report.snapshot_seq = seq
                break
            except (ValueError, RuntimeError, KeyError) as exc:
                report.note(f"snapshot {seq} unusable: {exc}")
                self.table = HnswTable(self.config)
        self._state.seq = self._state.snapshot_seq = report.snapshot_seq
        for seq, record in self.storage.segments(report.snapshot_seq, report):
            self.table.apply(record)
            report.replayed += 1
            self._state.rows_since_snapshot += len(record.ids)
            self._state.seq = seq
        self._state.seq = max(self._state.seq, self.storage.last_seq())
        self._state.logged = self._state.seq
        self._state.since_snapshot = report.replayed
