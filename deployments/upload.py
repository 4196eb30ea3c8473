"""Stream a request body to a local file with a byte cap, never holding it in memory.

Accepts ``multipart/form-data`` (the file in field ``file``) or a raw ``text/csv`` body.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from lakehouse.errors import InvalidInput, TooLarge


async def receive_file(request: Request, tmp_dir: Path, cap: int, field: str = "file") -> Path:
    """Write the uploaded file to ``tmp_dir`` and return its path (the caller deletes it)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    target = tmp_dir / f"upload-{uuid.uuid4().hex}"
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    try:
        with open(target, "wb") as out:
            if ctype == b"multipart/form-data":
                found = await _multipart(request, out, params.get(b"boundary"), field, cap)
                if not found:
                    raise InvalidInput(f"multipart body has no file field {field!r}")
            elif ctype in (b"text/csv", b"application/octet-stream"):
                await _raw(request, out, cap)
            else:
                raise InvalidInput("send the CSV as multipart/form-data field 'file' or text/csv")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


async def _raw(request: Request, out, cap: int) -> None:
    written = 0
    async for chunk in request.stream():
        written += len(chunk)
        if written > cap:
            raise TooLarge(f"upload exceeds the cap of {cap} bytes", limit=cap)
        out.write(chunk)


async def _multipart(request: Request, out, boundary: bytes | None, field: str, cap: int) -> bool:
    if not boundary:
        raise InvalidInput("multipart body without a boundary")
    state = _PartState(out, field.encode(), cap)
    parser = MultipartParser(boundary, state.callbacks())
    async for chunk in request.stream():
        parser.write(chunk)
    parser.finalize()
    return state.found


class _PartState:
    """Tracks headers of the current part and copies the wanted field's bytes out."""

    def __init__(self, out, field: bytes, cap: int) -> None:
        self.out, self.field, self.cap = out, field, cap
        self.found = False
        self.active = False
        self.written = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_val,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
        }

    def _begin(self) -> None:
        self.active, self._disposition = False, b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_val(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _kind, params = parse_options_header(self._disposition)
        self.active = params.get(b"name") == self.field and not self.found
        self.found = self.found or self.active

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self.active:
            return
        self.written += end - start
        if self.written > self.cap:
            raise TooLarge(f"upload exceeds the cap of {self.cap} bytes", limit=self.cap)
        self.out.write(data[start:end])
