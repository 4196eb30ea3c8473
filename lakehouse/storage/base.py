"""The object store interface every backend implements."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lakehouse.errors import TooLarge


@dataclass(frozen=True)
class ObjectInfo:
    """One object: its key, size in bytes and a version tag (ETag or mtime-derived)."""

    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class ObjectListing:
    """A page of keys under a prefix; ``truncated`` when more exist than the cap."""

    objects: list[ObjectInfo]
    truncated: bool


class ObjectStore(abc.ABC):
    """Bytes under validated keys. Every write is atomic and durable before it returns."""

    def __init__(self, max_object_bytes: int, max_list: int) -> None:
        self.max_object_bytes = max_object_bytes
        self.max_list = max_list

    @abc.abstractmethod
    def put(self, key: str, data: bytes, *, if_absent: bool = False) -> ObjectInfo:
        """Write ``data`` under ``key``; with ``if_absent`` a present key is a ``Conflict``."""

    @abc.abstractmethod
    def put_file(
        self, key: str, path: Path, *, if_absent: bool = False, consume: bool = False
    ) -> ObjectInfo:
        """Write the file at ``path`` under ``key`` (streamed, no size cap: internal use).

        With ``consume`` the caller gives the file away: a backend may move it instead of
        copying, and the file is gone afterwards either way.
        """

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``NotFound`` if absent."""

    @abc.abstractmethod
    def iter_chunks(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the bytes under ``key``; ``NotFound`` if absent (raised before any chunk)."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Size and version of ``key``; ``NotFound`` if absent."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; ``NotFound`` if absent."""

    @abc.abstractmethod
    def copy(self, src: str, dst: str) -> ObjectInfo:
        """Publish the bytes of ``src`` under ``dst`` too (atomically replacing ``dst``)."""

    @abc.abstractmethod
    def move(self, src: str, dst: str) -> ObjectInfo:
        """Atomically (local) or copy-then-delete (S3) rename ``src`` to ``dst``."""

    @abc.abstractmethod
    def list(
        self, prefix: str = "", limit: int | None = None, start_after: str = ""
    ) -> ObjectListing:
        """Keys under ``prefix`` in lexical order, after ``start_after``, at most
        ``min(limit, max_list)``; page with the last key returned."""

    @abc.abstractmethod
    def local_path(self, key: str) -> Path:
        """A local file holding the current bytes of ``key`` (the file itself or a cached copy)."""

    def iter_all(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` in order, paging through listings."""
        after = ""
        while True:
            page = self.list(prefix, start_after=after)
            yield from page.objects
            if not page.truncated or not page.objects:
                return
            after = page.objects[-1].key

    def exists(self, key: str) -> bool:
        from lakehouse.errors import NotFound

        try:
            self.head(key)
        except NotFound:
            return False
        return True

    def _check_size(self, size: int) -> None:
        if size > self.max_object_bytes:
            raise TooLarge(
                f"object of {size} bytes exceeds the cap of {self.max_object_bytes} bytes",
                limit=self.max_object_bytes,
            )

    def _limit(self, limit: int | None) -> int:
        return self.max_list if limit is None else max(1, min(limit, self.max_list))
