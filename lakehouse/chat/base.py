"""What providers share: the protocol, bounded retries with back-off, and error mapping.

Mapping (issue 6: "clear 502/503/504"):

- provider unreachable, 503 or 429 from it          -> ``Unavailable`` (503)
- timed out (ours or its 504/408)                   -> ``GatewayTimeout`` (504)
- any other failure of the provider, a garbled reply -> ``BadGateway`` (502)
- the provider does not know the model (404)        -> ``NotFound`` (404)

Transient failures (unreachable, connect timeout, 429, 5xx, a dropped connection) are
retried up to ``RetryPolicy.max_retries`` times with capped exponential back-off and
jitter. A read timeout is not retried: a model too slow once is slow again, and retrying
would multiply the caller's wait past any HTTP timeout in front of us.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from lakehouse.chat.messages import ChatReply
from lakehouse.errors import (
    BadGateway,
    GatewayTimeout,
    LakehouseError,
    NotFound,
    TemporarilyUnavailable,
)

T = TypeVar("T")
Messages = Sequence[Mapping[str, str]]

_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)
_DETAIL_CHARS = 300


class ChatProvider(Protocol):
    """Anything that answers a conversation: a real provider, the router, a test script."""

    def chat(self, model: str, messages: Messages) -> ChatReply: ...


class Transient(Exception):
    """Raised inside a provider for a failure worth retrying; carries the final error."""

    def __init__(self, error: LakehouseError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure."""

    max_retries: int = 2
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0

    def delay(self, retry: int) -> float:
        # "full jitter" keeps many replicas from retrying a recovering provider in step
        return random.uniform(0, min(self.backoff_max_s, self.backoff_s * 2**retry))


def with_retries(
    call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep
) -> tuple[T, int]:
    """``call()`` and the number of attempts it took; the last ``Transient``'s error if all fail."""
    for attempt in range(policy.max_retries + 1):
        try:
            return call(), attempt + 1
        except Transient as exc:
            if attempt == policy.max_retries:
                raise exc.error from exc.__cause__
            sleep(policy.delay(attempt))
    raise AssertionError("unreachable")  # the loop returns or raises


def error_for_status(
    provider: str, status: int, detail: str, key_env: str | None, secret: str | None = None
) -> Exception:
    """The error (a ``Transient`` when worth retrying) for an HTTP error from a provider.

    ``detail`` is the provider's own message, cut short and with ``secret`` (our API key)
    masked: some providers quote the key they were sent back in their errors.
    """
    detail = " ".join(redact(detail, secret).split())[:_DETAIL_CHARS]
    where = f"{provider} answered {status}: {detail}"
    if status in (401, 403):
        hint = f"; check {key_env}" if key_env else ""
        return BadGateway(f"{provider} refused our credentials ({status}){hint}")
    if status == 404:
        return NotFound(where)
    if status in (408, 504):
        return Transient(GatewayTimeout(where))
    if status in (429, 503):
        return Transient(TemporarilyUnavailable(where))
    if status >= 500:
        return Transient(BadGateway(where))
    return BadGateway(where)


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked."""
    return text.replace(secret, "***") if secret else text


def strip_thinking(text: str) -> str:
    """Drop a leading ``<think>...</think>`` block some models emit even with thinking off."""
    return _THINK.sub("", text, count=1)


def reply(
    text: str,
    model: str,
    provider: str,
    provider_model: str,
    attempts: int,
    started: float,
    usage: Mapping[str, int] | None = None,
) -> ChatReply:
    """A ``ChatReply`` timed from ``started`` (a ``time.perf_counter()`` reading)."""
    return ChatReply(
        text=strip_thinking(text),
        model=model,
        provider=provider,
        provider_model=provider_model,
        attempts=attempts,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        usage=dict(usage or {}),
    )
