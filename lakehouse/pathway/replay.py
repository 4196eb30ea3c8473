"""Rebuilding a store from its log: every line decoded, checked, applied or skipped."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

from lakehouse.jsonl import decode_line
from lakehouse.pathway.events import (
    EVENT_SCHEMA,
    SNAPSHOT_SCHEMA,
    State,
    event_content,
    next_state,
)
from lakehouse.pathway.log import EventLog, ReplayReport

log = logging.getLogger(__name__)


def replay(
    event_log: EventLog,
    head: Callable[[object], State | None],
    commit: Callable[[State, State | None], None],
) -> ReplayReport:
    """Apply every usable line of ``event_log`` through ``commit``; report the rest.

    A line is skipped as corrupt (not a JSON object), overlong, invalid (does not apply to
    the state so far: unknown uid, wrong version, ...) or stale (its ``seq`` is already
    applied: the tail overlapping a snapshot after a crash during compaction). Replay
    never raises for a bad line.
    """
    report = ReplayReport()
    # Replay allocates millions of small acyclic objects; the cyclic collector would walk
    # the growing heap again and again for nothing (about 40% of replay time at 1M events).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _apply_all(event_log, head, commit, report)
    finally:
        if collecting:
            gc.enable()
    if report.skipped:
        log.warning(
            "pathway replay skipped %d damaged lines (first: %s)",
            report.skipped,
            report.problems[:3],
        )
    return report


def _apply_all(
    event_log: EventLog,
    head: Callable[[object], State | None],
    commit: Callable[[State, State | None], None],
    report: ReplayReport,
) -> None:
    last_seq = 0
    for source, where, line in event_log.read(report):
        decoded = _decode(where, line, last_seq, head, report)
        if decoded is None:
            continue
        state, prev = decoded
        commit(state, prev)
        last_seq = state.seq
        if source == "snapshot":
            report.snapshot_events += 1
        else:
            report.log_events += 1


def _decode(
    where: str,
    line: bytes,
    last_seq: int,
    head: Callable[[object], State | None],
    report: ReplayReport,
) -> tuple[State, State | None] | None:
    try:
        ev = decode_line(line)
    except ValueError:
        report.note("corrupt", where, "not valid JSON")
        return None
    if not isinstance(ev, dict):
        report.note("corrupt", where, "not a JSON object")
        return None
    if ev.get("schema") == SNAPSHOT_SCHEMA:
        return None
    seq = ev.get("seq")
    if type(seq) is int and seq <= last_seq:
        report.note("stale", where)
        return None
    try:
        if ev.get("schema") != EVENT_SCHEMA:
            raise ValueError(f"schema {ev.get('schema')!r}")
        prev = head(ev["uid"])
        return next_state(ev, event_content(ev), prev), prev
    except (KeyError, TypeError, ValueError) as exc:
        report.note("invalid", where, str(exc)[:200])
        return None
