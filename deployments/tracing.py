"""The request's trace id, readable anywhere in the request's task."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

TRACE_HEADER = "X-Lakehouse-Trace-Id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_trace_id: ContextVar[str] = ContextVar("trace_id", default="-")


def current_trace_id() -> str:
    return _trace_id.get()


def accept_or_mint(value: str | None) -> str:
    """Keep a well-formed incoming id (≤128 of ``[A-Za-z0-9._:-]``); otherwise mint one."""
    return value if value and _VALID.match(value) else uuid.uuid4().hex


def set_trace_id(value: str) -> None:
    _trace_id.set(value)
