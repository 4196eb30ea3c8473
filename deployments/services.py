"""What one ingress replica holds: config, the object store client, the catalog, SQL.

Replicas keep no state of their own: the catalog lives in its actor, objects in the store,
and the SQL views are rebuilt from the catalog whenever its generation moves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from actors.facade import Facade
from lakehouse.catalog import Manifest
from lakehouse.settings import Settings
from lakehouse.sql import QueryResult, SqlEngine, SqlLimits
from lakehouse.sql.engine import views_for
from lakehouse.storage import ObjectStore, open_store


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    catalog: Facade
    sql: SqlEngine
    _generation: int = -1
    _sync_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def build(cls, settings: Settings, catalog: Facade) -> Services:
        store = open_store(settings)
        limits = SqlLimits(
            max_rows=settings.sql_max_rows,
            timeout_s=settings.sql_timeout_s,
            memory_limit=settings.sql_memory_limit,
            threads=settings.sql_threads,
            max_chars=settings.sql_max_chars,
        )
        return cls(
            settings, store, catalog, SqlEngine(sql_dirs(settings), _sql_tmp(settings), limits)
        )

    async def query(self, sql: str) -> QueryResult:
        """Run read-only SQL against views that match the catalog's current generation."""
        await self.sync_views()
        return await asyncio.to_thread(self.sql.query, sql)

    async def sync_views(self) -> None:
        async with self._sync_lock:
            generation, manifests = await self.catalog.snapshot(self._generation)
            if manifests is None:
                return
            await asyncio.to_thread(self._apply, manifests)
            self._generation = generation

    def _apply(self, manifests: list[Manifest]) -> None:
        self.sql.sync(views_for(manifests, self.store.local_path))


def sql_dirs(settings: Settings) -> list[Path]:
    """Where dataset Parquet is read from: the local object tree or the S3 download cache."""
    if settings.store_backend == "s3":
        return [settings.cache_dir / "s3" / "datasets"]
    return [settings.objects_dir / "datasets"]


def _sql_tmp(settings: Settings) -> Path:
    return settings.tmp_dir / "duckdb"
