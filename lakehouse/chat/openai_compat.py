"""OpenAI-compatible ``/chat/completions`` endpoints (OpenRouter, OpenAI, vLLM, ...)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from lakehouse.chat.base import (
    Messages,
    RetryPolicy,
    Transient,
    error_for_status,
    redact,
    reply,
    with_retries,
)
from lakehouse.chat.messages import ChatReply
from lakehouse.errors import BadGateway, GatewayTimeout, TemporarilyUnavailable


class OpenAICompatProvider:
    """Chats with one OpenAI-compatible endpoint over httpx.

    Args:
        name: how replies and errors name this provider (its prefix, e.g. ``openrouter``).
        base_url: the API root up to and with ``/v1``.
        api_key: the bearer token, or None for an endpoint without auth.
        key_env: the variable the key came from, named in credential errors.
        timeout_s, connect_timeout_s, retry, sleep: as for ``OllamaProvider``.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None,
        key_env: str | None,
        timeout_s: float,
        connect_timeout_s: float,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name, self.base_url, self.retry = name, base_url.rstrip("/"), retry
        self._key_env, self._key, self._sleep = key_env, api_key, sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        )

    def chat(self, model: str, messages: Messages) -> ChatReply:
        """One reply from ``model`` (the name this provider knows it by)."""
        started = time.perf_counter()
        body = {"model": model, "messages": [dict(m) for m in messages], "stream": False}
        data, attempts = with_retries(lambda: self._once(body), self.retry, self._sleep)
        text, usage = self._parse(data)
        return reply(text, model, self.name, model, attempts, started, usage)

    def _once(self, body: dict[str, Any]) -> Any:
        try:
            response = self._client.post("/chat/completions", json=body)
        except httpx.ConnectError as exc:
            raise Transient(
                TemporarilyUnavailable(f"{self.name} is unreachable at {self.base_url}")
            ) from exc
        except httpx.ConnectTimeout as exc:
            msg = f"{self.name} did not accept a connection in time"
            raise Transient(GatewayTimeout(msg)) from exc
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(f"{self.name} did not answer in time") from exc
        except httpx.TransportError as exc:
            msg = f"{self.name} dropped the connection: {type(exc).__name__}"
            raise Transient(BadGateway(msg)) from exc
        if response.status_code >= 400:
            detail = _error_detail(response)
            raise error_for_status(
                self.name, response.status_code, detail, self._key_env, self._key
            )
        try:
            return response.json()
        except ValueError as exc:
            raise BadGateway(f"{self.name} sent a reply that is not JSON") from exc

    def _parse(self, data: Any) -> tuple[str, Mapping[str, int]]:
        if isinstance(data, dict) and data.get("error"):  # OpenRouter reports some this way
            detail = redact(_message(data["error"]), self._key)
            raise BadGateway(f"{self.name} reported an error: {detail[:300]}")
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BadGateway(f"{self.name} sent a reply with no message") from exc
        if not isinstance(content, str | None):
            raise BadGateway(f"{self.name} sent a message whose content is not text")
        return content or "", _usage(data)

    def close(self) -> None:
        self._client.close()


def _error_detail(response: httpx.Response) -> str:
    try:
        return _message(response.json().get("error", ""))
    except (ValueError, AttributeError):
        return response.text


def _message(error: Any) -> str:
    """The text of an OpenAI-style ``error``: a string, or an object with ``message``."""
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


def _usage(data: Any) -> Mapping[str, int]:
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return {}
    keys = ("prompt_tokens", "completion_tokens")
    return {k: int(usage[k]) for k in keys if isinstance(usage.get(k), int)}
