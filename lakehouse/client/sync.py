"""``Client``: the blocking client (one urllib3 connection pool, or an ``httpx.Client``)."""

from __future__ import annotations

from typing import Any

import httpx

from lakehouse.client import calls
from lakehouse.client.base import DEFAULT_URL, Options, Routes
from lakehouse.client.pool import Pool


class Client(Routes):
    """The service's Python client: ``client.vectors.search(...)``, ``client.sql.query(...)``.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8000``.
        token, trace_id, timeout_s, retries, binary: see ``Options``.
        http: an ``httpx.Client`` to send through instead of the default urllib3 pool
            (for proxies, HTTP/2 or custom TLS; tests pass Starlette's ``TestClient``).
        transport: an httpx transport, sent through a new ``httpx.Client``.

    Transport failures raise httpx's exceptions (``httpx.ConnectError``, ...) whichever pool
    sends; they are retried as ``Options`` says.

    Errors come back as the project's own exceptions (``lakehouse.errors``), chosen by the
    server's ``error`` code: ``NotFound``, ``InvalidInput``, ``Conflict``, ``Unavailable``...
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> None:
        opts = Options(**options)
        if http is None and transport is not None:
            http = httpx.Client(base_url=base_url, timeout=opts.timeout_s, transport=transport)
        self._owned = http is None or transport is not None
        self._http: httpx.Client | Pool = http or Pool(base_url, opts.timeout_s)
        self._bind(self._send, opts)

    def health(self) -> dict[str, Any]:
        return self._send(calls.Call("GET", "/health"))

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, call: calls.Call) -> Any:
        for attempt in self._retrying[call.idempotent]:
            with attempt:
                return self._once(call)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _once(self, call: calls.Call) -> Any:
        args = self._request_args(call)
        args["headers"] = self.options.headers() | args["headers"]
        if call.upload is not None:
            args["content"] = call.upload.chunks()
        response = self._http.request(**args)
        self._seen(response)
        return calls.check(call, response)
