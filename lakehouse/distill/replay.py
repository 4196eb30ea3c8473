"""Replay: recorded tasks through retrieve -> bundle -> chat -> validate, one row each.

For every task: the matrix search for its prompt (``retrieve``), the rank of its recorded
successes in what retrieval returns now (``hit_rank``, 1-based, None when absent), then,
in ``full`` mode, the prompt with the top ``bundle_k`` roster facts appended (``bundle``)
through the iterate loop with the configured provider and the validator. Each task appends
one ``replay_run.v1`` row to the replay log, joined to the original by ``session_id``:

    {"schema": "replay_run.v1", "run_id", "session_id", "mode", "trace_id", "started_at",
     "finished_at", "latency_ms", "expected_ids", "retrieved_ids", "hit_rank",
     "best_raw_score", "low_confidence", "original_status", "original_verdicts",
     full mode: "model", "tier", "kind", "max_iter", "attempts", "status", "accepted",
     "grounded_in_roster", "verdicts", "verdicts_match", "replay_session_id"}

``retrieval`` mode asks no model, so it is useful with no LLM configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lakehouse.chat.base import ChatProvider
from lakehouse.chat.messages import MODEL_PATTERN
from lakehouse.distill.compare import summarize
from lakehouse.distill.sources import REPLAY_PREFIX
from lakehouse.distill.tasks import Task, TaskIn
from lakehouse.distill.tier import TierConfig, choose_tier
from lakehouse.errors import InvalidInput, LakehouseError
from lakehouse.guard import KINDS, Validator
from lakehouse.iterate import IterateLoop, IterateRequest
from lakehouse.iterate.log import SessionAppender
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.jsonl import dumps_compact
from lakehouse.storage import ObjectStore

SCHEMA = "replay_run.v1"


def replay_log(store: ObjectStore) -> ObjectStoreSessionLog:
    """The replay log: ``replay_run.v1`` rows as objects under ``logs/replay_runs/``, a batch
    each, so a run written on any node is read on every other."""
    return ObjectStoreSessionLog(store, REPLAY_PREFIX, schema=SCHEMA)


MAX_TASKS = 100
DATASET_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
FACT_FIELDS = ("role", "city", "state", "shift", "skills", "certifications", "available")


class CorpusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    weight: float = Field(default=1.0, ge=0, le=10)


class ReplayOptions(BaseModel):
    """How tasks are replayed, whatever their source (the route's body and the bulk job's
    arguments share them)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["full", "retrieval"] = "full"
    corpora: list[CorpusIn] = Field(
        default_factory=lambda: [CorpusIn(name="workers")], min_length=1, max_length=16
    )
    k: int = Field(default=10, ge=1, le=100)
    use_playbook: bool = True
    bundle_k: int = Field(default=5, ge=0, le=50)
    model: str | None = Field(default=None, max_length=200, pattern=MODEL_PATTERN)
    tier: TierConfig | None = None


class ReplayRequest(ReplayOptions):
    """``POST /v1/distill/replay``: recorded ``sessions`` (ids), inline ``tasks``, or a
    catalog ``dataset`` of tasks (``task_id``, ``prompt``, optional ``kind``, ``model``,
    ``max_iter``, ``expected_ids``), replayed with the options of ``ReplayOptions``."""

    sessions: list[str] | None = Field(default=None, min_length=1, max_length=MAX_TASKS)
    tasks: list[TaskIn] | None = Field(default=None, min_length=1, max_length=MAX_TASKS)
    dataset: str | None = Field(default=None, pattern=DATASET_NAME)

    @model_validator(mode="after")
    def _one_source(self) -> ReplayRequest:
        if sum(x is not None for x in (self.sessions, self.tasks, self.dataset)) != 1:
            raise ValueError("send exactly one of sessions, tasks or dataset")
        if self.sessions is not None and any(not 0 < len(s) <= 128 for s in self.sessions):
            raise ValueError("session ids are 1..128 characters")
        return self


Retrieve = Callable[[str, ReplayOptions], Awaitable[dict[str, Any]]]
ValidatorFor = Callable[[str], Awaitable[Validator]]


class _Captured:
    """Stands in for the session log: the loop's record is kept for the replay row."""

    def __init__(self) -> None:
        self.record: dict[str, Any] | None = None

    def append(self, record: Mapping[str, Any]) -> None:
        self.record = dict(record)


class Replayer:
    """Runs tasks and appends their ``replay_run.v1`` rows.

    Args:
        retrieve: async ``(query, request) -> matrix answer`` (``hits``, ``low_confidence``).
        log: the replay log (``run`` appends rows durably, one per task; None where the
            caller writes the rows ``one`` returns, as the bulk job does).
        chat: the provider for ``full`` mode (None: only ``retrieval`` mode runs).
        validator_for: async ``kind -> Validator`` (fills need the roster).
        clock, new_id: injected by tests.
    """

    def __init__(
        self, retrieve: Retrieve, log: SessionAppender | None, chat: ChatProvider | None = None,
        validator_for: ValidatorFor | None = None, *, clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:  # fmt: skip
        self.retrieve, self.log, self.chat = retrieve, log, chat
        self.validator_for, self.clock, self.new_id = validator_for, clock, new_id

    async def prepare(self, tasks: list[Task], req: ReplayOptions) -> dict[str, Validator]:
        """Every check that can fail, before the first row is written; the validators."""
        if req.mode == "retrieval":
            return {}
        if self.chat is None or self.validator_for is None:
            raise InvalidInput("full replay needs a chat provider; use mode=retrieval")
        check_tasks(tasks, req)
        return {kind: await self.validator_for(kind) for kind in {t.kind for t in tasks}}

    async def run(self, tasks: list[Task], req: ReplayOptions, trace_id: str) -> dict[str, Any]:
        """Replay ``tasks`` in order; returns the run id, its rows and their summary."""
        validators = await self.prepare(tasks, req)
        assert self.log is not None, "run needs a replay log"
        log = self.log
        run_id = self.new_run_id()
        rows = []
        for task in tasks:
            row = await self.one(run_id, task, req, trace_id, validators)
            await asyncio.to_thread(log.append, row)
            rows.append(row)
        return {"run_id": run_id, "mode": req.mode, "rows": rows, "summary": summarize(rows)}

    def new_run_id(self) -> str:
        return make_run_id(self.clock(), self.new_id())

    async def one(
        self, run_id: str, task: Task, req: ReplayOptions, trace_id: str,
        validators: dict[str, Validator],
    ) -> dict[str, Any]:  # fmt: skip
        """One task's ``replay_run.v1`` row (not yet logged)."""
        started = self.clock()
        retrieval = await self.retrieve(task.prompt, req)
        ids = [str(h["id"]) for h in retrieval.get("hits", [])]
        row: dict[str, Any] = {
            "schema": SCHEMA, "run_id": run_id, "session_id": task.session_id,
            "mode": req.mode, "trace_id": trace_id, "started_at": _iso(started),
            "expected_ids": list(task.expected_ids), "retrieved_ids": ids,
            "hit_rank": _rank(ids, task.expected_ids),
            "best_raw_score": retrieval.get("best_raw_score"),
            "low_confidence": retrieval.get("low_confidence"),
            "original_status": task.original_status,
            "original_verdicts": list(task.original_verdicts),
        }  # fmt: skip
        if req.mode == "full":
            row |= await self._full(task, req, trace_id, retrieval, validators[task.kind])
        row["finished_at"] = _iso(self.clock())
        row["latency_ms"] = round((self.clock() - started) * 1000, 3)
        return row

    async def _full(
        self, task: Task, req: ReplayOptions, trace_id: str, retrieval: dict[str, Any],
        validator: Validator,
    ) -> dict[str, Any]:  # fmt: skip
        tier = choose_tier(req.tier, retrieval) if req.tier is not None else None
        model = req.model or (tier.model if tier else None) or task.model
        prompt = bundle(task.prompt, retrieval.get("hits", [])[: req.bundle_k])
        request = IterateRequest(model=model, kind=task.kind, prompt=prompt,
                                 max_iter=task.max_iter, pinned=task.pinned)  # fmt: skip
        captured = _Captured()
        assert self.chat is not None
        loop = IterateLoop(self.chat, validator, captured, new_id=self.new_id)  # type: ignore[arg-type]
        # a provider failure raises after the loop logged the session: the row records it
        with contextlib.suppress(LakehouseError):
            await asyncio.to_thread(loop.run, request, trace_id)
        record = captured.record or {"attempts": [], "status": "error"}
        verdicts = [a["status"] for a in record["attempts"]]
        return {
            "model": model, "tier": tier.to_dict() if tier else None, "kind": task.kind,
            "max_iter": task.max_iter, "attempts": record["attempts"],
            "status": record["status"], "accepted": record["status"] == "accepted",
            "grounded_in_roster": record.get("grounded_in_roster"), "verdicts": verdicts,
            "verdicts_match": verdicts == list(task.original_verdicts)
            if task.original_verdicts else None,
            "replay_session_id": record.get("session_id"),
        }  # fmt: skip


def make_run_id(now: float, token: str) -> str:
    """A run id: the time in ms first, so run ids sort by when the run began."""
    return f"{int(now * 1000):015d}-{token[:8]}"


def check_tasks(tasks: Iterable[Task], req: ReplayOptions) -> None:
    """``InvalidInput`` for a task full mode cannot run: an unknown kind, or no model."""
    if req.mode == "retrieval":
        return
    for task in tasks:
        if task.kind not in KINDS:
            raise InvalidInput(f"task {task.session_id}: unknown kind {task.kind!r}")
        if req.model is None and req.tier is None and task.model is None:
            raise InvalidInput(f"task {task.session_id} names no model; set model or tier")


def bundle(prompt: str, hits: list[dict[str, Any]]) -> str:
    """The prompt with the retrieved roster facts appended (the ids a fill may use)."""
    if not hits:
        return prompt
    lines = []
    for hit in hits:
        meta = hit.get("metadata") or {}
        facts = {f: meta[f] for f in FACT_FIELDS if f in meta}
        lines.append(f"- {hit['id']}: {dumps_compact(facts)}")
    return f"{prompt}\n\nRoster facts retrieved for this request:\n" + "\n".join(lines)


def _rank(ids: list[str], expected: tuple[str, ...]) -> int | None:
    wanted = set(expected)
    return next((i + 1 for i, x in enumerate(ids) if x in wanted), None)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
