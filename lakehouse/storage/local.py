"""Local-directory object store: atomic writes (temp file, fsync, rename, fsync dir)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from lakehouse.durable import fsync_dir
from lakehouse.errors import Conflict, NotFound
from lakehouse.storage.base import ObjectInfo, ObjectListing, ObjectStore
from lakehouse.storage.keys import validate_key, validate_prefix
from lakehouse.storage.sweep import sweep_stale


class LocalStore(ObjectStore):
    """Objects as files under ``root``; temp files live in ``tmp_dir`` on the same filesystem.

    Opening the store removes temp files in ``tmp_dir`` not modified for ``stale_after_s``
    (``lakehouse.storage.sweep``): what writers killed mid-write left.
    """

    def __init__(
        self,
        root: Path,
        tmp_dir: Path,
        max_object_bytes: int,
        max_list: int,
        stale_after_s: float = 3600.0,
    ) -> None:
        super().__init__(max_object_bytes, max_list)
        self.root = Path(root).resolve()
        self.tmp_dir = Path(tmp_dir).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        sweep_stale(self.tmp_dir, stale_after_s)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put(self, key: str, data: bytes, *, if_absent: bool = False) -> ObjectInfo:
        self._check_size(len(data))
        target = self._path(key)
        tmp = self._tmp_name()
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            return self._publish(tmp, target, key, if_absent)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(
        self, key: str, path: Path, *, if_absent: bool = False, consume: bool = False
    ) -> ObjectInfo:
        target = self._path(key)
        tmp = self._tmp_name()
        try:
            if consume:
                _move_or_copy(Path(path), tmp)
            else:
                shutil.copyfile(path, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            return self._publish(tmp, target, key, if_absent)
        finally:
            tmp.unlink(missing_ok=True)

    def _publish(self, tmp: Path, target: Path, key: str, if_absent: bool) -> ObjectInfo:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                raise Conflict(f"key {key!r} is a prefix of other objects")
            if if_absent:
                os.link(tmp, target)  # fails atomically if the key exists
            else:
                os.replace(tmp, target)
        except FileExistsError as exc:
            if if_absent and target.is_file():
                raise Conflict(f"object {key!r} already exists") from exc
            raise Conflict(f"key {key!r} collides with an existing object path") from exc
        except NotADirectoryError as exc:
            raise Conflict(f"a parent of key {key!r} is an object") from exc
        fsync_dir(target.parent)
        return self._info(key, target)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"object {key!r} not found") from exc

    def iter_chunks(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        path = self._path(key)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"object {key!r} not found") from exc
        return _chunks(fh, chunk_size)

    def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"object {key!r} not found")
        return self._info(key, path)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            if path.is_dir():
                raise NotFound(f"object {key!r} not found")
            path.unlink()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound(f"object {key!r} not found") from exc
        fsync_dir(path.parent)
        self._prune_empty_dirs(path.parent)

    def copy(self, src: str, dst: str) -> ObjectInfo:
        source, target = self._path(src), self._path(dst)
        if not source.is_file():
            raise NotFound(f"object {src!r} not found")
        tmp = self._tmp_name()
        try:
            os.link(source, tmp)  # a second name for the same bytes: no data copied
            return self._publish(tmp, target, dst, if_absent=False)
        finally:
            tmp.unlink(missing_ok=True)

    def move(self, src: str, dst: str) -> ObjectInfo:
        source, target = self._path(src), self._path(dst)
        if not source.is_file():
            raise NotFound(f"object {src!r} not found")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        fsync_dir(target.parent)
        fsync_dir(source.parent)
        return self._info(dst, target)

    def list(
        self, prefix: str = "", limit: int | None = None, start_after: str = ""
    ) -> ObjectListing:
        validate_prefix(prefix)
        cap = self._limit(limit)
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        keys: list[str] = []
        for dirpath, _dirs, files in os.walk(base):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix) and key > start_after:
                    keys.append(key)
        keys.sort()
        page = [self._info(k, self.root / k) for k in keys[:cap]]
        return ObjectListing(objects=page, truncated=len(keys) > cap)

    def local_path(self, key: str) -> Path:
        self.head(key)
        return self._path(key)

    def _tmp_name(self) -> Path:
        return self.tmp_dir / f"put-{uuid.uuid4().hex}"

    def _prune_empty_dirs(self, directory: Path) -> None:
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    @staticmethod
    def _info(key: str, path: Path) -> ObjectInfo:
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise NotFound(f"object {key!r} not found") from exc
        return ObjectInfo(key=key, size=st.st_size, etag=f"{st.st_ino:x}-{st.st_mtime_ns:x}")


def _move_or_copy(src: Path, dst: Path) -> None:
    try:
        os.replace(src, dst)
    except OSError:  # another filesystem: copy, then drop the source
        shutil.copyfile(src, dst)
        src.unlink(missing_ok=True)


def _chunks(fh, chunk_size: int) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(chunk_size):
            yield chunk
