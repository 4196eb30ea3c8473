"""Where the pathway event log lives: the interface, the replay report, a local directory.

A log is a snapshot (possibly absent) plus a tail of appended lines. ``append`` is durable
before it returns. ``write_snapshot`` publishes a new snapshot atomically and only then
restarts the tail; the store's sequence numbers make a crash between the two harmless
(tail events already in the snapshot are skipped as stale at replay).
"""

from __future__ import annotations

import abc
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.errors import StorageError
from lakehouse.jsonl import iter_lines

log = logging.getLogger(__name__)

MAX_PROBLEMS = 100


@dataclass
class ReplayReport:
    """What a replay read and what it skipped (and why, for the first ``MAX_PROBLEMS``)."""

    snapshot_events: int = 0
    log_events: int = 0
    skipped_corrupt: int = 0
    skipped_overlong: int = 0
    skipped_invalid: int = 0
    skipped_stale: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Lines lost to damage: corrupt, overlong or not applicable (stale ones are not)."""
        return self.skipped_corrupt + self.skipped_overlong + self.skipped_invalid

    def note(self, kind: str, where: str, why: str = "") -> None:
        setattr(self, f"skipped_{kind}", getattr(self, f"skipped_{kind}") + 1)
        if kind != "stale" and len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}: {kind}{': ' + why if why else ''}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "skipped": self.skipped}


class EventLog(abc.ABC):
    """Durable, append-only storage of event lines, with one snapshot."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes

    @abc.abstractmethod
    def read(self, report: ReplayReport) -> Iterator[tuple[str, str, bytes]]:
        """Yield ``(source, where, line)``: the snapshot's lines, then the tail's.

        ``source`` is ``"snapshot"`` or ``"tail"``; ``where`` names the line for reports
        (``"snapshot.jsonl:12"``). Overlong lines are noted in ``report`` and not yielded.
        Call once, before any ``append``.
        """

    @abc.abstractmethod
    def append(self, line: bytes) -> None:
        """Append one newline-terminated line; durable when this returns."""

    @abc.abstractmethod
    def write_snapshot(self, lines: Iterable[bytes]) -> None:
        """Publish ``lines`` as the snapshot atomically, then start an empty tail."""

    def wants_compaction(self) -> bool:
        """True when the tail has grown enough that the store should compact."""
        return False

    @abc.abstractmethod
    def close(self) -> None:
        """Release files and handles."""


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
            _fsync_dir(self.directory)
        except OSError as exc:
            raise StorageError(f"pathway snapshot write failed: {exc.strerror}") from exc
        finally:
            tmp.unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
