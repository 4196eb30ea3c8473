"""The ASGI edge every request crosses first: trace id, allowlist, bearer auth, body caps.

Pure ASGI (no ``BaseHTTPMiddleware``) so request bodies stream through untouched.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from actors import metrics
from deployments.request_events import EventBatches
from deployments.tracing import TRACE_HEADER, accept_or_mint, set_trace_id
from lakehouse.errors import Forbidden, LakehouseError, TooLarge, Unauthorized
from lakehouse.observer import KIND_HTTP_REQUEST
from lakehouse.settings import Settings

log = logging.getLogger("lakehouse.access")
OPEN_PATHS = frozenset({"/health", "/console"})
# the console's static assets: no data in them, and a browser cannot add a header to a
# page load; the data calls the page makes carry the token like any client's
OPEN_PREFIXES = ("/console/",)
MULTIPART_SLACK = 64 * 1024
REPLICA_HEADER = b"x-lakehouse-replica"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class EdgeMiddleware:
    """Trace ids, IP allowlist, bearer tokens and request-size caps, in that order."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.tokens = [t.encode() for t in settings.tokens]
        self.cidrs = settings.cidrs
        self.events = EventBatches()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        trace_id = accept_or_mint(headers.get(TRACE_HEADER.lower()))
        set_trace_id(trace_id)
        started = time.perf_counter()
        status_box = [500]
        replica = getattr(getattr(scope.get("app"), "state", None), "replica", None)

        async def send_traced(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                raw = list(message.get("headers", []))
                raw.append((TRACE_HEADER.lower().encode(), trace_id.encode()))
                if replica:
                    raw.append((REPLICA_HEADER, replica.encode()))
                message = {**message, "headers": raw}
            await send(message)

        try:
            self._admit(scope, headers)
            cap = self._body_cap(scope)
            _check_length(headers, cap)
        except LakehouseError as exc:
            await _reject(send_traced, exc)
        else:
            await self.app(scope, _capped(receive, cap), send_traced)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info(
                "trace=%s %s %s %d %.1fms",
                trace_id,
                scope["method"],
                scope["path"],
                status_box[0],
                elapsed_ms,
            )
            self._observe(scope, status_box[0], elapsed_ms, trace_id)
            _count(scope, status_box[0], elapsed_ms)

    def _observe(self, scope: Scope, status: int, elapsed_ms: float, trace_id: str) -> None:
        """Queue the request as one ``http.request`` event (sent in batches, after the
        response, never failing it).

        The observer is read from the app's ``Services`` at call time, so tests and replicas
        need no extra wiring.
        """
        # /health is the latency floor the benchmarks measure: it stays free of actor calls.
        if is_open(scope["path"]):
            return
        services = getattr(getattr(scope.get("app"), "state", None), "services", None)
        observer = getattr(services, "observer", None)
        if observer is None:
            return
        route = getattr(scope.get("route"), "path", None)
        data = {"route": route, "path": scope["path"][:256], "method": scope["method"]}
        data |= {"status": status, "duration_ms": round(elapsed_ms, 3)}
        self.events.add(observer, (KIND_HTTP_REQUEST, data, trace_id, time.time()))

    @property
    def observe_failures(self) -> int:
        return self.events.failures

    def _admit(self, scope: Scope, headers: dict[str, str]) -> None:
        if is_open(scope["path"]):
            return
        client = _client_ip(scope)
        if self.cidrs and (client is None or not any(client in net for net in self.cidrs)):
            raise Forbidden("client address is not in the allowlist")
        if not self.tokens:
            # Open mode is for loopback only: replica ports may listen on all interfaces.
            if client is None or not client.is_loopback:
                raise Forbidden("no token is configured, so only loopback clients are served")
            return
        presented = _bearer(headers.get("authorization", ""))
        if presented is None or not _token_matches(presented.encode(), self.tokens):
            raise Unauthorized("a valid bearer token is required")

    def _body_cap(self, scope: Scope) -> int:
        path, method = scope["path"], scope["method"]
        if method == "PUT" and path.startswith("/v1/storage/objects/"):
            return self.settings.max_object_bytes
        if method == "POST" and path == "/v1/ingest":
            return self.settings.ingest_max_bytes + MULTIPART_SLACK
        if method == "POST" and path.startswith("/v1/vectors/") and path.endswith("/add"):
            return self.settings.max_vectors_body_bytes
        return self.settings.max_body_bytes


def _count(scope: Scope, status: int, elapsed_ms: float) -> None:
    """Publish the request to ``lakehouse_http_*``, tagged by route template (never the raw
    path: ids in paths would make one time series per object)."""
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    method = scope["method"]
    metrics.inc("lakehouse_http_requests", route=route, method=method, status=status)
    metrics.observe("lakehouse_http_latency_ms", elapsed_ms, route=route, method=method)


def is_open(path: str) -> bool:
    """Paths served without auth: ``/health`` and the console's static assets."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _token_matches(presented: bytes, tokens: list[bytes]) -> bool:
    # Compare against every token so timing says nothing about which one (or none) matched.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(presented, token)
    return matched


def _bearer(value: str) -> str | None:
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _client_ip(scope: Scope) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    client = scope.get("client")
    return _parse_ip(client[0]) if client else None


@functools.lru_cache(maxsize=4096)
def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parsed once per address: parsing took 1.5% of the replica's CPU under load."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _check_length(headers: dict[str, str], cap: int) -> None:
    length = headers.get("content-length")
    if length and length.isdigit() and int(length) > cap:
        raise TooLarge(f"request body of {length} bytes exceeds the cap of {cap}", limit=cap)


def _capped(receive: Receive, cap: int) -> Receive:
    seen = 0

    async def counted() -> dict[str, Any]:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise TooLarge(f"request body exceeds the cap of {cap} bytes", limit=cap)
        return message

    return counted


async def _reject(send: Send, exc: LakehouseError) -> None:
    body = json.dumps(exc.to_dict()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if exc.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
