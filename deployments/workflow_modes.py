"""The learning-loop workflow modes: search, chat, materialize, replay, drift.

Each mode checks its inputs with the route's own request model (a bad input fails the node
with the same message the route would give) and calls the same code as the route:

==================  ==========================================  ===============================
mode                inputs                                       output
==================  ==========================================  ===============================
matrix.search       the ``POST /v1/matrix/search`` body          the search answer
llm.chat            ``{model, messages}`` (``/v1/chat``)         the reply
distill.materialize ``{transforms?}``                            the run's receipt
distill.replay      the ``POST /v1/distill/replay`` body         the run (rows and summary)
drift.report        the ``POST /v1/drift/report`` body           the report
==================  ==========================================  ===============================

``llm.chat`` and ``distill.replay`` in full mode need a chat provider; with none configured
the node fails with the provider's 503 message, and the run says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from actors.services import Services
from deployments.assistant import Assistant
from deployments.distill import Distill
from deployments.routes import matrix as matrix_routes
from deployments.tracing import current_trace_id
from deployments.wire.distill import MaterializeRequest
from deployments.wire.matrix import MatrixSearchRequest
from lakehouse.chat import ChatRequest
from lakehouse.distill.replay import ReplayRequest
from lakehouse.drift import DriftRequest
from lakehouse.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
AsyncMode = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]]


def learning_modes(
    services: Services, assistant: Assistant, distill: Distill
) -> dict[str, AsyncMode]:
    """The five modes over one replica's services."""

    async def search(inputs: dict[str, Any]) -> Mapping[str, Any]:
        body = _parse(MatrixSearchRequest, inputs, "matrix.search")
        return await matrix_routes.search(body, services)

    async def chat(inputs: dict[str, Any]) -> Mapping[str, Any]:
        body = _parse(ChatRequest, inputs, "llm.chat")
        reply = await assistant.chat(body.model, body.message_dicts(), current_trace_id())
        return reply.to_dict()

    async def materialize(inputs: dict[str, Any]) -> Mapping[str, Any]:
        body = _parse(MaterializeRequest, inputs, "distill.materialize")
        return await distill.materialize(body.transforms)

    async def replay(inputs: dict[str, Any]) -> Mapping[str, Any]:
        body = _parse(ReplayRequest, inputs, "distill.replay")
        return await distill.replay(body, current_trace_id())

    async def drift(inputs: dict[str, Any]) -> Mapping[str, Any]:
        body = _parse(DriftRequest, inputs, "drift.report")
        return await distill.drift(body, current_trace_id())

    return {
        "matrix.search": search,
        "llm.chat": chat,
        "distill.materialize": materialize,
        "distill.replay": replay,
        "drift.report": drift,
    }


def _parse(model: type[M], inputs: dict[str, Any], mode: str) -> M:
    try:
        return model.model_validate(inputs)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error.get("loc", ())) or "inputs"
        raise InvalidInput(f"{mode}: {where}: {error.get('msg', 'invalid')}") from None
