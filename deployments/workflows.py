"""Workflow runs for ``POST /v1/observer/workflows/run``: the modes a replica offers.

``WorkflowRunner`` is synchronous, so a run goes to a worker thread; each node's mode (an
async call into ``Services`` or the ``Assistant``) and each observer event is handed back
to the replica's event loop with ``run_coroutine_threadsafe`` and waited for there.

Modes available: ``sql.query`` ``{"sql"}`` → the SQL result; ``validate``
``{"kind", "payload"}`` → the validator's verdict (an invalid payload is a verdict with
``valid: false``, not a failed node); ``embed`` ``{"texts", "kind"?}`` → ``{"model", "dim",
"vectors"}``, where the replica has an embedder; and, given the replica's ``Distill``, the
learning-loop modes of ``deployments.workflow_modes`` (``matrix.search``, ``llm.chat``,
``distill.materialize``, ``distill.replay``, ``drift.report``). Any other mode is refused
before a node runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from actors.services import Services
from deployments.assistant import Assistant
from deployments.distill import Distill
from deployments.workflow_modes import learning_modes
from lakehouse.errors import GatewayTimeout, InvalidInput
from lakehouse.guard import ValidateRequest
from lakehouse.workflow import Emit, ModeFn, RunResult, WorkflowRunner

log = logging.getLogger(__name__)
NODE_TIMEOUT_S = 300.0
EMIT_TIMEOUT_S = 10.0
MAX_EMBED_TEXTS = 256
AsyncMode = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]]


class Workflows:
    """Runs workflow documents against this replica's services."""

    def __init__(
        self, services: Services, assistant: Assistant, distill: Distill | None = None
    ) -> None:
        self.services = services
        self.assistant = assistant
        self.distill = distill

    def async_modes(self) -> dict[str, AsyncMode]:
        modes: dict[str, AsyncMode] = {"sql.query": self._sql_query, "validate": self._validate}
        if self.services.embedder is not None:
            modes["embed"] = self._embed
        if self.distill is not None:
            modes |= learning_modes(self.services, self.assistant, self.distill)
        return modes

    async def run(
        self,
        source: str | bytes | Mapping[str, Any],
        inputs: Mapping[str, Any] | None,
        trace_id: str,
    ) -> RunResult:
        """Check and run ``source``; ``InvalidInput`` (nothing run) if it is refused."""
        loop = asyncio.get_running_loop()
        modes = {name: _bridged(fn, loop) for name, fn in self.async_modes().items()}
        runner = WorkflowRunner(modes, emit=self._emitter(loop))
        result = await asyncio.to_thread(runner.run, source, inputs, trace_id=trace_id)
        await self._export(result)
        return result

    def _emitter(self, loop: asyncio.AbstractEventLoop) -> Emit | None:
        observer = self.services.observer
        if observer is None:
            return None

        def emit(kind: str, data: dict[str, Any], *, trace_id: str | None = None) -> Any:
            call = observer.emit(kind, data, trace_id=trace_id)
            return asyncio.run_coroutine_threadsafe(call, loop).result(EMIT_TIMEOUT_S)

        return emit

    async def _export(self, result: RunResult) -> None:
        observer = self.services.observer
        if observer is None or self.services.settings.export_target == "off":
            return
        try:
            await observer.export_run(result.to_dict())
        except Exception:  # export is best-effort: the run's result stands
            log.warning("could not queue workflow run %s for export", result.run_id, exc_info=True)

    async def _sql_query(self, inputs: dict[str, Any]) -> Mapping[str, Any]:
        _exact_keys(inputs, {"sql"}, "sql.query")
        if not isinstance(inputs["sql"], str) or not inputs["sql"].strip():
            raise InvalidInput("sql.query: 'sql' must be a non-empty string")
        return (await self.services.query(inputs["sql"])).to_dict()

    async def _validate(self, inputs: dict[str, Any]) -> Mapping[str, Any]:
        _exact_keys(inputs, {"kind", "payload"}, "validate")
        try:
            body = ValidateRequest.model_validate(inputs)
        except ValidationError as exc:
            raise InvalidInput(f"validate: {_first_problem(exc)}") from None
        return (await self.assistant.validate(body.kind, body.payload)).to_dict()

    async def _embed(self, inputs: dict[str, Any]) -> Mapping[str, Any]:
        kind = inputs.get("kind", "document")
        _exact_keys(inputs, {"texts"} | ({"kind"} if "kind" in inputs else set()), "embed")
        texts = inputs["texts"]
        if not isinstance(texts, list) or not 0 < len(texts) <= MAX_EMBED_TEXTS:
            raise InvalidInput(f"embed: 'texts' must be a list of 1..{MAX_EMBED_TEXTS} strings")
        if kind not in ("document", "query"):
            raise InvalidInput("embed: 'kind' must be 'document' or 'query'")
        embed = self.services.embed_queries if kind == "query" else self.services.embed_documents
        vectors = await embed(texts)
        model = getattr(self.services.embedder, "name", None)
        return {"model": model, "dim": int(vectors.shape[1]), "vectors": vectors.tolist()}


def _bridged(fn: AsyncMode, loop: asyncio.AbstractEventLoop) -> ModeFn:
    """A blocking mode for the runner's thread that runs ``fn`` on ``loop``."""

    def mode(inputs: dict[str, Any]) -> Mapping[str, Any]:
        future = asyncio.run_coroutine_threadsafe(fn(inputs), loop)
        try:
            return future.result(NODE_TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            raise GatewayTimeout(f"the node ran past {NODE_TIMEOUT_S:g} s") from None

    return mode


def _exact_keys(inputs: Mapping[str, Any], wanted: set[str], mode: str) -> None:
    missing, unknown = sorted(wanted - inputs.keys()), sorted(inputs.keys() - wanted)
    if missing or unknown:
        raise InvalidInput(
            f"{mode} takes inputs {sorted(wanted)}; missing {missing}, unknown {unknown}"
        )


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or "inputs"
    return f"{where}: {error.get('msg', 'invalid')}"
