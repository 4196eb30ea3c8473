"""What one ingress replica holds: config, the object store client, the catalog, SQL.

Replicas keep no state of their own: the catalog lives in its actor, objects in the store,
and the SQL views follow the catalog. A background long poll (``wait_for_change``) applies
every catalog change as it happens, so a query costs no actor round trip; a query naming a
view this replica has not seen yet forces a sync and runs once more, so a dataset is
queryable the moment its ingest is acknowledged, through any replica.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.facade import Facade
from actors.router import CorpusRouter, local_router
from lakehouse.catalog import Manifest
from lakehouse.chat import ChatConfig, ChatRouter
from lakehouse.errors import QueryRejected, Unavailable
from lakehouse.settings import Settings
from lakehouse.sql import QueryResult, SqlLimits
from lakehouse.sql.engine import views_for
from lakehouse.sql.sandbox import SqlSandbox
from lakehouse.storage import ObjectStore, open_store

log = logging.getLogger(__name__)
LONG_POLL_S = 30.0


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    catalog: Facade
    sql: SqlSandbox
    chat: ChatRouter
    manifests: dict[str, Manifest] = field(default_factory=dict)
    vectors: CorpusRouter | None = None
    embedder: Any = None
    # the pathway store and the observer ring: actor facades in a replica, plain cores in
    # tests; None where a caller builds Services without them
    pathway: Facade | None = None
    observer: Facade | None = None
    matrix: Any = None  # lakehouse.matrix.MatrixSearch over ``vectors`` (the repeat cache)
    _generation: int = -1
    _sync_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _watcher: asyncio.Task | None = None

    @classmethod
    def build(cls, settings: Settings, catalog: Facade, chat: ChatRouter | None = None) -> Services:
        store = open_store(settings)
        limits = SqlLimits(
            max_rows=settings.sql_max_rows,
            timeout_s=settings.sql_timeout_s,
            memory_limit=settings.sql_memory_limit,
            threads=settings.sql_threads,
            max_chars=settings.sql_max_chars,
            max_result_bytes=settings.sql_max_result_bytes,
        )
        engine = SqlSandbox(
            sql_dirs(settings)[0].parent,
            settings.tmp_dir / "duckdb",
            limits,
            workers=settings.sql_workers,
            max_bytes=settings.sql_worker_max_bytes,
        )
        services = cls(settings, store, catalog, engine, chat or ChatRouter(ChatConfig.from_env()))
        services.vectors = local_router(settings, store)
        return services

    async def embed_documents(self, texts: list[str]) -> Any:
        return await asyncio.to_thread(self._embedder().embed_documents, texts)

    async def embed_queries(self, texts: list[str]) -> Any:
        return await asyncio.to_thread(self._embedder().embed_query, texts)

    def _embedder(self) -> Any:
        if self.embedder is None:
            raise Unavailable("no embedder is configured in this replica")
        return self.embedder

    async def query(self, sql: str) -> QueryResult:
        """Run read-only SQL; an unknown view triggers one catalog sync and a retry."""
        await self._follow_catalog()
        try:
            return await asyncio.to_thread(self.sql.query, sql)
        except QueryRejected as exc:
            if exc.details.get("kind") != "catalog" or not await self.sync_views():
                raise
        return await asyncio.to_thread(self.sql.query, sql)

    async def manifest(self, name: str) -> Manifest | None:
        """The dataset's manifest as this replica knows it (synced once more if unknown)."""
        await self._follow_catalog()
        if name not in self.manifests:
            await self.sync_views()
        return self.manifests.get(name)

    async def _follow_catalog(self) -> None:
        if self.catalog.remote:
            self._ensure_watcher()
        if self._generation < 0 or not self.catalog.remote:
            await self.sync_views()  # in-process catalog: a sync is a cheap local call

    async def sync_views(self) -> bool:
        """Bring the views up to the catalog's generation now; True if anything changed."""
        async with self._sync_lock:
            generation, manifests = await self.catalog.snapshot(self._generation)
            return await self._apply(generation, manifests)

    async def _apply(self, generation: int, manifests: list[Manifest] | None) -> bool:
        if manifests is None or generation == self._generation:
            return False
        await asyncio.to_thread(self.sql.sync, views_for(manifests, self.store.local_path))
        self.manifests = {m.name: m for m in manifests}
        self._generation = generation
        return True

    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            try:
                generation, manifests = await self.catalog.wait_for_change(
                    self._generation, LONG_POLL_S
                )
                async with self._sync_lock:
                    await self._apply(generation, manifests)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the catalog restarting: keep watching
                log.warning("catalog watch failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)


def sql_dirs(settings: Settings) -> list[Path]:
    """Where dataset Parquet is read from: the local object tree or the S3 download cache."""
    if settings.store_backend == "s3":
        return [settings.cache_dir / "s3" / "datasets"]
    return [settings.objects_dir / "datasets"]
