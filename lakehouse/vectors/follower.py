"""A read copy of a shard in another process: loaded from the shard's snapshot and log in
the object store, and trusted only while it is at exactly the state the live shard serves.

The shard's board (``lakehouse.vectors.board``) names that state: its incarnation and the
last write it applied, published before that write is acknowledged. So a search that finds
the copy at the board's state sees every write acknowledged before it began, as the shard
itself would; a copy behind, ahead, or of another incarnation answers nothing, and its caller
asks the shard. ``catch_up`` brings the copy to the board's state: the log segments it lacks,
or, when those are many, a fresh snapshot (asked of the shard) and the log after it.

A copy of an approximate index is not bit-for-bit the shard's: the rows added since the
last snapshot were inserted by this process, and HNSW graphs built by two processes may
differ, so an approximate neighbour list may differ as between two builds of one index.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from lakehouse.storage import ObjectStore
from lakehouse.storage.base import ObjectInfo
from lakehouse.vectors.board import BoardReader, BoardState
from lakehouse.vectors.persist import ShardStorage, decode
from lakehouse.vectors.shard import ShardConfig, VectorShard

log = logging.getLogger(__name__)
# Replaying a row costs an HNSW insert (about 0.5 ms of one core at d=384); a snapshot costs
# one save in the shard and one load here. So the copy replays at most a tenth of the index's
# size in log (at least 256 KiB, at most 8 MiB), and past that loads a fresh snapshot.
REPLAY_MAX_BYTES = 8 * 1024 * 1024
REPLAY_MIN_BYTES = 256 * 1024
RETRY_AFTER_S = 5.0  # a failed catch-up is tried again after this long
OVER_BUDGET_RETRY_S = 60.0  # a copy too large for the budget: looked at again this seldom


class ShardFollower:
    """One shard's read copy. ``current()`` is cheap (two system calls); ``catch_up()``
    blocks (run it in a thread, never while ``current()`` may be called: see ``busy``).

    Args:
        store, prefix, config: where the shard's log and snapshots live, and its parameters.
        board: the shard's board on this machine.
        request_snapshot: asks the live shard to write a snapshot now.
        budget: how many bytes of copies the caller may still hold (``take``/``give``).
        stored_config: the shard's parameters as stored now (read at each full load: a
            corpus deleted and made again under its name may have others than ``config``).
    """

    def __init__(
        self,
        store: ObjectStore,
        prefix: str,
        config: ShardConfig,
        board: BoardReader,
        request_snapshot: Callable[[], int],
        budget: Budget,
        stored_config: Callable[[], ShardConfig] | None = None,
    ) -> None:
        self.store, self.prefix = store, prefix
        self.config = replace(config, threads=1)  # a copy catches up on one core
        self.storage = ShardStorage(store, prefix)
        self.board = board
        self.request_snapshot = request_snapshot
        self.budget = budget
        self.stored_config = stored_config
        self.copy: VectorShard | None = None
        self.held_bytes = 0
        self.busy = False  # set by the caller while catch_up runs
        self.retry_at = 0.0
        self.problem: str | None = None
        self.closed = False  # forgotten by its owner: a catch-up in flight lets go at once

    def state(self) -> BoardState | None:
        """The live shard's state, or None when no live owner publishes on this machine."""
        return self.board.read()

    def current(self, state: BoardState | None) -> VectorShard | None:
        """The copy, if it is at exactly ``state`` (read from the board just now)."""
        copy = self.copy
        if copy is None or self.busy or state is None:
            return None
        held = copy.board_state()
        if (held.incarnation, held.seq) != (state.incarnation, state.seq):
            return None
        return copy

    def due(self, state: BoardState | None) -> bool:
        """Whether a catch-up would bring the copy to ``state`` (and may run now)."""
        if state is None or self.busy or time.monotonic() < self.retry_at:
            return False
        copy = self.copy
        if copy is None:
            return True
        held = copy.board_state()
        return held.incarnation != state.incarnation or held.seq < state.seq

    def catch_up(self) -> None:
        """Bring the copy to the board's state; on failure drop it and retry later. The
        caller sets ``busy`` before (so no search reads the copy meanwhile); this clears it."""
        try:
            state = None if self.closed else self.state()
            if state is not None:
                self._catch_up(state)
                self.problem = None
        except Exception as exc:  # the store, a snapshot, a segment: the shard still answers
            self.problem = f"{type(exc).__name__}: {exc}"
            log.warning("read copy of %s dropped: %s", self.prefix, self.problem)
            self.drop()
            wait = OVER_BUDGET_RETRY_S if isinstance(exc, OverBudget) else RETRY_AFTER_S
            self.retry_at = time.monotonic() + wait
        finally:
            self.busy = False

    def close(self) -> None:
        self.closed = True
        self.drop()
        self.board.close()

    def drop(self) -> None:
        self.copy = None
        self.budget.give(self.held_bytes)
        self.held_bytes = 0

    def _catch_up(self, state: BoardState) -> None:
        copy = self.copy
        if copy is not None and copy.board_state().incarnation == state.incarnation:
            if copy.seq >= state.seq:
                return
            segments = self._segments(copy.seq, state.seq)
            limit = self._replay_limit()
            if segments is not None and sum(o.size for o in segments.values()) <= limit:
                for seq in sorted(segments):
                    copy.replay(seq, decode(self.store.get(segments[seq].key)))
                return
        self._load(state)

    def _segments(self, after: int, upto: int) -> dict[int, ObjectInfo] | None:
        """The log segments of writes ``after+1 .. upto``; None if one is gone (pruned
        after a snapshot: the copy loads that snapshot instead)."""
        wanted = {}
        for obj in self.store.iter_all(f"{self.storage.prefix}/wal/"):
            seq = _seq(obj.key)
            if seq is not None and after < seq <= upto:
                wanted[seq] = obj
        return wanted if len(wanted) == upto - after else None

    def _load(self, state: BoardState) -> None:
        """A fresh copy: the newest snapshot and the log after it (a new snapshot first when
        that log is long), within the budget."""
        self.drop()
        if self._log_bytes_after_snapshot() > self._replay_limit():
            self.request_snapshot()
        size = self._stored_bytes()
        if not self.budget.take(size):
            raise OverBudget(f"a copy of {size} bytes does not fit the read-copy budget")
        self.held_bytes = size
        if self.stored_config is not None:
            self.config = replace(self.stored_config(), threads=1)
        self.copy = VectorShard(self.store, self.prefix, self.config, incarnation=state.incarnation)
        if self.closed:
            self.drop()

    def _replay_limit(self) -> int:
        snap = self.store.iter_all(f"{self.storage.prefix}/snap/")
        index = max((o.size for o in snap if o.key.endswith(".hnsw")), default=0)
        return min(REPLAY_MAX_BYTES, max(REPLAY_MIN_BYTES, index // 10))

    def _log_bytes_after_snapshot(self) -> int:
        snaps = self.storage.snapshot_seqs()
        newest = snaps[0] if snaps else 0
        wal = self.store.iter_all(f"{self.storage.prefix}/wal/")
        return sum(o.size for o in wal if (_seq(o.key) or 0) > newest)

    def _stored_bytes(self) -> int:
        """What a copy will hold, about: the newest snapshot (index file and state) and
        the log after it."""
        snaps = self.storage.snapshot_seqs()
        newest = f"/{snaps[0]:020d}." if snaps else None
        snap = self.store.iter_all(f"{self.storage.prefix}/snap/")
        return sum(o.size for o in snap if newest and newest in o.key) + (
            self._log_bytes_after_snapshot()
        )


class OverBudget(Exception):
    """The copy would take more than the process's read-copy budget has left."""


class Budget:
    """Bytes of read copies a process may hold, shared by its followers (thread-safe enough:
    ``take`` and ``give`` are called from one catch-up thread at a time per follower)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        self.used = max(0, self.used - size)


def _seq(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1]
    stem, _, ext = name.partition(".")
    return int(stem) if ext == "bin" and stem.isdigit() else None
