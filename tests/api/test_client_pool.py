"""The clients' default pools (urllib3, aiohttp) against a real HTTP server on loopback.

The echo server answers every request with what it received, so each test checks what went
over the wire: the path under a base URL's prefix, query values spelled as httpx spells them,
headers, bodies whole or chunked; and that transport failures come back as httpx's classes,
retried by the client's rule.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from lakehouse import errors
from lakehouse.client import AsyncClient, Client
from lakehouse.client.calls import CHUNK_BYTES, Call, Upload
from lakehouse.client.pool import AsyncPool, Pool


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict] = []
    answers: list[tuple[int, dict, bytes]] = []  # queued answers, else the echo

    def _handle(self) -> None:
        if self.headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self.rfile.readline().strip(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode(),
        }
        Echo.seen.append(seen)
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        status, headers, out = Echo.answers.pop(0) if Echo.answers else (200, {}, b"")
        out = out or json.dumps(seen).encode()
        self.send_response(status)
        for key, value in {"content-type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        try:
            self.wfile.write(out)
        except BrokenPipeError:  # the client gave up waiting (the timeout tests)
            return

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture()
def echo() -> Iterator[str]:
    Echo.seen, Echo.answers = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_default_client_sends_through_the_pool(echo: str) -> None:
    client = Client(echo, token="t0k", trace_id="job-1")
    assert isinstance(client._http, Pool)
    got = client._send(Call("GET", "/v1/x", params={"a": True, "b": False, "c": None, "d": 3}))
    assert got["method"] == "GET"
    assert got["path"] == "/v1/x?a=true&b=false&d=3"  # httpx's spelling; None left out
    assert got["headers"]["authorization"] == "Bearer t0k"
    assert got["headers"]["x-lakehouse-trace-id"] == "job-1"
    client.close()


def test_one_client_shared_by_many_threads_keeps_its_connections(echo: str, caplog) -> None:
    client = Client(echo)
    answers: list[str] = []

    def run() -> None:
        for _ in range(5):
            answers.append(client.health()["path"])

    threads = [threading.Thread(target=run) for _ in range(40)]
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == ["/health"] * 200
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_a_base_url_prefix_and_json_body(echo: str) -> None:
    client = Client(echo + "/behind/proxy/")
    got = client._send(Call("POST", "/v1/y", json={"k": [1, 2]}))
    assert got["path"] == "/behind/proxy/v1/y"
    assert json.loads(got["body"]) == {"k": [1, 2]}
    assert got["headers"]["content-type"] == "application/json"
    assert got["headers"]["content-length"] == str(len(got["body"]))


def test_an_upload_streams_in_chunks_with_progress(echo: str) -> None:
    data = b"x" * (2 * 1024 * 1024 + 5)
    seen: list[tuple[int, int | None]] = []
    client = Client(echo)
    upload = Upload(data, progress=lambda sent, total: seen.append((sent, total)))
    got = client._send(Call("PUT", "/v1/z", upload=upload))
    assert got["headers"]["transfer-encoding"] == "chunked"
    assert len(got["body"]) == len(data)
    assert seen[-1] == (len(data), len(data)) and len(seen) == 3


def test_an_upload_of_known_length_streams_with_that_length(echo: str) -> None:
    data = b"y" * (CHUNK_BYTES + 17)
    call = Call(
        "POST", "/v1/ingest", upload=Upload(data), headers={"content-length": str(len(data))}
    )
    got = Client(echo)._send(call)
    assert "transfer-encoding" not in got["headers"]
    assert got["headers"]["content-length"] == str(len(data)) and len(got["body"]) == len(data)


def test_a_server_error_maps_to_the_project_exception(echo: str) -> None:
    body = json.dumps({"error": "not_found", "message": "no such corpus"}).encode()
    Echo.answers.append((404, {"X-Lakehouse-Trace-Id": "tr-9"}, body))
    client = Client(echo)
    with pytest.raises(errors.NotFound) as caught:
        client.vectors.list()
    assert caught.value.trace_id == "tr-9" and str(caught.value) == "no such corpus"
    assert len(Echo.seen) == 1  # not retried


def test_a_transient_503_is_retried_after_retry_after(echo: str) -> None:
    body = json.dumps({"error": "temporarily_unavailable", "message": "restarting"}).encode()
    Echo.answers.append((503, {"Retry-After": "0.2"}, body))
    client = Client(echo, backoff_s=0.01)
    began = time.perf_counter()
    assert client.health()["path"] == "/health"
    assert len(Echo.seen) == 2 and time.perf_counter() - began >= 0.2


def test_a_refused_connection_is_httpx_connect_error_after_the_retries() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", retries=2, backoff_s=0.01)
    began = time.perf_counter()
    with pytest.raises(httpx.ConnectError):
        client.health()
    assert time.perf_counter() - began < 5


def test_a_read_timeout_is_httpx_read_timeout_and_not_retried_when_not_idempotent(
    echo: str,
) -> None:
    client = Client(echo, timeout_s=0.3, retries=3, backoff_s=0.01)
    with pytest.raises(httpx.ReadTimeout):
        client._send(Call("POST", "/slow", json={}, idempotent=False))
    assert len(Echo.seen) == 1
    with pytest.raises(httpx.ReadTimeout):
        client._send(Call("GET", "/slow"))
    assert len(Echo.seen) == 1 + 4  # an idempotent call: the first try and 3 retries


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client("ftp://example.org")


# -- the asyncio client's aiohttp pool, against the same server -----------------------------


def run(coro_fn):
    return asyncio.run(coro_fn())


def test_the_default_async_client_sends_through_aiohttp(echo: str) -> None:
    async def scenario():
        async with AsyncClient(echo + "/pre", token="t0k", trace_id="job-2") as client:
            assert isinstance(client._http, AsyncPool)
            params = {"a": True, "b": False, "c": None, "d": 3}
            got = await client._send(Call("POST", "/v1/x", json={"k": 1}, params=params))
            many = await asyncio.gather(*(client.health() for _ in range(20)))
        return got, many

    got, many = run(scenario)
    assert got["path"] == "/pre/v1/x?a=true&b=false&d=3"
    assert json.loads(got["body"]) == {"k": 1}
    assert got["headers"]["authorization"] == "Bearer t0k"
    assert got["headers"]["x-lakehouse-trace-id"] == "job-2"
    assert {m["path"] for m in many} == {"/pre/health"} and len(many) == 20


def test_an_async_upload_streams_with_or_without_a_length(echo: str) -> None:
    data = b"z" * (CHUNK_BYTES + 99)
    seen: list[int] = []

    async def scenario():
        async with AsyncClient(echo) as client:
            unknown = Upload(data, progress=lambda sent, total: seen.append(sent))
            chunked = await client._send(Call("PUT", "/v1/a", upload=unknown))
            known = Call(
                "POST", "/v1/b", upload=Upload(data), headers={"content-length": str(len(data))}
            )
            sized = await client._send(known)
        return chunked, sized

    chunked, sized = run(scenario)
    assert len(chunked["body"]) == len(sized["body"]) == len(data)
    assert chunked["headers"]["transfer-encoding"] == "chunked"
    assert sized["headers"]["content-length"] == str(len(data))
    assert "transfer-encoding" not in sized["headers"]
    assert seen[-1] == len(data)


def test_async_errors_map_to_the_project_and_to_httpx(echo: str) -> None:
    body = json.dumps({"error": "conflict", "message": "exists"}).encode()
    Echo.answers.append((409, {}, body))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario():
        async with AsyncClient(echo, timeout_s=0.3, backoff_s=0.01) as client:
            with pytest.raises(errors.Conflict, match="exists"):
                await client.vectors.create("c", 4)
            with pytest.raises(httpx.ReadTimeout):
                await client._send(Call("POST", "/slow", json={}, idempotent=False))
        async with AsyncClient(f"http://127.0.0.1:{port}", retries=1, backoff_s=0.01) as dead:
            with pytest.raises(httpx.ConnectError):
                await dead.health()

    run(scenario)
    assert [s["path"] for s in Echo.seen] == ["/v1/vectors/corpora", "/slow"]
