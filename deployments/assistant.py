"""The LLM safety net behind ``/v1/chat``, ``/v1/validate`` and ``/v1/iterate``.

The roster is the catalog's workers dataset (``LAKEHOUSE_ROSTER_DATASET``): loaded into an
indexed DuckDB table once per version of its Parquet, never scanned per call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from actors.services import Services
from lakehouse.chat import ChatReply
from lakehouse.guard import ParquetRoster, Validator, Verdict
from lakehouse.iterate import IterateLoop, IterateRequest, IterateResult, SessionLog

SESSION_LOG = "sessions.iterate.jsonl"


class Assistant:
    """Chat, validation and the iterate loop over one replica's ``Services``."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.log = SessionLog(services.settings.logs_dir / SESSION_LOG)
        self._roster: tuple[str, ParquetRoster] | None = None
        self._roster_lock = asyncio.Lock()

    async def chat(self, model: str, messages: list[dict[str, str]]) -> ChatReply:
        return await asyncio.to_thread(self.services.chat.chat, model, messages)

    async def validate(self, kind: str, payload: dict[str, Any]) -> Verdict:
        validator = await self.validator(kind)
        return await asyncio.to_thread(validator.validate, kind, payload)

    async def iterate(self, request: IterateRequest, trace_id: str) -> IterateResult:
        loop = IterateLoop(self.services.chat, await self.validator(request.kind), self.log)
        return await asyncio.to_thread(loop.run, request, trace_id)

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
