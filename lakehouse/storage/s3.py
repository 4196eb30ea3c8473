"""S3 object store over boto3 (any S3 API server: AWS, MinIO, moto)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lakehouse.errors import Conflict, NotFound, StorageError, TemporarilyUnavailable
from lakehouse.storage.base import ObjectInfo, ObjectListing, ObjectStore
from lakehouse.storage.keys import validate_key, validate_prefix

_MISSING = {"404", "NoSuchKey", "NotFound"}
_PRECONDITION = {"412", "PreconditionFailed", "ConditionalRequestConflict"}


class S3Store(ObjectStore):
    """Objects in ``bucket`` under an optional key ``prefix``; ``local_path`` caches by ETag."""

    def __init__(
        self,
        bucket: str,
        cache_dir: Path,
        max_object_bytes: int,
        max_list: int,
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        prefix: str = "",
        client: Any = None,
    ) -> None:
        super().__init__(max_object_bytes, max_list)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.cache_dir = Path(cache_dir).resolve() / "s3"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5),
        )

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes, *, if_absent: bool = False) -> ObjectInfo:
        self._check_size(len(data))
        return self._put(key, data, if_absent)

    def put_file(
        self, key: str, path: Path, *, if_absent: bool = False, consume: bool = False
    ) -> ObjectInfo:
        with open(path, "rb") as fh:
            info = self._put(key, fh, if_absent)
        if consume:
            Path(path).unlink(missing_ok=True)
        return info

    def _put(self, key: str, body: Any, if_absent: bool) -> ObjectInfo:
        extra = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, **extra)
        except ClientError as exc:
            if _code(exc) in _PRECONDITION:
                raise Conflict(f"object {key!r} already exists") from exc
            raise _storage_error(exc, key) from exc
        except BotoCoreError as exc:
            raise TemporarilyUnavailable(f"object store unreachable: {type(exc).__name__}") from exc
        return self.head(key)

    def get(self, key: str) -> bytes:
        return b"".join(self.iter_chunks(key))

    def iter_chunks(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        resp = self._call("get_object", key, Key=self._key(key))
        return resp["Body"].iter_chunks(chunk_size)

    def head(self, key: str) -> ObjectInfo:
        resp = self._call("head_object", key, Key=self._key(key))
        return ObjectInfo(key=key, size=resp["ContentLength"], etag=resp["ETag"].strip('"'))

    def delete(self, key: str) -> None:
        self.head(key)  # S3 deletes are silent on missing keys; the API promises a 404
        self._call("delete_object", key, Key=self._key(key))

    def copy(self, src: str, dst: str) -> ObjectInfo:
        source = {"Bucket": self.bucket, "Key": self._key(src)}
        self._call("copy_object", src, Key=self._key(dst), CopySource=source)
        return self.head(dst)

    def move(self, src: str, dst: str) -> ObjectInfo:
        info = self.copy(src, dst)
        self._call("delete_object", src, Key=self._key(src))
        return info

    def list(
        self, prefix: str = "", limit: int | None = None, start_after: str = ""
    ) -> ObjectListing:
        validate_prefix(prefix)
        cap = self._limit(limit)
        after = {"StartAfter": self.prefix + start_after} if start_after else {}
        resp = self._call(
            "list_objects_v2", prefix, Prefix=self.prefix + prefix, MaxKeys=cap, **after
        )
        objects = [
            ObjectInfo(
                key=item["Key"][len(self.prefix) :], size=item["Size"], etag=item["ETag"].strip('"')
            )
            for item in resp.get("Contents", [])
        ]
        return ObjectListing(objects=objects, truncated=bool(resp.get("IsTruncated")))

    def local_path(self, key: str) -> Path:
        info = self.head(key)
        target = self.cache_dir / f"{key}@{info.etag}"
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".download-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as fh:
                for chunk in self.iter_chunks(key):
                    fh.write(chunk)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        self._drop_stale_copies(target, key)
        return target

    def _drop_stale_copies(self, keep: Path, key: str) -> None:
        stem = Path(key).name + "@"
        for old in keep.parent.glob(f"{Path(key).name}@*"):
            if old != keep and old.name.startswith(stem):
                old.unlink(missing_ok=True)

    def _call(self, method: str, key: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound(f"object {key!r} not found") from exc
            raise _storage_error(exc, key) from exc
        except BotoCoreError as exc:
            raise TemporarilyUnavailable(f"object store unreachable: {type(exc).__name__}") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (used by set-up and tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _storage_error(exc: ClientError, key: str) -> StorageError:
    return StorageError(f"object store error on {key!r}: {_code(exc) or 'unknown'}")
