"""A small keep-alive HTTP/1.1 load generator on asyncio streams.

Lighter than an HTTP client library, so on a 2-core machine the numbers say more about
the server than about the client. Loopback only; bounded by request count and time.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


def _request(method: str, path: str, host: str, body: bytes | None, headers: dict) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _client(url: str, payload: bytes, count: int, latencies: list, statuses: list) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        for _ in range(count):
            started = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            statuses.append(await _read_response(reader))
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _run(url, method, body, headers, concurrency, total) -> dict:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    data = json.dumps(body).encode() if body is not None else None
    payload = _request(method, path, parts.netloc, data, headers)
    latencies: list[float] = []
    statuses: list[int] = []
    per_client = max(1, total // concurrency)
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(url, payload, per_client, latencies, statuses) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    return summarise(latencies, elapsed, statuses)


def load(url, *, method="GET", body=None, headers=None, concurrency=16, total=2000) -> dict:
    """Send ``total`` requests over ``concurrency`` keep-alive connections."""
    return asyncio.run(_run(url, method, body, headers or {}, concurrency, total))


def summarise(latencies: list[float], elapsed: float, statuses: list[int] | None = None) -> dict:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "seconds": round(elapsed, 3),
        "rps": round(len(ordered) / elapsed, 1) if elapsed else None,
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "non_2xx": sum(1 for s in statuses or [] if not 200 <= s < 300),
    }
