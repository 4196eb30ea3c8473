"""Where observer events are persisted: an interface and a rotating JSONL file."""

from __future__ import annotations

import abc
import heapq
import os
import threading
from pathlib import Path
from typing import Any

from lakehouse.jsonl import decode_line, dumps_compact, is_finite_number, iter_lines


class EventSink(abc.ABC):
    """Persistence for the ring. ``write`` may raise: the ring counts and carries on."""

    @abc.abstractmethod
    def write(self, line: bytes) -> None:
        """Persist one event line (newline-terminated)."""

    def write_many(self, lines: list[bytes]) -> None:
        """Persist several lines (one call per ``emit_many``; a sink may store them at once)."""
        for line in lines:
            self.write(line)

    @abc.abstractmethod
    def load(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The ``limit`` newest readable events (by id) and how many damaged lines were skipped.

        Each event is ``{"id", "ts", "kind", "data_json", "trace_id"}``.
        """


class JsonlFileSink(EventSink):
    """Appends to ``path``; past ``max_bytes`` the file becomes ``<path>.1`` (one kept).

    Lines are flushed but not fsynced: the ring is a best-effort record, and an fsync per
    event would cap every request's latency at the disk's. A lost tail on power loss is
    the accepted price.
    """

    def __init__(
        self, path: Path | str, *, max_bytes: int = 64 << 20, max_line_bytes: int = 1 << 20
    ):
        self.path = Path(path)
        self.rotated = self.path.with_name(self.path.name + ".1")
        self.max_bytes = max_bytes
        self.max_line_bytes = max_line_bytes
        self._lock = threading.Lock()
        self._fh: Any = None

    def write(self, line: bytes) -> None:
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "ab")  # noqa: SIM115 - held open across writes
            if self._fh.tell() + len(line) > self.max_bytes and self._fh.tell() > 0:
                self._rotate()
            self._fh.write(line)
            self._fh.flush()

    def load(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        # The newest by id, not the last lines: concurrent writers persist outside the
        # ring's lock, so the file's order is only roughly the order of the ids.
        kept: list[tuple[int, int, dict[str, Any]]] = []  # min-heap of (id, line, record)
        skipped = [0]
        seen = 0

        def overlong(_lineno: int) -> None:
            skipped[0] += 1

        for path in (self.rotated, self.path):
            if not path.exists():
                continue
            with open(path, "rb") as fh:
                for _lineno, line in iter_lines(fh, self.max_line_bytes, overlong):
                    rec = _parse(line)
                    if rec is None:
                        skipped[0] += 1
                        continue
                    seen += 1
                    entry = (rec["id"], seen, rec)  # (id, line) is unique: dicts never compare
                    if len(kept) < limit:
                        heapq.heappush(kept, entry)
                    elif entry[:2] > kept[0][:2]:
                        heapq.heapreplace(kept, entry)
        return [rec for _, _, rec in sorted(kept, key=lambda e: e[:2])], skipped[0]

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def _rotate(self) -> None:
        self._fh.close()
        self._fh = None
        os.replace(self.path, self.rotated)
        self._fh = open(self.path, "ab")  # noqa: SIM115


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        rec = decode_line(line)
    except ValueError:
        return None
    if not isinstance(rec, dict) or type(rec.get("id")) is not int:
        return None
    trace_id = rec.get("trace_id")
    if not (is_finite_number(rec.get("ts")) and isinstance(rec.get("kind"), str)):
        return None
    if not isinstance(rec.get("data"), dict) or not (trace_id is None or isinstance(trace_id, str)):
        return None
    return {
        "id": rec["id"],
        "ts": float(rec["ts"]),
        "kind": rec["kind"],
        "data_json": dumps_compact(rec["data"]),
        "trace_id": trace_id,
    }
