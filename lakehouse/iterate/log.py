"""The JSONL session log of the iterate loop: one durable line per session.

An append is acknowledged only once it is on disk: the line goes out in one unbuffered
``write`` on an ``O_APPEND`` file (so lines from several processes never interleave),
then ``fsync``; the directory is fsynced too when the file is new. Reading skips, and
counts, lines that are torn or corrupt rather than failing on them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from lakehouse.durable import fsync_dir
from lakehouse.errors import StorageError

SCHEMA = "session.iterate.v1"

log = logging.getLogger(__name__)


class SessionAppender(Protocol):
    """Where the iterate loop appends its sessions (this file, or ``ObjectStoreSessionLog``)."""

    def append(self, record: Mapping[str, Any]) -> None: ...


class SessionLog:
    """Appends session records to one JSONL file.

    Args:
        path: the log file; its directory is created if missing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> None:
        """Write ``record`` as one line and fsync it before returning.

        Raises:
            StorageError: the line could not be written durably.
        """
        line = (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                self._append(line)
            except OSError as exc:
                raise StorageError(f"could not append to the session log: {exc.strerror}") from exc

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Write ``records`` as lines with one fsync (a bulk job's batch); as ``append``."""
        data = b"".join(
            (json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
            for r in records
        )
        if not data:
            return
        with self._lock:
            try:
                self._append(data)
            except OSError as exc:
                raise StorageError(f"could not append to the session log: {exc.strerror}") from exc

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        with open(self.path, "ab", buffering=0) as fh:
            view = memoryview(line)
            while view:  # a regular file takes it in one write; loop on a short one anyway
                view = view[fh.write(view) :]
            fh.flush()
            os.fsync(fh.fileno())
        if created:
            fsync_dir(self.path.parent)

    def read(self) -> list[dict[str, Any]]:
        """Every intact record, oldest first."""
        return list(read_sessions(self.path))


def read_sessions(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the intact records of a session log; torn or corrupt lines are logged, skipped."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                log.warning("session log %s: line %d is corrupt; skipped", path, lineno)
                continue
            if isinstance(record, dict) and record.get("schema") == SCHEMA:
                yield record
            else:
                log.warning("session log %s: line %d is not a session; skipped", path, lineno)
