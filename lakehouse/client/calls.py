"""What every client call is made of: a request description, its parser, the retry rule and
the mapping from the server's ``{"error": code, ...}`` back to the project's exception tree.

Both clients (``Client``, ``AsyncClient``) execute the same ``Call`` objects; only the I/O
differs, so every route is described once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

from lakehouse import errors

TRACE_HEADER = "X-Lakehouse-Trace-Id"
CHUNK_BYTES = 1 << 20
Progress = Callable[[int, int | None], None]


def _every_error(base: type[errors.LakehouseError]) -> list[type[errors.LakehouseError]]:
    found = [base]
    for sub in base.__subclasses__():
        found += _every_error(sub)
    return found


BY_CODE = {cls.code: cls for cls in _every_error(errors.LakehouseError)}
BY_STATUS = {cls.status: cls for cls in reversed(_every_error(errors.LakehouseError))}


@dataclass
class Upload:
    """A body streamed in chunks (a path, bytes or a binary file), reporting progress."""

    source: str | Path | bytes | IO[bytes]
    progress: Progress | None = None

    @property
    def total(self) -> int | None:
        if isinstance(self.source, bytes):
            return len(self.source)
        if isinstance(self.source, str | Path):
            return Path(self.source).stat().st_size
        return None

    def chunks(self) -> Iterator[bytes]:
        """The body again from its start: one fresh pass per attempt."""
        sent, total = 0, self.total
        for chunk in self._read():
            sent += len(chunk)
            if self.progress is not None:
                self.progress(sent, total)
            yield chunk

    def _read(self) -> Iterator[bytes]:
        if isinstance(self.source, bytes):
            for start in range(0, len(self.source), CHUNK_BYTES):
                yield self.source[start : start + CHUNK_BYTES]
            return
        if isinstance(self.source, str | Path):
            with open(self.source, "rb") as handle:
                yield from iter(lambda: handle.read(CHUNK_BYTES), b"")
            return
        if self.source.seekable():
            self.source.seek(0)
        yield from iter(lambda: self.source.read(CHUNK_BYTES), b"")


def parse_json(response: httpx.Response) -> Any:
    return orjson.loads(response.content) if response.content else None


@dataclass
class Call:
    """One HTTP request and how to read its answer.

    ``idempotent`` calls are retried after any transport error; the others only when the
    request never left (a refused connection) or the server answered 503.
    """

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    content: bytes | None = None
    upload: Upload | None = None
    headers: dict[str, str] = field(default_factory=dict)
    parse: Callable[[httpx.Response], Any] = parse_json
    ok: tuple[int, ...] = ()
    idempotent: bool = True

    def body(self) -> tuple[bytes | None, dict[str, str]]:
        """The encoded body and its headers (orjson: numpy-free, fast, strict about NaN)."""
        headers = dict(self.headers)
        if self.json is None:
            return self.content, headers
        headers.setdefault("content-type", "application/json")
        return orjson.dumps(self.json, option=orjson.OPT_SERIALIZE_NUMPY), headers

    def query(self) -> dict[str, Any] | None:
        if self.params is None:
            return None
        return {k: v for k, v in self.params.items() if v is not None}


def error_for(response: httpx.Response) -> errors.LakehouseError:
    """The server's error as the class its ``code`` names (else the one for its status)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or "error" not in body:
        body = {"error": "", "message": response.text[:500] or response.reason_phrase}
    code = str(body["error"])
    cls = BY_CODE.get(code) or BY_STATUS.get(response.status_code, errors.LakehouseError)
    exc = cls(str(body.get("message", "")))
    exc.status = response.status_code  # the answer's own status wins over the class default
    exc.code = code or cls.code
    exc.details = body.get("details") or {}
    exc.trace_id = response.headers.get(TRACE_HEADER)
    # a 503 is worth asking again unless the server said it is missing configuration
    exc.retryable = response.status_code == 503 and code != errors.Unavailable.code
    exc.retry_after_s = _seconds(response.headers.get("retry-after"))
    return exc


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (its HTTP-date form is not used by this server)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def check(call: Call, response: httpx.Response) -> Any:
    """Parse a success (or a status the call expects); raise the mapped error otherwise."""
    if response.status_code < 400 or response.status_code in call.ok:
        return call.parse(response)
    raise error_for(response)


NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retryable(call: Call, exc: BaseException) -> bool:
    """503s (but ``unavailable``: configuration, which asking again cannot cure) and
    connections that never opened, always; other transport errors if idempotent."""
    if isinstance(exc, errors.LakehouseError):
        return bool(getattr(exc, "retryable", exc.status == 503))
    if isinstance(exc, NEVER_SENT):
        return True
    return call.idempotent and isinstance(exc, httpx.TransportError)
