"""One exception mapping for the whole API: domain errors → ``{"error", "message"}``.

Errors raised inside actors arrive wrapped in ``RayTaskError``; they are unwrapped to their
cause first. Anything unexpected is logged with the trace id and answered with a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayTaskError
from starlette.exceptions import HTTPException as StarletteHTTPException

from actors.remote.facade import unwrap
from deployments.tracing import current_trace_id
from lakehouse.errors import LakehouseError

log = logging.getLogger("lakehouse.api")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Domain and Ray errors are expected: handled inside the app, never re-raised.
    for expected in (LakehouseError, RayTaskError, ActorDiedError, ActorUnavailableError):
        app.add_exception_handler(expected, _any_error)
    app.add_exception_handler(Exception, _any_error)


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The 400 body for a request that failed its model (pydantic's ``errors()`` list)."""
    problems = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
        for e in errors
    ]
    return {"error": "invalid_input", "message": "request failed validation", "details": problems}


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and body for any exception: a domain error as it is (unwrapped from Ray), else
    a bare 500 naming only the trace id (the cause is logged)."""
    cause = unwrap(exc)
    if isinstance(cause, LakehouseError):
        if cause.status >= 500:
            log.error("trace=%s %s: %s", current_trace_id(), cause.code, cause.message)
        return cause.status, cause.to_dict()
    log.exception("trace=%s unexpected error", current_trace_id(), exc_info=cause)
    return 500, {"error": "internal", "message": f"internal error (trace id {current_trace_id()})"}


def validation_response(errors: Sequence[Any]) -> JSONResponse:
    """The 400 answer to a request that failed its model."""
    return JSONResponse(validation_body(errors), status_code=400)


def error_response(exc: BaseException) -> JSONResponse:
    """The answer to any other exception (``Retry-After`` when the error names a wait)."""
    status, body = error_body(exc)
    wait = getattr(unwrap(exc), "retry_after_s", None)
    headers = None if wait is None else {"retry-after": str(wait)}
    return JSONResponse(body, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return validation_response(exc.errors())


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code)


async def _any_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)
