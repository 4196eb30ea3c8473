"""The service graph, built in one place: what a replica, the demo, the jobs and tests use.

``build_services(settings, "ray")`` connects to the named actors (catalog, corpus registry
and shards, pathway, observer), as a Serve replica does; ``build_services(settings,
"local")`` builds the same graph over in-process cores, as the API tests do. Nothing else
assembles these parts. Replicas keep no state of their own: the catalog lives in its actor,
objects in the store, and the SQL views follow the catalog (``CatalogFollower``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from actors import metrics
from actors.remote.catalog_follower import CatalogFollower
from actors.remote.corpus_router import local_router, remote_router
from actors.remote.facade import Facade
from lakehouse.catalog import Manifest
from lakehouse.chat import ChatRouter
from lakehouse.embed.base import TextEmbedder
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.embed.query_cache import CachedQueries
from lakehouse.errors import Unavailable
from lakehouse.matrix import MatrixConfig, MatrixSearch
from lakehouse.settings import Settings
from lakehouse.sql import QueryResult, SqlLimits
from lakehouse.sql.sandbox import SqlSandbox
from lakehouse.storage import ObjectStore, open_store
from lakehouse.vectors.api import VectorRouterApi

Mode = Literal["local", "ray"]
EMBED_LATENCY = "lakehouse_embed_batch_latency_ms"


@dataclass
class Services:
    """Everything a route needs. ``pathway``, ``observer`` and ``embedder`` may be None
    where a caller turns them off (a test of the "not configured" answers)."""

    settings: Settings
    store: ObjectStore
    catalog: Facade
    follower: CatalogFollower
    sql: SqlSandbox
    chat: ChatRouter
    vectors: VectorRouterApi
    matrix: MatrixSearch
    pathway: Facade | None
    observer: Facade | None
    embedder: TextEmbedder | None

    async def embed_documents(self, texts: list[str]) -> np.ndarray:
        with metrics.timed_ms(
            EMBED_LATENCY, where="documents", backend=self.settings.embed.backend
        ):
            return await asyncio.to_thread(self._embedder().embed_documents, texts)

    async def embed_queries(self, texts: list[str]) -> np.ndarray:
        with metrics.timed_ms(EMBED_LATENCY, where="queries", backend=self.settings.embed.backend):
            return await asyncio.to_thread(self._embedder().embed_query, texts)

    def _embedder(self) -> TextEmbedder:
        if self.embedder is None:
            raise Unavailable("no embedder is configured in this replica")
        return self.embedder

    async def query(self, sql: str) -> QueryResult:
        """Run read-only SQL over the catalog's datasets (views follow the catalog)."""
        return await self.follower.query(sql)

    async def manifest(self, name: str) -> Manifest | None:
        """The dataset's manifest as this replica knows it."""
        return await self.follower.manifest(name)


def build_services(
    settings: Settings,
    mode: Mode,
    *,
    chat: ChatRouter | None = None,
    embedder: TextEmbedder | None = None,
) -> Services:
    """The whole service graph, over Ray's named actors (``"ray"``) or in process.

    ``chat`` and ``embedder`` replace the configured ones (tests inject a scripted chat
    provider); by default they come from ``settings.chat`` and ``settings.embed``.
    """
    store = open_store(settings)
    actors = _ray_actors(settings) if mode == "ray" else _local_actors(settings)
    catalog, pathway, observer = (Facade(a) for a in actors)
    vectors = remote_router(settings, store) if mode == "ray" else local_router(settings, store)
    sql = SqlSandbox(
        sql_dirs(settings)[0].parent,
        settings.tmp_dir / "duckdb",
        sql_limits(settings),
        workers=settings.sql_workers,
        max_bytes=settings.sql_worker_max_bytes,
    )
    services = Services(
        settings=settings,
        store=store,
        catalog=catalog,
        follower=CatalogFollower(catalog, sql, store),
        sql=sql,
        chat=chat or ChatRouter(settings.chat),
        vectors=vectors,
        matrix=MatrixSearch(vectors, None, store, MatrixConfig.from_settings(settings)),
        pathway=pathway,
        observer=observer,
        embedder=_cached(embedder or LazyEmbedder(settings.embed), settings),
    )
    services.matrix.embed = services.embed_queries
    return services


def _cached(embedder: TextEmbedder, settings: Settings) -> TextEmbedder:
    entries = settings.embed.query_cache_entries
    return CachedQueries(embedder, entries) if entries else embedder


def _ray_actors(settings: Settings) -> tuple[Any, Any, Any]:
    from actors.catalog import catalog_actor
    from actors.observer import observer_actor
    from actors.pathway import pathway_actor

    return catalog_actor(settings), pathway_actor(settings), observer_actor(settings)


def _local_actors(settings: Settings) -> tuple[Any, Any, Any]:
    from actors.catalog import CatalogActor
    from actors.observer import ObserverActor
    from actors.pathway import PathwayActor

    return CatalogActor(settings), PathwayActor(settings), ObserverActor(settings)


SQL_LIMITS = (
    "max_rows", "timeout_s", "memory_limit", "threads", "max_chars", "max_result_bytes",
    "cache_bytes",
)  # fmt: skip


def sql_limits(settings: Settings) -> SqlLimits:
    """``SqlLimits`` from the ``sql_*`` settings of the same names."""
    return SqlLimits(**{name: getattr(settings, f"sql_{name}") for name in SQL_LIMITS})


def sql_dirs(settings: Settings) -> list[Path]:
    """Where dataset Parquet is read from: the local object tree or the S3 download cache."""
    if settings.store_backend == "s3":
        return [settings.cache_dir / "s3" / "datasets"]
    return [settings.objects_dir / "datasets"]
