"""``AsyncClient``: the asyncio client (one aiohttp session, or an ``httpx.AsyncClient``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import tenacity

from lakehouse.client import calls
from lakehouse.client.base import DEFAULT_URL, Options, Routes
from lakehouse.client.pool import AsyncPool


class AsyncClient(Routes):
    """The asyncio twin of ``Client``: the same groups and methods, each awaited.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8000``.
        token, trace_id, timeout_s, retries, binary: see ``Options``.
        http: an ``httpx.AsyncClient`` to send through instead of the default aiohttp
            session (for proxies, HTTP/2 or custom TLS).
        transport: an httpx async transport, sent through a new ``httpx.AsyncClient``
            (``httpx.ASGITransport(app)`` runs an app in process).

    Transport failures raise httpx's exceptions (``httpx.ConnectError``, ...) whichever pool
    sends; they are retried as ``Options`` says.
    """

    _retry_kind = tenacity.AsyncRetrying

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        opts = Options(**options)
        if http is None and transport is not None:
            http = httpx.AsyncClient(base_url=base_url, timeout=opts.timeout_s, transport=transport)
        self._owned = http is None or transport is not None
        self._http: httpx.AsyncClient | AsyncPool = http or AsyncPool(base_url, opts.timeout_s)
        self._bind(self._send, opts)

    async def health(self) -> dict[str, Any]:
        return await self._send(calls.Call("GET", "/health"))

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, call: calls.Call) -> Any:
        # a copy per call: tenacity keeps its state per thread, and coroutines share one
        async for attempt in self._retrying[call.idempotent].copy():
            with attempt:
                return await self._once(call)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _once(self, call: calls.Call) -> Any:
        args = self._request_args(call)
        args["headers"] = self.options.headers() | args["headers"]
        if call.upload is not None:
            args["content"] = _async_chunks(call.upload)
        response = await self._http.request(**args)
        self._seen(response)
        return calls.check(call, response)


async def _async_chunks(upload: calls.Upload) -> AsyncIterator[bytes]:
    for chunk in upload.chunks():
        yield chunk
