"""Untrusted SQL in worker processes, so its memory and its time are bounded from outside.

Each worker (``lakehouse.sql.worker``) runs a hardened ``SqlEngine`` under an address-space
limit of ``max_bytes``: the SQL of one replica never holds more than
``workers x max_bytes``, whatever a query builds. The engine's watchdog interrupts a query at
the time limit; a query that cannot be interrupted (one huge ``lpad`` call) has its worker
killed ``KILL_GRACE_S`` later and replaced on the next query, so the limit holds within a
second. Workers start on their first query (a replica that never runs SQL starts none).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from lakehouse.errors import QueryTimeout, TemporarilyUnavailable, TooLarge
from lakehouse.sql.engine import QueryResult, SqlLimits

log = logging.getLogger(__name__)
KILL_GRACE_S = 0.5
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
START_TIMEOUT_S = 30.0


class _Stuck(Exception):
    """The worker did not answer in time (not ``TimeoutError``: that one is an ``OSError``)."""


class _Worker:
    """One child process and its end of the socket pair."""

    def __init__(self, config: dict[str, Any]) -> None:
        parent, child = socket.socketpair()
        path = os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))
        # glibc's per-thread arenas reserve address space the limit would count
        env = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": path}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lakehouse.sql.worker", str(child.fileno()), _json(config)],
            pass_fds=(child.fileno(),),
            env=env,
            cwd=config["root"],
        )
        child.close()
        self.conn = Connection(parent.detach())
        # None until the first sync: it also waits out the worker's start-up, so a query's
        # time limit never counts the seconds a fresh worker spends importing
        self.views: dict[str, str] | None = None

    def call(self, op: str, arg: Any, timeout_s: float) -> Any:
        self.conn.send((op, arg))
        if not self.conn.poll(timeout_s):
            raise _Stuck
        status, payload = self.conn.recv()
        if status == "error":
            raise payload
        return payload

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.conn.close()


class SqlSandbox:
    """``SqlEngine``'s ``sync``/``query``/``close`` over a pool of bounded worker processes.

    Args:
        root: the directory view paths are made relative to (the workers run in it).
        temp_dir: DuckDB's spill directory.
        limits: the engine's limits (rows, bytes, time, DuckDB memory, threads).
        workers: how many queries run at once.
        max_bytes: each worker's address-space limit.
    """

    def __init__(
        self, root: Path, temp_dir: Path, limits: SqlLimits, workers: int, max_bytes: int
    ) -> None:
        self.limits = limits
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)
        self._config = {
            "root": str(self._root),
            "allowed_dirs": ["datasets"],
            "temp_dir": str(temp_dir),
            "limits": dataclasses.asdict(limits),
            "max_bytes": max_bytes,
        }
        self._views: dict[str, str] = {}
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(workers):
            self._idle.put(None)  # a slot: its worker starts on first use

    def sync(self, views: dict[str, Path | str]) -> None:
        """Views as ``{name: path}``; each worker catches up before its next query."""
        self._views = {name: self._relative(path) for name, path in views.items()}

    def query(self, sql: str) -> QueryResult:
        """Run ``sql`` in a worker; the engine's errors, 408 past the limit, 413 past memory."""
        try:
            slot = self._idle.get(timeout=self.limits.timeout_s)
        except queue.Empty:
            raise TemporarilyUnavailable("every SQL worker is busy; retry") from None
        worker = slot
        try:
            for attempt in (1, 2):
                try:
                    worker = self._ready(worker)
                    return worker.call("query", sql, self.limits.timeout_s + KILL_GRACE_S)
                except (EOFError, OSError) as exc:
                    # the worker died: before this query (killed while idle; read-only SQL is
                    # safe to run again on a fresh one) or under it twice (its memory limit)
                    worker = self._discard(worker)
                    if attempt == 2:
                        raise TooLarge(
                            "query needs more memory than an SQL worker may use"
                        ) from exc
            raise AssertionError("unreachable")
        except _Stuck:
            worker = self._discard(worker)
            raise QueryTimeout(
                f"query stopped after the {self.limits.timeout_s:g} s time limit",
                limit_s=self.limits.timeout_s,
            ) from None
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        while not self._idle.empty():
            self._discard(self._idle.get_nowait())

    def _ready(self, worker: _Worker | None) -> _Worker:
        """A live worker with the current views (a new one if ``worker`` is gone)."""
        if worker is None or worker.proc.poll() is not None:
            self._discard(worker)
            worker = _Worker(self._config)
        if worker.views != self._views:
            views = dict(self._views)
            try:
                worker.call("sync", views, START_TIMEOUT_S)
            except BaseException:
                worker.kill()
                raise
            worker.views = views
        return worker

    def _discard(self, worker: _Worker | None) -> None:
        if worker is not None:
            worker.kill()
        return None

    def _relative(self, path: Path | str) -> str:
        try:
            return str(Path(path).relative_to(self._root))
        except ValueError:
            return str(path)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
