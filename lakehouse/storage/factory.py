"""Build the configured object store from ``Settings``."""

from __future__ import annotations

from lakehouse.settings import Settings
from lakehouse.storage.base import ObjectStore


def open_store(settings: Settings) -> ObjectStore:
    """The local-directory store, or the S3 store when ``store_backend == "s3"``."""
    if settings.store_backend == "s3":
        from lakehouse.storage.s3 import S3Store

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
        settings.objects_dir, settings.tmp_dir, settings.max_object_bytes, settings.max_list
    )
