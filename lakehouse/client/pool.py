"""The clients' default connection pools: urllib3 (``Client``) and aiohttp (``AsyncClient``),
each behind httpx's request signature.

Measured on the benchmark machine against one local server (docs/benchmarks.md): a GET took
1.0 ms of client CPU through ``httpx.Client`` and 0.5 ms through urllib3; through
``httpx.AsyncClient`` 2.6-7 ms (more the more requests overlap) and 0.3-0.6 ms through
aiohttp. On a 2-core machine that is a quarter of a vector search's CPU, and a load generator
on httpx's async client used more CPU than the service it loaded. Both pools keep what the
clients rely on from httpx: the same request arguments, a response with ``status_code``,
``headers``, ``content``, ``text`` and ``reason_phrase``, and transport failures raised as
httpx's exception classes (``httpx.ConnectError``, ``httpx.ReadTimeout``, ...), so callers
catch one family whichever pool sent the request. Pass ``http=httpx.Client(...)`` (or an
``httpx.AsyncClient``) for what these pools do not do: proxies from the environment, HTTP/2,
custom TLS.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import httpx
import urllib3
import yarl
from urllib3 import exceptions as u3

# connections kept open per client: one per thread sharing it, up to httpx's own limit on
# connections (urllib3 discards, with a warning each, any connection past this when returned)
KEEP_ALIVE = 100


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
        self._origin, self._prefix = _split(base_url)
        self._timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self._pool = urllib3.connection_from_url(self._origin, maxsize=KEEP_ALIVE, block=False)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        try:
            raw = self._pool.urlopen(
                method,
                self._prefix + url + _query(params),
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


class AsyncPool:
    """``Pool``'s asyncio twin over one ``aiohttp.ClientSession``, opened on first use (a
    session belongs to the event loop it was made in)."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        origin, prefix = _split(base_url)
        self._base = origin + prefix
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout_s, sock_read=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | AsyncIterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        target = yarl.URL(self._base + url + _query(params), encoded=True)
        try:
            async with self._session.request(
                method, target, data=content, headers=headers, allow_redirects=False
            ) as raw:
                body = await raw.read()
        except aiohttp.ClientError as exc:
            raise aiohttp_as_httpx(exc) from exc
        return Answer(raw.status, raw.headers, body, raw.reason or "")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _split(base_url: str) -> tuple[str, str]:
    """``(scheme://host:port, /path prefix)`` of a base URL; anything else is refused."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be http(s)://host[:port][/prefix], got {base_url!r}")
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")


def _query(params: Mapping[str, Any] | None) -> str:
    if not params:
        return ""
    return "?" + urlencode({k: _text(v) for k, v in params.items()}, doseq=True)


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


def aiohttp_as_httpx(exc: aiohttp.ClientError) -> httpx.TransportError:
    """``as_httpx`` for aiohttp's failures."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return httpx.ReadError(message)
    return httpx.TransportError(message)
