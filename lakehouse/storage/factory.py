"""Build the configured object store from ``Settings``."""

from __future__ import annotations

import hashlib

from lakehouse.settings import Settings
from lakehouse.storage.base import ObjectStore
from lakehouse.storage.sweep import sweep_stale


def open_store(settings: Settings) -> ObjectStore:
    """The local-directory store, or the S3 store when ``store_backend == "s3"``."""
    if settings.store_backend == "s3":
        from lakehouse.storage.s3 import S3Store

        # the local side of an S3 deployment: uploads, ingest, spills and the download cache
        for directory in (settings.tmp_dir, settings.cache_dir):
            sweep_stale(directory, settings.tmp_stale_after_s)
        return S3Store(
            settings.s3_bucket,
            settings.cache_dir,
            settings.max_object_bytes,
            settings.max_list,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
        )
    from lakehouse.storage.local import LocalStore

    return LocalStore(
        settings.objects_dir,
        settings.tmp_dir,
        settings.max_object_bytes,
        settings.max_list,
        stale_after_s=settings.tmp_stale_after_s,
    )


def store_identity(settings: Settings) -> str:
    """A short stable id of where the store lives; names the actors that own its state."""
    if settings.store_backend == "s3":
        where = f"s3://{settings.s3_bucket}/{settings.s3_prefix}@{settings.s3_endpoint or 'aws'}"
    else:
        where = f"file://{settings.objects_dir}"
    return hashlib.sha256(where.encode()).hexdigest()[:12]
