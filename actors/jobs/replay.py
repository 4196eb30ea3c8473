"""Bulk replay as a Ray Data job: thousands of recorded tasks, one ``replay_run.v1`` row each.

    python -m actors.jobs.replay                          # every session in the session log
    python -m actors.jobs.replay --dataset replay_tasks   # a catalog dataset of tasks
    ray job submit --working-dir . -- python -m actors.jobs.replay --limit 5000

The same core as ``POST /v1/distill/replay`` (``lakehouse.distill.replay.Replayer``: matrix
search, the rank of the recorded successes, and in ``--mode full`` the bundle, the iterate
loop with the configured provider and the validator), without its 100-task cap. Mode
``retrieval`` (the default) asks no model. Tasks come from the session log
(the object store's ``logs/sessions.iterate/``, or a file given as ``--sessions-log``) or from a
dataset's Parquet, read by Ray Data where it lives (columns ``task_id``, ``prompt`` and
optionally ``kind``, ``model``, ``max_iter``, ``expected_ids``). Every input is checked
before the first task runs: an unknown dataset or corpus, a missing column, a task full mode
cannot run. ``--concurrency`` replayer actors take ``--batch-size`` tasks at a time; the
driver puts their rows in the store's replay log (one object per batch), prints a progress line
every ``--progress-every-s``, and closes with a receipt (counts, figures, seconds), also
written to ``distill/replays/<run_id>.json`` in the object store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import ray
from pydantic import ValidationError
from ray.data import ActorPoolStrategy

from actors import NAMESPACE
from actors.services import Services, build_services
from lakehouse.distill.compare import summarize
from lakehouse.distill.replay import (
    CorpusIn,
    Replayer,
    ReplayOptions,
    check_tasks,
    make_run_id,
    replay_log,
)
from lakehouse.distill.sources import REPLAY_PREFIX, SESSION_LOG_FILE, SESSION_PREFIX
from lakehouse.distill.tasks import (
    recorded_sessions,
    row_task,
    session_tasks,
    task_columns,
    task_row,
)
from lakehouse.distill.tier import TierConfig
from lakehouse.errors import InvalidInput, NotFound
from lakehouse.guard import ParquetRoster, Validator
from lakehouse.iterate import read_sessions
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.matrix import MatrixQuery
from lakehouse.settings import Settings

RECEIPT_SCHEMA = "replay.receipt.v1"
RECEIPTS_PREFIX = "distill/replays/"
# the figures only: a receipt of 100,000 rows must not hold their retrieved ids
_SUMMARY_FIELDS = ("mode", "model", "status", "verdicts", "grounded_in_roster",
                   "expected_ids", "hit_rank", "verdicts_match", "latency_ms")  # fmt: skip


@dataclass
class JobArgs:
    dataset: str | None = None  # a catalog dataset of tasks; None: the session log
    sessions_log: str | None = None  # a session log file; default: the object store's log
    mode: str = "retrieval"
    corpora: str = "workers"  # comma-separated name or name:weight
    k: int = 10
    no_playbook: bool = False
    bundle_k: int = 5
    model: str | None = None
    small_model: str | None = None  # with strong_model: the model-tier gate
    strong_model: str | None = None
    confident_at: float = 0.55
    limit: int | None = None
    batch_size: int = 32
    concurrency: int = 1
    progress_every_s: float = 15.0

    def options(self) -> ReplayOptions:
        """The replay options, validated as the route validates them (``InvalidInput``)."""
        tier = None
        if self.small_model or self.strong_model:
            tier = {"small_model": self.small_model, "strong_model": self.strong_model,
                    "confident_at": self.confident_at}  # fmt: skip
        try:
            return ReplayOptions(
                mode=self.mode,  # type: ignore[arg-type]
                corpora=[_corpus(c) for c in self.corpora.split(",") if c.strip()],
                k=self.k, use_playbook=not self.no_playbook, bundle_k=self.bundle_k,
                model=self.model, tier=TierConfig(**tier) if tier else None,
            )  # fmt: skip
        except (ValidationError, ValueError) as exc:
            raise InvalidInput(f"bad replay options: {exc}") from None


def _corpus(text: str) -> CorpusIn:
    name, _, weight = text.strip().partition(":")
    return CorpusIn(name=name, weight=float(weight) if weight else 1.0)


def retriever(services: Services, options: ReplayOptions) -> Any:
    """``(query, options) -> matrix answer`` over the services' matrix search."""
    matrix = services.matrix
    corpora = [(c.name, c.weight) for c in options.corpora]
    use_playbook = options.use_playbook and matrix.playbook is not None

    async def retrieve(query: str, opts: ReplayOptions) -> dict[str, Any]:
        return await matrix.search(
            MatrixQuery(corpora=corpora, text=query, k=opts.k, use_playbook=use_playbook)
        )

    return retrieve


class ReplayBatch:
    """Ray Data UDF: a batch of task rows -> their ``replay_run.v1`` rows (as JSON text)."""

    def __init__(self, settings: Settings, options: ReplayOptions, run_id: str, trace: str):
        self.loop = asyncio.new_event_loop()
        self.services = build_services(settings, "ray")
        self.options, self.run_id, self.trace_id = options, run_id, trace
        self.replayer = Replayer(retriever(self.services, options), None,
                                 self.services.chat, self._validator)  # fmt: skip

    async def _validator(self, kind: str) -> Validator:
        if kind != "fill":
            return Validator(None)
        manifest = await self.services.manifest(self.services.settings.roster_dataset)
        if manifest is None:
            return Validator(None)  # the validator then refuses fills: no roster to check
        path = await asyncio.to_thread(self.services.store.local_path, manifest.object_key)
        return Validator(await asyncio.to_thread(ParquetRoster, path))

    def __call__(self, batch: pa.Table) -> pa.Table:
        tasks = [row_task(r) for r in batch.to_pylist()]
        rows = self.loop.run_until_complete(self._replay(tasks))
        return pa.table({"row": [json.dumps(r, ensure_ascii=False) for r in rows]})

    async def _replay(self, tasks: list[Any]) -> list[dict[str, Any]]:
        validators = await self.replayer.prepare(tasks, self.options)
        return [await self.replayer.one(self.run_id, t, self.options, self.trace_id, validators)
                for t in tasks]  # fmt: skip


def run(args: JobArgs, settings: Settings | None = None) -> dict[str, Any]:
    """Run the job on the connected Ray cluster; returns the receipt.

    Raises:
        NotFound: the dataset, a corpus or the ``--sessions-log`` file does not exist.
        InvalidInput: bad options, a missing task column, a task full mode cannot run, or
            no replayable session in the log read.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    services = build_services(settings, "ray")
    options = args.options()
    for corpus in options.corpora:  # an unknown corpus: 404 before any task runs
        asyncio.run(services.vectors.corpus(corpus.name))
    ds, total, source = _tasks(args, options, services)
    run_id, trace_id = make_run_id(time.time(), uuid.uuid4().hex), uuid.uuid4().hex
    ds = ds.map_batches(
        ReplayBatch,
        fn_constructor_args=(settings, options, run_id, trace_id),
        batch_size=args.batch_size,
        batch_format="pyarrow",
        compute=ActorPoolStrategy(size=args.concurrency),
        # the replayers mostly wait on shard actors and the embedder: a slice of a CPU
        # each, so they never starve Ray Data's own read tasks on a small node
        num_cpus=0.25,
    )
    log = replay_log(services.store)
    kept = _drain(ds, log, total, started, args.progress_every_s)
    return _receipt(services, run_id, trace_id, source, options, total, kept, started)


def _tasks(
    args: JobArgs, options: ReplayOptions, services: Services
) -> tuple[ray.data.Dataset, int, dict[str, Any]]:
    """The task dataset, its size and a description of the source, every check done."""
    if args.dataset is not None:
        manifest = asyncio.run(services.manifest(args.dataset))
        if manifest is None:
            raise NotFound(f"dataset {args.dataset!r} is not in the catalog")
        path = str(services.store.local_path(manifest.object_key))
        columns = task_columns(Path(path), args.dataset)
        check_tasks(_dataset_tasks(path, columns, args.limit), options)
        ds = ray.data.read_parquet(path, columns=columns)
        total = min(args.limit or manifest.row_count, manifest.row_count)
        return (ds.limit(args.limit) if args.limit else ds), total, {"dataset": args.dataset}
    if args.sessions_log is not None:  # one given file
        log_path = Path(args.sessions_log)
        if not log_path.is_file():
            raise NotFound(f"no session log at {log_path}")
        records, source = read_sessions(log_path), {"sessions_log": str(log_path)}
    else:  # the store's log, which every replica writes (and an older version's local file)
        legacy = services.settings.logs_dir / SESSION_LOG_FILE
        records = recorded_sessions(services.store, legacy)
        source = {"sessions_log": f"store:{SESSION_PREFIX}/"}
    rows = []
    for task in session_tasks(records):
        if args.limit is not None and len(rows) >= args.limit:
            break
        rows.append(task)
    check_tasks(rows, options)
    if not rows:
        raise InvalidInput(f"the session log {source['sessions_log']} holds no replayable session")
    items = [task_row(t) for t in rows]
    return ray.data.from_items(items), len(items), source


def _dataset_tasks(path: str, columns: list[str], limit: int | None) -> Iterator[Any]:
    """The dataset's tasks as full mode checks them (kind and model only), streamed."""
    wanted = [c for c in columns if c in ("task_id", "kind", "model")]
    seen = 0
    for batch in pq.ParquetFile(path).iter_batches(columns=wanted, batch_size=4096):
        for row in batch.to_pylist():
            if limit is not None and seen >= limit:
                return
            seen += 1
            yield row_task({**row, "prompt": ""})


def _drain(
    ds: ray.data.Dataset, log: ObjectStoreSessionLog, total: int, started: float, every_s: float
) -> list[dict[str, Any]]:
    """Append every row to the replay log as it comes; a progress line every ``every_s``."""
    kept: list[dict[str, Any]] = []
    shown = time.perf_counter()
    for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        rows = [json.loads(text) for text in batch.column("row").to_pylist()]
        log.append_many(rows)
        kept += [{f: r.get(f) for f in _SUMMARY_FIELDS} for r in rows]
        now = time.perf_counter()
        if now - shown >= every_s:
            shown = now
            rate = len(kept) / (now - started)
            hit1 = summarize(kept)["all"]["hit_at_1"]
            print(f"replay: {len(kept)}/{total} tasks, {rate:.1f} tasks/s, "
                  f"hit@1 so far {hit1}", flush=True)  # fmt: skip
    return kept


def _receipt(
    services: Services, run_id: str, trace_id: str, source: dict[str, Any],
    options: ReplayOptions, total: int, kept: list[dict[str, Any]], started: float,
) -> dict[str, Any]:  # fmt: skip
    seconds = time.perf_counter() - started
    receipt = {
        "schema": RECEIPT_SCHEMA, "run_id": run_id, "trace_id": trace_id, "source": source,
        "options": options.model_dump(mode="json"), "tasks": total, "rows_written": len(kept),
        "replay_log": f"store:{REPLAY_PREFIX}",
        "summary": summarize(kept), "seconds": round(seconds, 2),
        "tasks_per_s": round(len(kept) / seconds, 2) if seconds else None,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    services.store.put(f"{RECEIPTS_PREFIX}{run_id}.json", json.dumps(receipt).encode())
    return receipt


_NONE_DEFAULT_TYPES = {"dataset": str, "sessions_log": str, "model": str, "small_model": str,
                       "strong_model": str, "limit": int}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay recorded tasks in bulk")
    for name, default in asdict(JobArgs()).items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true")
        else:
            kind = type(default) if default is not None else _NONE_DEFAULT_TYPES[name]
            parser.add_argument(flag, type=kind, default=default)
    args = JobArgs(**vars(parser.parse_args(argv)))
    if not ray.is_initialized():
        ray.init(namespace=NAMESPACE, ignore_reinit_error=True)
    receipt = run(args)
    print(json.dumps(receipt, indent=2))
    hit1 = receipt["summary"].get("all", {}).get("hit_at_1")
    print(f"replayed {receipt['rows_written']} of {receipt['tasks']} tasks in "
          f"{receipt['seconds']} s (run {receipt['run_id']}, hit@1 {hit1})")  # fmt: skip


if __name__ == "__main__":
    main()
