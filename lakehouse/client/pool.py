"""The blocking client's default connection pool: urllib3, behind httpx's request signature.

Measured on the benchmark machine against one local server (docs/benchmarks.md): a GET took
1.0 ms of client CPU through ``httpx.Client`` and 0.5 ms through urllib3, about a quarter of
a whole vector search's CPU on a 2-core machine. ``Pool`` keeps what the client relies on
from httpx: the same request arguments, a response with ``status_code``, ``headers``,
``content``, ``text`` and ``reason_phrase``, and transport failures raised as httpx's
exception classes (``httpx.ConnectError``, ``httpx.ReadTimeout``, ...), so callers catch one
family whichever pool sent the request. Pass ``http=httpx.Client(...)`` to the client for
what this pool does not do: proxies from the environment, HTTP/2, custom TLS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import urllib3
from urllib3 import exceptions as u3

KEEP_ALIVE = 20  # connections kept open per client, as httpx keeps by default


class Answer:
    """A response read whole: the part of ``httpx.Response`` the client uses."""

    __slots__ = ("status_code", "headers", "content", "reason_phrase")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes, reason: str):
        self.status_code = status
        self.headers = headers  # case-insensitive (urllib3's HTTPHeaderDict)
        self.content = content
        self.reason_phrase = reason

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class Pool:
    """Keep-alive connections to one server; thread-safe, like the client built on it."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be http(s)://host[:port][/prefix], got {base_url!r}")
        self._prefix = parts.path.rstrip("/")
        self._timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self._pool = urllib3.connection_from_url(
            f"{parts.scheme}://{parts.netloc}", maxsize=KEEP_ALIVE, block=False
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        target = self._prefix + url
        if params:
            target += "?" + urlencode({k: _text(v) for k, v in params.items()}, doseq=True)
        try:
            raw = self._pool.urlopen(
                method,
                target,
                body=content,
                headers=dict(headers or {}),
                retries=False,  # the client's own rule (tenacity) decides what is retried
                redirect=False,
                timeout=self._timeout,
                # an iterable body goes chunked unless the headers give its length
            )
        except u3.HTTPError as exc:
            raise as_httpx(exc) from exc
        return Answer(raw.status, raw.headers, raw.data, raw.reason or "")

    def close(self) -> None:
        self._pool.close()


def _text(value: Any) -> Any:
    """A query value as httpx writes it: booleans lower-case, lists as repeated keys."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


def as_httpx(exc: u3.HTTPError) -> httpx.TransportError:
    """The httpx exception a urllib3 failure corresponds to (what the client documents)."""
    message = str(exc)
    if isinstance(exc, u3.NewConnectionError | u3.SSLError):
        return httpx.ConnectError(message)
    if isinstance(exc, u3.ConnectTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, u3.ReadTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, u3.EmptyPoolError):
        return httpx.PoolTimeout(message)
    if isinstance(exc, u3.ProtocolError):
        return httpx.ReadError(message)
    return httpx.TransportError(message)
