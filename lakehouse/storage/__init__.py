"""Object storage: one interface, a local-directory backend and an S3 backend."""

from lakehouse.storage.base import ObjectInfo, ObjectListing, ObjectStore
from lakehouse.storage.factory import open_store
from lakehouse.storage.keys import validate_key, validate_prefix

__all__ = [
    "ObjectInfo",
    "ObjectListing",
    "ObjectStore",
    "open_store",
    "validate_key",
    "validate_prefix",
]
