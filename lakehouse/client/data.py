"""Route groups for the lakehouse itself: objects, the catalog, CSV ingest and SQL."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from lakehouse.client.calls import Call, Progress, Upload, parse_json
from lakehouse.client.groups import Group


def _raw(response: Any) -> bytes:
    return response.content


def _nothing(response: Any) -> None:
    return None


class Storage(Group):
    """``/v1/storage/objects``: raw objects (service-owned prefixes are read-only)."""

    def put(self, key: str, data: bytes, if_absent: bool = False) -> dict[str, Any]:
        """Write ``data`` at ``key``; ``if_absent`` refuses to overwrite (409)."""
        headers = {"if-none-match": "*"} if if_absent else {}
        path = f"/v1/storage/objects/{quote(key)}"
        return self._send(Call("PUT", path, content=data, headers=headers))

    def get(self, key: str) -> bytes:
        return self._send(Call("GET", f"/v1/storage/objects/{quote(key)}", parse=_raw))

    def delete(self, key: str) -> None:
        return self._send(Call("DELETE", f"/v1/storage/objects/{quote(key)}", parse=_nothing))

    def list(self, prefix: str = "", limit: int | None = None) -> dict[str, Any]:
        params = {"prefix": prefix, "limit": limit}
        return self._send(Call("GET", "/v1/storage/objects", params=params))


class Catalog(Group):
    """``/v1/catalog/datasets``: dataset manifests."""

    def datasets(self) -> list[dict[str, Any]]:
        call = Call("GET", "/v1/catalog/datasets", parse=lambda r: parse_json(r)["datasets"])
        return self._send(call)

    def dataset(self, name: str) -> dict[str, Any]:
        return self._send(Call("GET", f"/v1/catalog/datasets/{quote(name)}"))


class Ingest(Group):
    """``/v1/ingest``: a CSV streamed up in chunks, converted to Parquet, registered."""

    def csv(
        self,
        name: str,
        source: str | Path | bytes | IO[bytes],
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Ingest ``source`` (a path, bytes or a binary file) as dataset ``name``.

        ``progress(sent_bytes, total_bytes_or_None)`` is called after every chunk; a retried
        attempt starts again from the first byte.
        """
        upload = Upload(source, progress)
        headers = {"content-type": "text/csv"}
        if upload.total is not None:
            headers["content-length"] = str(upload.total)
        call = Call("POST", "/v1/ingest", params={"name": name}, upload=upload, headers=headers)
        return self._send(call)


class Sql(Group):
    """``/v1/sql``: read-only SQL over the datasets."""

    def query(self, sql: str) -> dict[str, Any]:
        """``{"columns": [...], "rows": [[...]], "row_count": n, "truncated": bool}``."""
        return self._send(Call("POST", "/v1/sql", json={"sql": sql}))
