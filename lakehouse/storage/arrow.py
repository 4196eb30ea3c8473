"""Where pyarrow (and Ray Data's read tasks) read an object in place: no copy first.

On S3 a read task on any node opens ``<bucket>/<prefix><key>`` through pyarrow's own
``S3FileSystem`` (same endpoint and region as the store; credentials from the standard AWS
chain, as boto3 takes them), so the driver downloads nothing. The local-directory store
hands out its own file path: a one-machine set-up, where every task sees that disk.
"""

from __future__ import annotations

from urllib.parse import urlparse

from pyarrow import fs as pafs

from lakehouse.settings import Settings
from lakehouse.storage.base import ObjectStore


def s3_filesystem(settings: Settings) -> pafs.S3FileSystem:
    """pyarrow's S3 client for the configured endpoint (None: AWS) and region."""
    options: dict[str, str] = {"region": settings.s3_region}
    if settings.s3_endpoint:
        url = urlparse(settings.s3_endpoint)
        options |= {"endpoint_override": url.netloc or url.path, "scheme": url.scheme or "https"}
    return pafs.S3FileSystem(**options)


def arrow_source(settings: Settings, store: ObjectStore, key: str) -> tuple[str, pafs.FileSystem]:
    """``(path, filesystem)`` of an existing object; ``NotFound`` when it is not there."""
    store.head(key)
    if settings.store_backend == "s3":
        prefix = settings.s3_prefix.strip("/")
        full_key = f"{prefix}/{key}" if prefix else key
        return f"{settings.s3_bucket}/{full_key}", s3_filesystem(settings)
    return str(store.local_path(key)), pafs.LocalFileSystem()
