"""Where the pathway event log lives: the interface and the replay report.

A log is a snapshot (possibly absent) plus a tail of appended lines. ``append`` is durable
before it returns. ``write_snapshot`` publishes a new snapshot atomically and only then
restarts the tail; the store's sequence numbers make a crash between the two harmless
(tail events already in the snapshot are skipped as stale at replay).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

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
