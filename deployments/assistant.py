"""The LLM safety net behind ``/v1/chat``, ``/v1/validate`` and ``/v1/iterate``.

The roster is the catalog's workers dataset (``LAKEHOUSE_ROSTER_DATASET``): loaded into an
indexed DuckDB table once per version of its Parquet, never scanned per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from actors import metrics
from actors.services import Services
from lakehouse.chat import ChatReply
from lakehouse.distill.tier import IterateTier, TierChoice, choose_tier
from lakehouse.guard import ParquetRoster, Validator, Verdict
from lakehouse.iterate import IterateLoop, IterateRequest, IterateResult
from lakehouse.iterate.log import SessionAppender
from lakehouse.iterate.store_log import ObjectStoreSessionLog
from lakehouse.matrix import MatrixQuery
from lakehouse.observer.llm_spans import chat_span, session_spans
from lakehouse.observer.spans import Span

log = logging.getLogger(__name__)


class _Tee:
    """The session log for one request, keeping the record for its spans."""

    def __init__(self, log: SessionAppender, extra: Mapping[str, Any] | None = None) -> None:
        self.log, self.record, self.extra = log, None, dict(extra or {})

    def append(self, record: Mapping[str, Any]) -> None:
        record = {**record, **self.extra}
        self.log.append(record)
        self.record = record


class Assistant:
    """Chat, validation and the iterate loop over one replica's ``Services``."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # in the object store: what every node reads, and what survives any node
        self.log = ObjectStoreSessionLog(services.store)
        self._roster: tuple[str, ParquetRoster] | None = None
        self._roster_lock = asyncio.Lock()

    async def chat(
        self, model: str, messages: list[dict[str, str]], trace_id: str | None = None
    ) -> ChatReply:
        start = time.time()
        reply = await asyncio.to_thread(self.services.chat.chat, model, messages)
        await self.export([chat_span(trace_id, model, reply.to_dict(), start, time.time())])
        return reply

    async def validate(self, kind: str, payload: dict[str, Any]) -> Verdict:
        validator = await self.validator(kind)
        verdict = await asyncio.to_thread(validator.validate, kind, payload)
        metrics.verdict(kind, [e.category for e in verdict.errors])
        return verdict

    async def choose_tier(self, tier: IterateTier, prompt: str) -> TierChoice:
        """The model-tier gate's choice for ``prompt``: a matrix search of it in
        ``tier.corpus`` (with the playbook), then the rule of ``lakehouse.distill.tier``.

        Raises:
            NotFound: the corpus does not exist (before any model is asked).
        """
        matrix = self.services.matrix
        query = MatrixQuery(corpora=[(tier.corpus, 1.0)], text=prompt, k=tier.k,
                            use_playbook=matrix.playbook is not None)  # fmt: skip
        return choose_tier(tier, await matrix.search(query))

    async def iterate(
        self, request: IterateRequest, trace_id: str, tier: TierChoice | None = None
    ) -> IterateResult:
        """One iterate session; ``tier`` (the gate's choice) is recorded in its row."""
        tee = _Tee(self.log, {"tier": tier.to_dict()} if tier is not None else None)
        validator = await self.validator(request.kind)
        loop = IterateLoop(self.services.chat, validator, tee)  # type: ignore[arg-type]
        try:
            result = await asyncio.to_thread(loop.run, request, trace_id)
        finally:  # a failed session is exported too: the loop logged it before raising
            if tee.record is not None:
                await self.export(session_spans(tee.record))
        classes = [next(iter(e)) for e in result.errors]  # {"Schema": {...}} -> "Schema"
        metrics.verdict(request.kind, classes or ([] if result.accepted else ["NoAnswer"]))
        return result

    async def export(self, spans: list[Span]) -> None:
        """Queue spans for the tracing backend when export is on; never fails the call."""
        observer = self.services.observer
        if observer is None or self.services.settings.export_target == "off" or not spans:
            return
        try:
            await observer.export_spans(spans)
        except Exception:  # export is best-effort
            log.warning("could not queue %d spans for export", len(spans), exc_info=True)

    async def validator(self, kind: str) -> Validator:
        """A validator with the current roster (only fills need one)."""
        return Validator(await self._current_roster() if kind == "fill" else None)

    async def _current_roster(self) -> ParquetRoster | None:
        manifest = await self.services.manifest(self.services.settings.roster_dataset)
        if manifest is None:
            return None
        async with self._roster_lock:
            if self._roster is None or self._roster[0] != manifest.etag:
                path = await asyncio.to_thread(self.services.store.local_path, manifest.object_key)
                roster = await asyncio.to_thread(ParquetRoster, path)
                self._roster = (manifest.etag, roster)
            return self._roster[1]
