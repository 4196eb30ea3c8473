"""Replay tasks: recorded iterate sessions (by id), tasks given inline, or a task dataset.

A task's ``expected_ids`` are its recorded successes: the worker ids of the candidates in
the accepted attempt of the session (parsed from its raw reply, pinned fields applied as
the loop applied them), or the ids an inline task names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from lakehouse.chat.messages import MODEL_PATTERN
from lakehouse.errors import InvalidInput, LakehouseError, NotFound
from lakehouse.extract import extract_json
from lakehouse.iterate import read_sessions
from lakehouse.iterate.records import MAX_ITER, MAX_PROMPT_CHARS
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.storage import ObjectStore

MAX_EXPECTED = 100


class TaskIn(BaseModel):
    """An inline replay task (``POST /v1/distill/replay`` ``tasks``)."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    kind: str = Field(default="fill", min_length=1, max_length=32)
    model: str | None = Field(default=None, max_length=200, pattern=MODEL_PATTERN)
    pinned: dict[str, Any] = Field(default_factory=dict, max_length=32)
    max_iter: int = Field(default=3, ge=1, le=MAX_ITER)
    expected_ids: list[str] = Field(default_factory=list, max_length=MAX_EXPECTED)


@dataclass(frozen=True)
class Task:
    """One task to replay; ``session_id`` joins its rows to the original."""

    session_id: str
    prompt: str
    kind: str
    model: str | None
    pinned: dict[str, Any]
    max_iter: int
    expected_ids: tuple[str, ...]
    original_status: str | None = None
    original_verdicts: tuple[str, ...] = field(default=())


def from_inline(tasks: Iterable[TaskIn]) -> list[Task]:
    return [
        Task(t.task_id, t.prompt, t.kind, t.model, dict(t.pinned), t.max_iter,
             tuple(t.expected_ids))
        for t in tasks
    ]  # fmt: skip


def recorded_sessions(
    store: ObjectStore, legacy_file: Path | None = None
) -> Iterator[dict[str, Any]]:
    """Every recorded iterate session: a node-local file of versions before the object-store
    log first (``legacy_file``, read if it exists), then the store's log, which every replica
    on every node writes. A session in both comes back twice; readers keep the first."""
    if legacy_file is not None:
        yield from read_sessions(legacy_file)
    yield from ObjectStoreSessionLog(store).records()


def from_sessions(records: Iterable[dict[str, Any]], session_ids: list[str]) -> list[Task]:
    """The sessions named, in the order named, found in ``records`` in one pass.

    Raises:
        NotFound: some ids are not in the log (all of them are named).
    """
    wanted = set(session_ids)
    found: dict[str, Task] = {}
    for record in records:
        sid = record.get("session_id")
        if sid in wanted and sid not in found:
            task = _task(record)
            if task is not None:
                found[sid] = task
    missing = [s for s in session_ids if s not in found]
    if missing:
        raise NotFound(f"no replayable session with id(s) {missing[:10]}", missing=missing[:10])
    return [found[s] for s in session_ids]


def session_tasks(records: Iterable[dict[str, Any]]) -> Iterator[Task]:
    """Every replayable session of ``records``, in order (the first record of an id wins)."""
    seen: set[str] = set()
    for record in records:
        sid = record.get("session_id")
        if isinstance(sid, str) and sid not in seen:
            task = _task(record)
            if task is not None:
                seen.add(sid)
                yield task


def _task(record: dict[str, Any]) -> Task | None:
    attempts = record.get("attempts")
    if not isinstance(attempts, list) or not attempts or not isinstance(attempts[0], dict):
        return None  # a session that never reached the model has nothing to replay
    prompt = attempts[0].get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return None
    pinned = record.get("pinned") if isinstance(record.get("pinned"), dict) else {}
    verdicts = tuple(str(a.get("status")) for a in attempts if isinstance(a, dict))
    return Task(
        session_id=str(record["session_id"]),
        prompt=prompt,
        kind=str(record.get("kind") or "fill"),
        model=record.get("model") if isinstance(record.get("model"), str) else None,
        pinned=pinned,
        max_iter=record.get("max_iter") if type(record.get("max_iter")) is int else 3,
        expected_ids=tuple(_accepted_ids(attempts)),
        original_status=record.get("status"),
        original_verdicts=verdicts,
    )


def _accepted_ids(attempts: list[Any]) -> list[str]:
    for att in attempts:
        if isinstance(att, dict) and att.get("status") == "accepted":
            try:
                payload = extract_json(att.get("raw") or "")
            except LakehouseError:
                return []
            candidates = payload.get("candidates") if isinstance(payload, dict) else None
            if isinstance(candidates, list):
                return [str(c["worker_id"]) for c in candidates
                        if isinstance(c, dict) and "worker_id" in c]  # fmt: skip
    return []


TASK_COLUMNS = ("task_id", "prompt")
OPTIONAL_COLUMNS = ("kind", "model", "expected_ids", "max_iter")


def from_dataset(path: Path, name: str, limit: int) -> list[Task]:
    """Tasks from a catalog dataset's Parquet: ``task_id``, ``prompt`` and optionally
    ``kind``, ``model``, ``max_iter`` and ``expected_ids`` (a list, or ids joined by ``;``).

    Raises:
        InvalidInput: a required column is missing, or the dataset has more than ``limit``
            rows (bulk replay belongs in a job).
    """
    columns = task_columns(path, name)
    rows = pq.ParquetFile(path).metadata.num_rows
    if rows > limit:
        raise InvalidInput(f"dataset {name!r} has {rows} tasks; at most {limit} per request")
    return [row_task(r) for r in pq.read_table(path, columns=columns).to_pylist()]


def task_columns(path: Path, name: str) -> list[str]:
    """The task columns a dataset's Parquet holds; ``InvalidInput`` if a required one is not."""
    schema = pq.read_schema(path)
    missing = [c for c in TASK_COLUMNS if c not in schema.names]
    if missing:
        raise InvalidInput(f"dataset {name!r} has no column(s) {missing}", field="dataset")
    return [c for c in (*TASK_COLUMNS, *OPTIONAL_COLUMNS) if c in schema.names]


def task_row(task: Task) -> dict[str, Any]:
    """A task as a flat row (what a bulk job ships between processes); ``row_task`` reads it."""
    return {
        "task_id": task.session_id, "prompt": task.prompt, "kind": task.kind,
        "model": task.model, "max_iter": task.max_iter, "expected_ids": list(task.expected_ids),
        "pinned": json.dumps(task.pinned), "original_status": task.original_status,
        "original_verdicts": list(task.original_verdicts),
    }  # fmt: skip


def row_task(row: dict[str, Any]) -> Task:
    """A task from a dataset row (or a ``task_row``)."""
    expected = row.get("expected_ids") or []
    if isinstance(expected, str):
        expected = [e for e in expected.split(";") if e]
    max_iter = row.get("max_iter")
    return Task(
        session_id=str(row["task_id"]),
        prompt=str(row["prompt"]),
        kind=str(row.get("kind") or "fill"),
        model=str(row["model"]) if row.get("model") else None,
        pinned=json.loads(row["pinned"]) if row.get("pinned") else {},
        max_iter=int(max_iter) if isinstance(max_iter, int) and 1 <= max_iter <= MAX_ITER else 3,
        expected_ids=tuple(str(e) for e in expected),
        original_status=row.get("original_status"),
        original_verdicts=tuple(row.get("original_verdicts") or ()),
    )
