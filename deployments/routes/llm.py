"""``/v1/chat``, ``/v1/validate``, ``/v1/iterate``: LLM output that can never invent a worker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from deployments.assistant import Assistant
from deployments.tracing import current_trace_id
from deployments.wire.common import UPSTREAM_ERRORS
from deployments.wire.llm import IterateBody
from lakehouse.chat import ChatRequest
from lakehouse.guard import ValidateRequest

router = APIRouter(tags=["llm"], responses=UPSTREAM_ERRORS)


def assistant(request: Request) -> Assistant:
    return request.app.state.assistant


@router.post(
    "/v1/chat",
    summary="Chat with a model (provider chosen by the model name)",
    description=(
        "`openrouter/...` and `openai/...` go to OpenAI-compatible endpoints (keys from the "
        "environment); `...:cloud` to Ollama cloud; anything else to the local Ollama at "
        "`LAKEHOUSE_OLLAMA_HOST`. With no provider configured: 503 naming what to set."
    ),
)
async def chat(body: ChatRequest, llm: Assistant = Depends(assistant)) -> dict[str, Any]:
    reply = await llm.chat(body.model, body.message_dicts(), current_trace_id())
    return reply.to_dict()


@router.post(
    "/v1/validate",
    summary="Validate a fill, email, SMS or playbook payload",
    description=(
        "200 with the verdict when valid; 422 with the same body listing the violations "
        '(each exactly one of `{"Schema": {"field", "reason"}}`, `{"Completeness": ...}`, '
        '`{"Consistency": ...}`, `{"Policy": ...}`); 400 for an unknown kind. Fill candidates '
        "are checked against the roster dataset; a phantom worker id is never accepted."
    ),
)
async def validate(body: ValidateRequest, llm: Assistant = Depends(assistant)) -> JSONResponse:
    # a hot route (deployments/hot.py): its parameters are body and llm
    verdict = await llm.validate(body.kind, body.payload)
    return JSONResponse(verdict.to_dict(), status_code=200 if verdict.valid else 422)


@router.post(
    "/v1/iterate",
    summary="Prompt → chat → extract JSON → validate → feed errors back, up to max_iter",
    description=(
        "200 with `accepted` true or false (and why not); every session is appended to the "
        "JSONL session log (`session.iterate.v1`). Provider failures map to 502/503/504. "
        "Send `tier` (`small_model`, `strong_model`, `confident_at`, `corpus`) instead of "
        "`model` and the model-tier gate picks one from a matrix search of the prompt: the "
        "choice and its reason are in the answer and the session row (`tier`); 404 for an "
        "unknown corpus, before any model is asked."
    ),
)
async def iterate(body: IterateBody, llm: Assistant = Depends(assistant)) -> dict[str, Any]:
    choice = await llm.choose_tier(body.tier, body.prompt) if body.tier is not None else None
    result = await llm.iterate(body.request(choice.model if choice else None),
                               current_trace_id(), choice)  # fmt: skip
    out = result.to_dict()
    if choice is not None:
        out["tier"] = choice.to_dict()
    return out
