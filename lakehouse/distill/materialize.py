"""The materializer: every record the service writes, as evidence rows in the catalog.

A run reads each input (``sources.discover``) line by line, turns each line into one
evidence row with its transform, spills rows per (transform, UTC day), merges each day
with the dataset already registered for it (adding only rows whose ``evidence_id`` it
lacks), registers the changed days as catalog datasets ``evidence_<transform>_<YYYYMMDD>``
(so ``/v1/sql`` reads them), and writes a receipt to ``distill/receipts/<run_id>.json``.

The run is split in two so an async caller can register through its catalog facade:
``stage`` (reads, merges, uploads staged Parquet) and ``finish`` (writes the receipt).
``run`` does both around a synchronous catalog.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.catalog.manifest import Column, Manifest, columns_of
from lakehouse.distill.partitions import DayPartitions, Spilled, merge
from lakehouse.distill.sources import HashedLines, Input, discover
from lakehouse.distill.transforms import TRANSFORMS, Transform
from lakehouse.errors import Conflict, InvalidInput, LakehouseError, NotFound
from lakehouse.jsonl import decode_line
from lakehouse.storage.base import ObjectStore

log = logging.getLogger(__name__)
RECEIPT_SCHEMA = "distill.receipt.v1"
RECEIPTS_PREFIX = "distill/receipts/"
MAX_PROBLEMS = 100


def dataset_name(transform: str, day: str) -> str:
    """``evidence_sessions_20261128`` for transform ``sessions`` and day ``2026-11-28``."""
    return f"evidence_{transform}_{day.replace('-', '')}"


def check_transforms(names: Iterable[str] | None) -> list[str]:
    """The chosen transforms (all when None); ``InvalidInput`` naming any unknown one."""
    chosen = list(TRANSFORMS) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in TRANSFORMS]
    if unknown or not chosen:
        raise InvalidInput(
            f"unknown transforms {unknown}; expected some of {list(TRANSFORMS)}", field="transforms"
        )
    return chosen


@dataclass
class Staged:
    """A staged output: Parquet uploaded under ``staged_key``, ready to register."""

    dataset: str
    transform: str
    day: str
    columns: list[Column]
    row_count: int
    rows_added: int
    staged_key: str
    base_etag: str | None = None  # the registered day it was merged with (None: a new day)


@dataclass
class Run:
    """What ``stage`` did, and what ``finish`` turns into the receipt."""

    run_id: str
    started_at: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    staged: list[Staged] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, source: str, offset: int, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"object": source, "line_offset": offset, "reason": reason})


class Materializer:
    """Turns the service's logs into day-partitioned evidence datasets.

    Args:
        store: the object store (pathway and playbook inputs, staged outputs, receipts).
        logs_dir: where the JSONL logs are (session log, replay log, observer sink).
        tmp_dir: scratch space for spilled partitions.
        max_line_bytes: longer lines are counted as malformed and skipped.
        batch_rows: rows buffered per partition before they are written out.
        clock: seconds since the epoch.
    """

    def __init__(
        self, store: ObjectStore, logs_dir: Path, tmp_dir: Path, *,
        max_line_bytes: int = 4 << 20, batch_rows: int = 2048,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.store, self.logs_dir, self.tmp_dir = store, Path(logs_dir), Path(tmp_dir)
        self.max_line_bytes, self.batch_rows, self.clock = max_line_bytes, batch_rows, clock

    def stage(
        self, transforms: Iterable[str] | None, lookup: Callable[[str], Manifest | None]
    ) -> Run:
        """Read every input, merge with the registered days, upload the changed days."""
        chosen = check_transforms(transforms)
        now = self.clock()
        run = Run(f"{int(now * 1000):015d}-{uuid.uuid4().hex[:8]}", _iso(now))
        run.counts = {t: dict.fromkeys(("in", "out", "duplicate", "malformed", "skipped"), 0)
                      for t in chosen}  # fmt: skip
        parts = DayPartitions(self.tmp_dir, self.batch_rows)
        try:
            for source in discover(self.logs_dir, self.store, set(chosen)):
                self._read(source, run, parts)
            spilled = parts.close()
        except BaseException:
            parts.discard()
            raise
        for part in spilled:
            try:
                self._stage_one(part, run, lookup)
            finally:
                part.path.unlink(missing_ok=True)
        return run

    def _read(self, source: Input, run: Run, parts: DayPartitions) -> None:
        transform, counts = TRANSFORMS[source.transform], run.counts[source.transform]
        try:
            fh = source.open(self.store)
        except (OSError, LakehouseError) as exc:  # vanished between listing and reading
            run.problem(source.name, -1, f"unreadable: {exc}")
            return
        with fh:
            lines = HashedLines(fh, self.max_line_bytes)
            for offset, line in lines:
                counts["in"] += 1
                outcome = self._one(transform, source.name, offset, line, parts)
                counts[outcome] += 1
                if outcome == "malformed":
                    run.problem(source.name, offset, "overlong" if line is None else "malformed")
        run.inputs.append({"object": source.name, "transform": source.transform,
                           "sha256": lines.sha.hexdigest(), "bytes": lines.size,
                           "lines": lines.lines})  # fmt: skip

    def _one(
        self, transform: Transform, source: str, offset: int, line: bytes | None,
        parts: DayPartitions,
    ) -> str:  # fmt: skip
        if line is None:
            return "malformed"
        try:
            record = decode_line(line)
            if not isinstance(record, dict):
                return "malformed"
            extracted = transform.extract(record)
        except (ValueError, TypeError, AttributeError):
            return "malformed"
        if extracted is None:
            return "skipped"
        ts, trace_id, session_id, fields = extracted
        when = datetime.fromtimestamp(ts, UTC)
        row = {
            "evidence_id": _evidence_id(transform.name, line),
            "source_object": source,
            "line_offset": offset,
            "recorded_at": when,
            "day": when.date().isoformat(),
            "trace_id": trace_id,
            "session_id": session_id,
            **fields,
        }
        return "out" if parts.add(transform.name, transform.schema, row) else "duplicate"

    def _stage_one(self, part: Spilled, run: Run, lookup: Callable[[str], Manifest | None]) -> None:
        name = dataset_name(part.transform, part.day)
        current = lookup(name)
        existing = self.store.local_path(current.object_key) if current else None
        out = self.tmp_dir / f"distill-merged-{uuid.uuid4().hex}.parquet"
        counts = run.counts[part.transform]
        counts["out"] -= part.rows  # counted again below, as what this day really gained
        try:
            added, total = merge(existing, part, out)
            staged_key = f"staging/{uuid.uuid4().hex}.parquet"
            if added:
                self.store.put_file(staged_key, out, consume=True)
        except LakehouseError as exc:
            run.errors.append({"dataset": name, "error": exc.code, "message": exc.message})
            counts["skipped"] += part.rows
            return
        finally:
            out.unlink(missing_ok=True)
        counts["out"] += added
        counts["duplicate"] += part.rows - added
        if not added:
            return
        columns = columns_of(part.schema)
        base = current.etag if current else None
        run.staged.append(
            Staged(name, part.transform, part.day, columns, total, added, staged_key, base)
        )

    def finish(self, run: Run, registered: dict[str, Manifest]) -> dict[str, Any]:
        """Write the run's receipt (``distill/receipts/<run_id>.json``) and return it."""
        outputs = []
        for s in run.staged:
            manifest = registered.get(s.dataset)
            outputs.append({"dataset": s.dataset, "transform": s.transform, "day": s.day,
                            "rows_added": s.rows_added, "row_count": s.row_count,
                            "object_key": manifest.object_key if manifest else None,
                            "registered": manifest is not None})  # fmt: skip
        receipt = {
            "schema": RECEIPT_SCHEMA,
            "run_id": run.run_id,
            "started_at": run.started_at,
            "finished_at": _iso(self.clock()),
            "inputs": run.inputs,
            "transforms": run.counts,
            "rows_added": sum(o["rows_added"] for o in outputs if o["registered"]),
            "outputs": outputs,
            "problems": run.problems,
            "errors": run.errors,
        }
        self.store.put(RECEIPTS_PREFIX + f"{run.run_id}.json", json.dumps(receipt).encode())
        return receipt

    def run(self, catalog: Any, transforms: Iterable[str] | None = None) -> dict[str, Any]:
        """Stage, register each day with a synchronous ``catalog``, write the receipt."""
        run = self.stage(transforms, lambda name: current_manifest(catalog, name))
        registered = {}
        for s in run.staged:
            try:
                check_base(s, current_manifest(catalog, s.dataset))
                registered[s.dataset] = catalog.register(
                    s.dataset, s.columns, s.row_count, s.staged_key
                )
            except LakehouseError as exc:
                self.discard(s)
                run.errors.append({"dataset": s.dataset, "error": exc.code, "message": exc.message})
        return self.finish(run, registered)

    def discard(self, staged: Staged) -> None:
        """Delete a staged object that will not be registered."""
        with contextlib.suppress(LakehouseError):
            self.store.delete(staged.staged_key)

    def receipt(self, run_id: str) -> dict[str, Any]:
        """A past run's receipt; ``NotFound`` if there is none, or if it is malformed (the
        object is logged and skipped, never a 500)."""
        if not run_id.replace("-", "").isalnum() or len(run_id) > 64:
            raise InvalidInput("run_id must be letters, digits and '-'", field="run_id")
        key = RECEIPTS_PREFIX + f"{run_id}.json"
        try:
            return checked_receipt(self.store.get(key))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("receipt %s unreadable (%s); skipped", key, exc)
            raise NotFound(
                f"receipt {run_id!r} is unreadable ({type(exc).__name__}) and was skipped",
                key=key,
            ) from None

    def receipts(self, limit: int = 20) -> dict[str, Any]:
        """The newest ``limit`` receipts in brief (run ids start with the time, so keys
        sort), and ``[{key, reason}]`` for each object among them that could not be read."""
        keys = sorted((o.key for o in self.store.iter_all(RECEIPTS_PREFIX)), reverse=True)
        found, skipped = [], []
        for key in keys[:limit]:
            try:
                receipt = checked_receipt(self.store.get(key))
            except NotFound:
                continue  # deleted since the listing
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("receipt %s unreadable (%s); skipped", key, exc)
                skipped.append({"key": key, "reason": f"unreadable ({type(exc).__name__})"})
                continue
            found.append({k: receipt.get(k) for k in _BRIEF})
        return {"receipts": found, "skipped": skipped}


_BRIEF = ("run_id", "started_at", "finished_at", "rows_added", "errors")


def checked_receipt(data: bytes) -> dict[str, Any]:
    """A receipt object, checked for the fields its readers use."""
    receipt = json.loads(data)
    if not isinstance(receipt, dict) or receipt["schema"] != RECEIPT_SCHEMA:
        raise TypeError(f"not a {RECEIPT_SCHEMA} object")
    if not isinstance(receipt["run_id"], str) or not isinstance(receipt["rows_added"], int):
        raise TypeError("run_id or rows_added has the wrong type")
    return receipt


def check_base(staged: Staged, current: Manifest | None) -> None:
    """``Conflict`` if the day changed since ``staged`` was merged with it.

    Another run (another replica's logs) registered the day meanwhile: registering this
    merge would drop its rows. The run reports the day; the next run merges again, and the
    evidence ids keep it from adding anything twice.
    """
    now = current.etag if current else None
    if now != staged.base_etag:
        raise Conflict(
            f"{staged.dataset} changed while this run merged it; run materialize again",
            dataset=staged.dataset,
        )


def current_manifest(catalog: Any, name: str) -> Manifest | None:
    """The dataset's manifest in a synchronous ``catalog``, or None."""
    try:
        return catalog.get(name)
    except NotFound:
        return None


def _evidence_id(transform: str, line: bytes) -> str:
    return hashlib.sha256(transform.encode() + b"\x1f" + line.rstrip(b"\r\n")).hexdigest()[:32]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
