"""``LocalDirLog``: the pathway event log in a local directory (tests and benchmarks only;
the service keeps its log in the object store, ``lakehouse.pathway.objlog``)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lakehouse.durable import fsync_dir
from lakehouse.errors import StorageError
from lakehouse.jsonl import iter_lines
from lakehouse.pathway import PathwayLimits, PathwayStore
from lakehouse.pathway.log import EventLog, ReplayReport

log = logging.getLogger(__name__)


def open_dir(directory: Path | str, **kwargs: Any) -> PathwayStore:
    """A store over a ``LocalDirLog`` in ``directory`` (line cap taken from ``limits``)."""
    limits = kwargs.get("limits") or PathwayLimits()
    return PathwayStore(LocalDirLog(directory, max_line_bytes=limits.max_line_bytes), **kwargs)


class LocalDirLog(EventLog):
    """``snapshot.jsonl`` and ``events.jsonl`` in a directory on local disk.

    Args:
        directory: created if absent; one store writes it at a time.
        max_line_bytes: longer lines are skipped at replay.
        compact_after: tail lines after which ``wants_compaction`` says so (None: never).
        sync: fsync each append. Only benchmarks turn this off, to price the fsync.
    """

    SNAPSHOT = "snapshot.jsonl"
    TAIL = "events.jsonl"

    def __init__(
        self,
        directory: Path | str,
        *,
        max_line_bytes: int = 1024 * 1024,
        compact_after: int | None = 100_000,
        sync: bool = True,
    ) -> None:
        super().__init__(max_line_bytes)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.compact_after = compact_after
        self.sync = sync
        self.tail_lines = 0
        self._fd: int | None = None
        self._size = 0

    def read(self, report: ReplayReport) -> Iterator[tuple[str, str, bytes]]:
        for source, name in (("snapshot", self.SNAPSHOT), ("tail", self.TAIL)):
            path = self.directory / name
            if not path.exists():
                continue
            with open(path, "rb") as fh:
                for lineno, line in iter_lines(
                    fh, self.max_line_bytes, lambda n, nm=name: report.note("overlong", f"{nm}:{n}")
                ):
                    if source == "tail":
                        self.tail_lines += 1
                    yield source, f"{name}:{lineno}", line
        self._open_tail()  # ends a torn last line now, so the next append starts clean

    def append(self, line: bytes) -> None:
        fd = self._open_tail()
        try:
            _write_all(fd, line)
            if self.sync:
                os.fsync(fd)
        except OSError as exc:
            self._undo_partial(fd)
            raise StorageError(f"pathway log append failed: {exc.strerror}") from exc
        self._size += len(line)
        self.tail_lines += 1

    def write_snapshot(self, lines: Iterable[bytes]) -> None:
        self._publish(self.SNAPSHOT, lines)
        self.close()
        self._publish(self.TAIL, ())
        self.tail_lines = 0

    def wants_compaction(self) -> bool:
        return self.compact_after is not None and self.tail_lines >= self.compact_after

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open_tail(self) -> int:
        if self._fd is None:
            path = self.directory / self.TAIL
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._size = os.fstat(self._fd).st_size
            self._end_torn_line(path)
        return self._fd

    def _end_torn_line(self, path: Path) -> None:
        # A crash mid-append leaves a line without its newline; end it so the next event
        # starts on a line of its own (replay reports the fragment as corrupt).
        if self._size == 0:
            return
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) == b"\n":
                return
        assert self._fd is not None
        _write_all(self._fd, b"\n")
        os.fsync(self._fd)
        self._size += 1

    def _undo_partial(self, fd: int) -> None:
        try:
            os.ftruncate(fd, self._size)
        except OSError:
            log.exception("could not cut a partial line off the pathway log")

    def _publish(self, name: str, lines: Iterable[bytes]) -> None:
        tmp = self.directory / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                for line in lines:
                    fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.directory / name)
            fsync_dir(self.directory)
        except OSError as exc:
            raise StorageError(f"pathway snapshot write failed: {exc.strerror}") from exc
        finally:
            tmp.unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
