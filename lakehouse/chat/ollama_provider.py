"""Ollama through the official ``ollama`` client: a local server, or Ollama cloud."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import ollama
import pydantic

from lakehouse.chat.base import (
    Messages,
    RetryPolicy,
    Transient,
    error_for_status,
    reply,
    with_retries,
)
from lakehouse.chat.messages import ChatReply
from lakehouse.errors import (
    BadGateway,
    GatewayTimeout,
    InvalidInput,
    TemporarilyUnavailable,
)


class OllamaProvider:
    """Chats with one Ollama host, thinking off unless configured.

    Args:
        name: how replies and errors name this provider (``ollama``, ``ollama-cloud``).
        host: the server, e.g. ``http://127.0.0.1:11434`` or ``https://ollama.com``.
        timeout_s: read timeout of one attempt; connect_timeout_s: of the connection.
        retry: how transient failures are retried.
        api_key: sent as a bearer token (Ollama cloud); key_env names where it came from.
        think: the ``think`` flag sent with every request.
        sleep: the back-off sleep (tests pass a no-op).
    """

    def __init__(
        self,
        name: str,
        host: str,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        retry: RetryPolicy,
        api_key: str | None = None,
        key_env: str | None = None,
        think: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name, self.host, self.retry, self.think = name, host, retry, think
        self._key_env, self._key, self._sleep = key_env, api_key, sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._client = ollama.Client(host=host, timeout=timeout, headers=headers)
        # Models without the thinking capability may refuse any ``think`` field; once one
        # does, it is asked without the field from then on.
        self._no_think: set[str] = set()
        self._lock = threading.Lock()

    def chat(self, model: str, messages: Messages) -> ChatReply:
        """One reply from ``model`` (the name this provider knows it by)."""
        started = time.perf_counter()
        response, attempts = with_retries(
            lambda: self._once(model, messages), self.retry, self._sleep
        )
        usage = _usage(response)
        text = response.message.content or ""
        return reply(text, model, self.name, model, attempts, started, usage)

    def _once(self, model: str, messages: Messages) -> ollama.ChatResponse:
        think = None if model in self._no_think else self.think
        try:
            return self._client.chat(model=model, messages=list(messages), think=think)
        except ollama.ResponseError as exc:
            if think is not None and exc.status_code == 400 and "thinking" in str(exc.error):
                with self._lock:
                    self._no_think.add(model)
                return self._once(model, messages)
            error = str(exc.error)
            raise error_for_status(
                self.name, exc.status_code, error, self._key_env, self._key
            ) from exc
        except Exception as exc:
            mapped = self._mapped(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def _mapped(self, exc: Exception) -> Exception | None:
        """The project error for a failure that is not an HTTP error status."""
        if isinstance(exc, ConnectionError):  # the client's name for httpx.ConnectError
            return Transient(TemporarilyUnavailable(f"{self.name} is unreachable at {self.host}"))
        if isinstance(exc, httpx.ConnectTimeout):
            return Transient(GatewayTimeout(f"{self.name} did not accept a connection in time"))
        if isinstance(exc, httpx.TimeoutException):
            return GatewayTimeout(f"{self.name} did not answer in time")
        if isinstance(exc, httpx.TransportError):
            return Transient(
                BadGateway(f"{self.name} dropped the connection: {type(exc).__name__}")
            )
        if isinstance(exc, pydantic.ValidationError | ValueError):
            return BadGateway(f"{self.name} sent a reply that is not a chat response")
        if isinstance(exc, ollama.RequestError):
            return InvalidInput(str(exc.error))
        return None

    def close(self) -> None:
        self._client.close()


def _usage(response: Any) -> Mapping[str, int]:
    counts = {
        "prompt_tokens": getattr(response, "prompt_eval_count", None),
        "completion_tokens": getattr(response, "eval_count", None),
    }
    return {k: int(v) for k, v in counts.items() if v is not None}
