"""The pathway event log over an ``ObjectStore``: one object per appended segment.

Object stores cannot append, so each acknowledged write is its own segment object,
``<prefix>/log/<n:020d>.jsonl``, written with ``if_absent`` (a second writer on the same
prefix gets ``Conflict`` instead of overwriting). A snapshot is
``<prefix>/snapshot/<n:020d>.jsonl``, holding everything up to segment ``n``; replay reads
the newest snapshot and the segments after it. Compaction writes a snapshot and then
deletes what it covers; a crash in between leaves only stale objects behind.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from lakehouse.errors import LakehouseError, NotFound
from lakehouse.jsonl import iter_lines
from lakehouse.pathway.log import EventLog, ReplayReport
from lakehouse.storage.base import ObjectStore

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{20})\.jsonl$")


class ObjectStoreLog(EventLog):
    """Segments and snapshots as objects under ``prefix``.

    Args:
        store: any ``ObjectStore`` (local directory or S3).
        prefix: key prefix owned by this log (one writer at a time).
        max_line_bytes: longer lines are skipped at replay.
        max_segments: segments after which ``wants_compaction`` says so; defaults to half
            the store's listing cap so a listing never has to page through thousands.
    """

    def __init__(
        self,
        store: ObjectStore,
        prefix: str = "pathway",
        *,
        max_line_bytes: int = 1024 * 1024,
        max_segments: int | None = None,
    ) -> None:
        super().__init__(max_line_bytes)
        self.store = store
        self.prefix = prefix.rstrip("/")
        self.max_segments = max_segments or max(1, store.max_list // 2)
        self._next = 1
        self._segments: list[int] = []

    def read(self, report: ReplayReport) -> Iterator[tuple[str, str, bytes]]:
        snapshots = self._numbers("snapshot", report)
        segments = self._numbers("log", report)
        base = snapshots[-1] if snapshots else 0
        self._next = max([base, *segments]) + 1
        self._segments = [n for n in segments if n > base]
        if snapshots:
            for where, line in self._read_snapshot(self._key("snapshot", base), report):
                yield "snapshot", where, line
        for n in self._segments:
            for where, line in self._read_segment(self._key("log", n), report):
                yield "tail", where, line

    def append(self, line: bytes) -> None:
        n = self._next
        self.store.put(self._key("log", n), line, if_absent=True)
        self._next = n + 1
        self._segments.append(n)

    def write_snapshot(self, lines: Iterable[bytes]) -> None:
        base = self._next - 1
        fd, tmp = tempfile.mkstemp(prefix="pathway-snapshot-")
        try:
            with os.fdopen(fd, "wb") as fh:
                for line in lines:
                    fh.write(line)
            self.store.put_file(self._key("snapshot", base), Path(tmp), consume=True)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._segments = []
        self._drop_covered(base)

    def wants_compaction(self) -> bool:
        return len(self._segments) >= self.max_segments

    def close(self) -> None:
        """Nothing is held open between calls."""

    def _read_snapshot(self, key: str, report: ReplayReport) -> Iterator[tuple[str, bytes]]:
        try:
            path = self.store.local_path(key)
        except NotFound:
            report.note("corrupt", key, "snapshot vanished while reading")
            return
        with open(path, "rb") as fh:
            yield from self._lines(fh, key, report)

    def _read_segment(self, key: str, report: ReplayReport) -> Iterator[tuple[str, bytes]]:
        try:
            data = self.store.get(key)
        except LakehouseError as exc:
            report.note("corrupt", key, f"unreadable segment ({exc.code})")
            return
        yield from self._lines(io.BytesIO(data), key, report)

    def _lines(self, fh, key: str, report: ReplayReport) -> Iterator[tuple[str, bytes]]:
        on_overlong = lambda n: report.note("overlong", f"{key}:{n}")  # noqa: E731
        for lineno, line in iter_lines(fh, self.max_line_bytes, on_overlong):
            yield f"{key}:{lineno}", line

    def _numbers(self, kind: str, report: ReplayReport) -> list[int]:
        numbers = []
        for key in self._list_all(f"{self.prefix}/{kind}/"):
            match = _NAME.match(key.rsplit("/", 1)[-1])
            if match:
                numbers.append(int(match.group(1)))
            else:
                report.problems.append(f"{key}: not a pathway {kind} object, ignored")
        return sorted(numbers)

    def _list_all(self, prefix: str) -> list[str]:
        # The interface lists one capped page. Names are fixed-width digits, so a truncated
        # page is completed by listing each one-digit-longer prefix in turn.
        listing = self.store.list(prefix, limit=self.store.max_list)
        if not listing.truncated:
            return [o.key for o in listing.objects]
        keys: list[str] = []
        for digit in "0123456789":
            keys.extend(self._list_all(prefix + digit))
        return keys

    def _drop_covered(self, base: int) -> None:
        for kind in ("log", "snapshot"):
            for key in self._list_all(f"{self.prefix}/{kind}/"):
                match = _NAME.match(key.rsplit("/", 1)[-1])
                keep = kind == "snapshot" and match and int(match.group(1)) == base
                if match and int(match.group(1)) <= base and not keep:
                    self._delete(key)

    def _delete(self, key: str) -> None:
        # A stale object left behind costs only listing time; it is never replayed.
        with contextlib.suppress(NotFound):
            try:
                self.store.delete(key)
            except LakehouseError:
                log.warning("could not delete stale pathway object %s", key)

    def _key(self, kind: str, n: int) -> str:
        return f"{self.prefix}/{kind}/{n:020d}.jsonl"
