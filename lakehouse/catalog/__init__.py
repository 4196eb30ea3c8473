"""The dataset catalog: manifests persisted as Parquet, schema fingerprints, idempotent register."""

from lakehouse.catalog.catalog import Catalog
from lakehouse.catalog.manifest import (
    DATASET_NAMESPACE,
    Column,
    Manifest,
    dataset_id,
    fingerprint,
    validate_dataset_name,
)

__all__ = [
    "DATASET_NAMESPACE",
    "Catalog",
    "Column",
    "Manifest",
    "dataset_id",
    "fingerprint",
    "validate_dataset_name",
]
