"""Distillation over one replica's ``Services``: the materializer with the catalog facade.

The core (``lakehouse.distill``) is synchronous; here its staging runs in a worker thread,
each changed day is registered through the catalog facade (local or the catalog actor),
and the receipt is written last. Runs in one replica are serialised: two at once would
merge against the same registered days and race to register them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from itertools import chain
from typing import Any

from actors.services import Services
from deployments.assistant import Assistant
from lakehouse.catalog import Manifest
from lakehouse.distill import Materializer, check_transforms
from lakehouse.distill.compare import compare, file_rows
from lakehouse.distill.materialize import check_base
from lakehouse.distill.replay import MAX_TASKS, Replayer, ReplayRequest, replay_log
from lakehouse.distill.sources import REPLAY_LOG_FILE, SESSION_LOG_FILE
from lakehouse.distill.tasks import (
    Task,
    from_dataset,
    from_inline,
    from_sessions,
    recorded_sessions,
)
from lakehouse.drift import DriftReporter, DriftRequest, Window
from lakehouse.errors import LakehouseError, NotFound, Unavailable
from lakehouse.matrix import MatrixQuery

log = logging.getLogger(__name__)


class Distill:
    """Materialize, drift reports and baselines, for the routes and the workflow runner."""

    def __init__(self, services: Services, assistant: Assistant) -> None:
        self.services, self.assistant = services, assistant
        self.replay_log = replay_log(services.store)
        self.legacy_replay_log = services.settings.logs_dir / REPLAY_LOG_FILE
        self._lock = asyncio.Lock()

    def materializer(self) -> Materializer:
        cfg = self.services.settings
        return Materializer(self.services.store, cfg.logs_dir, cfg.tmp_dir / "distill")

    async def materialize(self, transforms: list[str] | None = None) -> dict[str, Any]:
        """One run over every input now present; returns its receipt."""
        chosen = check_transforms(transforms)  # refuse bad input before any work
        mat = self.materializer()
        async with self._lock:
            # the catalog's own list, not this replica's view: the merge base must be current
            known = {m.name: m for m in await self.services.catalog.list()}
            run = await asyncio.to_thread(mat.stage, chosen, known.get)
            registered = {}
            for s in run.staged:
                try:
                    check_base(s, await self._current(s.dataset))
                    registered[s.dataset] = await self.services.catalog.register(
                        s.dataset, s.columns, s.row_count, s.staged_key
                    )
                except LakehouseError as exc:
                    await asyncio.to_thread(mat.discard, s)
                    run.errors.append({"dataset": s.dataset, "error": exc.code,
                                       "message": exc.message})  # fmt: skip
            receipt = await asyncio.to_thread(mat.finish, run, registered)
            await self.services.follower.sync()
        return receipt

    async def _current(self, name: str) -> Manifest | None:
        try:
            return await self.services.catalog.get(name)
        except NotFound:
            return None

    async def receipt(self, run_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.materializer().receipt, run_id)

    async def receipts(self, limit: int) -> dict[str, Any]:
        return await asyncio.to_thread(self.materializer().receipts, limit)

    async def reporter(self) -> DriftReporter:
        await self.services.follower.sync()
        embedder = self.services.embedder
        embed = embedder.embed_documents if embedder is not None else None
        return DriftReporter(self.services.store, dict(self.services.follower.manifests), embed,
                             search=self._search_from_thread())  # fmt: skip

    def _search_from_thread(self) -> Callable[[str, str, int], list[str]]:
        """Matrix search without the playbook, callable from the reporter's worker thread
        (the search itself runs on this replica's event loop)."""
        loop, matrix = asyncio.get_running_loop(), self.services.matrix

        def search(corpus: str, query: str, k: int) -> list[str]:
            q = MatrixQuery(corpora=[(corpus, 1.0)], text=query, k=k, use_playbook=False)
            found = asyncio.run_coroutine_threadsafe(matrix.search(q), loop).result()
            return [str(h["id"]) for h in found["hits"]]

        return search

    async def drift(self, request: DriftRequest, trace_id: str | None = None) -> dict[str, Any]:
        """One drift report; its verdict and main statistic also go to the observer as a
        ``drift.report`` event (and so to the span export)."""
        if request.rank_corpus is not None and self.services.vectors is not None:
            await self.services.vectors.corpus(request.rank_corpus)  # 404 before any work
        reporter = await self.reporter()
        report = await asyncio.to_thread(reporter.report, request)
        await self._observe(report, trace_id)
        return report

    async def save_baseline(self, name: str, window: Window) -> dict[str, Any]:
        reporter = await self.reporter()
        return await asyncio.to_thread(reporter.save_baseline, name, window)

    async def baseline(self, name: str) -> dict[str, Any]:
        reporter = await self.reporter()
        return await asyncio.to_thread(reporter.baseline, name)

    async def baselines(self) -> dict[str, Any]:
        reporter = await self.reporter()
        return await asyncio.to_thread(reporter.baselines)

    async def _observe(self, report: dict[str, Any], trace_id: str | None) -> None:
        observer = self.services.observer
        if observer is None:
            return
        data = {key: report.get(key) for key in ("kind", "verdict", "sample_sizes", "windows")}
        try:
            await observer.emit("drift.report", data, trace_id)
        except LakehouseError as exc:  # the report stands whether or not it was observed
            log.warning("drift.report event not recorded: %s", exc.message)

    async def replay(self, req: ReplayRequest, trace_id: str) -> dict[str, Any]:
        """Replay sessions or tasks; every input is checked before the first row is written."""
        svc = self.services
        if req.sessions is not None:
            records = recorded_sessions(svc.store, svc.settings.logs_dir / SESSION_LOG_FILE)
            tasks = await asyncio.to_thread(from_sessions, records, req.sessions)
        elif req.dataset is not None:
            tasks = await self._dataset_tasks(req.dataset)
        else:
            tasks = from_inline(req.tasks or [])
        matrix = svc.matrix
        if matrix is None or svc.vectors is None:
            raise Unavailable("matrix search is not configured in this replica")
        for corpus in req.corpora:  # an unknown corpus: 404 before any task runs
            await svc.vectors.corpus(corpus.name)
        corpora = [(c.name, c.weight) for c in req.corpora]
        use_playbook = req.use_playbook and matrix.playbook is not None

        async def retrieve(query: str, r: ReplayRequest) -> dict[str, Any]:
            return await matrix.search(
                MatrixQuery(corpora=corpora, text=query, k=r.k, use_playbook=use_playbook)
            )

        replayer = Replayer(retrieve, self.replay_log, svc.chat, self.assistant.validator)
        return await replayer.run(tasks, req, trace_id)

    async def _dataset_tasks(self, name: str) -> list[Task]:
        manifest = await self.services.manifest(name)
        if manifest is None:
            raise NotFound(f"dataset {name!r} is not in the catalog")
        path = await asyncio.to_thread(self.services.store.local_path, manifest.object_key)
        return await asyncio.to_thread(from_dataset, path, name, MAX_TASKS)

    async def compare(self, run_a: str, run_b: str) -> dict[str, Any]:
        rows = chain(file_rows(self.legacy_replay_log), self.replay_log.records())
        return await asyncio.to_thread(compare, rows, run_a, run_b)
