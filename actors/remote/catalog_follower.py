"""A replica's copy of the catalog: SQL views that follow every catalog change.

A background long poll (``wait_for_change``) applies each change as it happens, so a query
costs no actor round trip; a query naming a view this replica has not seen yet forces a
sync and runs once more, so a dataset is queryable the moment its ingest is acknowledged,
through any replica. Over an in-process catalog a sync is a cheap local call, made per query.
"""

from __future__ import annotations

import asyncio
import logging

from actors.remote.facade import Facade
from lakehouse.catalog import Manifest
from lakehouse.errors import QueryRejected
from lakehouse.sql import QueryResult, SqlEngine
from lakehouse.sql.engine import views_for
from lakehouse.sql.sandbox import SqlSandbox
from lakehouse.storage import ObjectStore

log = logging.getLogger(__name__)
LONG_POLL_S = 30.0


class CatalogFollower:
    """Keeps ``sql``'s views and ``manifests`` at the catalog's generation."""

    def __init__(self, catalog: Facade, sql: SqlEngine | SqlSandbox, store: ObjectStore) -> None:
        self.catalog, self.sql, self.store = catalog, sql, store
        self.manifests: dict[str, Manifest] = {}
        self._generation = -1
        self._sync_lock = asyncio.Lock()
        self._watcher: asyncio.Task | None = None

    async def query(self, sql: str) -> QueryResult:
        """Run read-only SQL; an unknown view triggers one catalog sync and a retry."""
        await self._follow()
        try:
            return await asyncio.to_thread(self.sql.query, sql)
        except QueryRejected as exc:
            if exc.details.get("kind") != "catalog" or not await self.sync():
                raise
        return await asyncio.to_thread(self.sql.query, sql)

    async def manifest(self, name: str) -> Manifest | None:
        """The dataset's manifest as this replica knows it (synced once more if unknown)."""
        await self._follow()
        if name not in self.manifests:
            await self.sync()
        return self.manifests.get(name)

    async def sync(self) -> bool:
        """Bring the views up to the catalog's generation now; True if anything changed."""
        async with self._sync_lock:
            generation, manifests = await self.catalog.snapshot(self._generation)
            return await self._apply(generation, manifests)

    async def _follow(self) -> None:
        if self.catalog.remote:
            self._ensure_watcher()
        if self._generation < 0 or not self.catalog.remote:
            await self.sync()

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
                known = self._generation
                generation, manifests = await self.catalog.wait_for_change(known, LONG_POLL_S)
                async with self._sync_lock:
                    # a sync() that ran while this poll waited applied a snapshot at least as
                    # new as this one: applying this one now would bring back an older view
                    # (generations cannot be compared: a restarted catalog counts from 1)
                    if self._generation == known:
                        await self._apply(generation, manifests)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the catalog restarting: keep watching
                log.warning("catalog watch failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
