"""The catalog: the single writer of dataset manifests.

Register is idempotent (same name + same fingerprint → same ``dataset_id``), refuses schema
drift with ``SchemaDrift`` (409) before touching the live data, and rehydrates every
manifest from the object store when constructed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime

import pyarrow.parquet as pq

from lakehouse.catalog.manifest import (
    Column,
    Manifest,
    dataset_id,
    fingerprint,
    manifest_key_for,
    object_key_for,
    validate_dataset_name,
)
from lakehouse.errors import NotFound, SchemaDrift
from lakehouse.storage import ObjectStore

log = logging.getLogger(__name__)


class Catalog:
    """Datasets by name. Thread-safe; every mutation is durable before it returns."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._manifests: dict[str, Manifest] = {}
        self.generation = 0
        self.load_errors: list[str] = []
        self._rehydrate()

    def list(self) -> list[Manifest]:
        with self._lock:
            return [self._manifests[n] for n in sorted(self._manifests)]

    def get(self, name: str) -> Manifest:
        validate_dataset_name(name)
        with self._lock:
            found = self._manifests.get(name)
        if found is None:
            raise NotFound(f"dataset {name!r} not found")
        return found

    def wait_for_change(self, known_generation: int, timeout_s: float) -> int:
        """Block until the generation differs from ``known_generation`` (or the timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != known_generation, timeout_s)
            return self.generation

    def check(self, name: str, columns: list[Column]) -> None:
        """Raise ``SchemaDrift`` now if registering ``columns`` under ``name`` would."""
        validate_dataset_name(name)
        with self._lock:
            self._check_drift(self._manifests.get(name), name, fingerprint(columns))

    def register(
        self, name: str, columns: list[Column], row_count: int, staged_key: str
    ) -> Manifest:
        """Publish the staged Parquet at ``staged_key`` as dataset ``name``.

        On drift the staged object is deleted and the live dataset is left as it was.
        Safe to retry: the staged object is copied, the manifest (which records the staged
        key) written, and only then the staged object deleted, so a retry after a crash at
        any point either redoes the work or finds it done.
        """
        validate_dataset_name(name)
        fp = fingerprint(columns)
        with self._lock:
            current = self._manifests.get(name)
            if not self.store.exists(staged_key):
                if current is not None and current.extra.get("staged_from") == staged_key:
                    return current  # a retried call whose first attempt completed
                raise NotFound(f"staged object {staged_key!r} not found")
            try:
                self._check_drift(current, name, fp)
            except SchemaDrift:
                self._discard(staged_key)
                raise
            info = self.store.copy(staged_key, object_key_for(name, fp))
            now = _now()
            manifest = Manifest(
                dataset_id=dataset_id(name),
                name=name,
                fingerprint=fp,
                object_key=info.key,
                row_count=row_count,
                columns=list(columns),
                size_bytes=info.size,
                etag=info.etag,
                created_at=current.created_at if current else now,
                updated_at=now,
                extra={"staged_from": staged_key},
            )
            self._save(manifest)
            self._discard(staged_key)
            return manifest

    def delete(self, name: str) -> list[str]:
        """Drop dataset ``name``: its manifest, then every object under ``datasets/<name>/``.

        The manifest goes first, so the dataset (and its SQL view) is gone the moment this
        starts to succeed; a crash before the Parquet goes leaves objects that the next
        ingest or delete of the name removes. Returns the keys deleted; ``NotFound`` (after
        that same sweep) if there is no such dataset.
        """
        validate_dataset_name(name)
        with self._lock:
            current = self._manifests.pop(name, None)
            if current is not None:
                self._discard(manifest_key_for(name))
                self.generation += 1
                self._changed.notify_all()
            keys = [o.key for o in self.store.iter_all(f"datasets/{name}/")]
            for key in keys:
                self._discard(key)
        if current is None:
            raise NotFound(f"dataset {name!r} not found")
        return [manifest_key_for(name), *keys]

    def _check_drift(self, current: Manifest | None, name: str, fp: str) -> None:
        if current is not None and current.fingerprint != fp:
            raise SchemaDrift(
                f"dataset {name!r} exists with another schema; the live data is unchanged",
                dataset=name,
                live_fingerprint=current.fingerprint,
                new_fingerprint=fp,
            )

    def _save(self, manifest: Manifest) -> None:
        self.store.put(manifest_key_for(manifest.name), manifest.to_parquet())
        self._manifests[manifest.name] = manifest
        self.generation += 1
        self._changed.notify_all()

    def _discard(self, key: str) -> None:
        with contextlib.suppress(NotFound):
            self.store.delete(key)

    def _rehydrate(self) -> None:
        listing = self.store.list("catalog/", limit=self.store.max_list)
        if listing.truncated:
            self.load_errors.append("more manifests than max_list; raise LAKEHOUSE_MAX_LIST")
        for obj in listing.objects:
            if obj.key.endswith("/manifest.parquet"):
                self._load_one(obj.key)
        self.generation += 1

    def _load_one(self, key: str) -> None:
        try:
            manifest = Manifest.from_parquet(self.store.get(key))
            manifest = self._reconcile(manifest)
        except NotFound:
            self._report(f"{key}: its Parquet object is missing; dataset skipped")
            return
        except Exception as exc:  # a corrupt manifest is reported, never a crash
            self._report(f"{key}: unreadable manifest ({type(exc).__name__}); skipped")
            return
        self._manifests[manifest.name] = manifest

    def _reconcile(self, manifest: Manifest) -> Manifest:
        """Repair a manifest whose object changed after it was written (a crash mid-register)."""
        info = self.store.head(manifest.object_key)
        if info.etag == manifest.etag:
            return manifest
        rows = pq.ParquetFile(self.store.local_path(manifest.object_key)).metadata.num_rows
        fixed = replace(manifest, row_count=rows, size_bytes=info.size, etag=info.etag)
        self.store.put(manifest_key_for(fixed.name), fixed.to_parquet())
        log.warning("catalog: reconciled %s with its Parquet object", manifest.name)
        return fixed

    def _report(self, message: str) -> None:
        log.error("catalog: %s", message)
        self.load_errors.append(message)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
