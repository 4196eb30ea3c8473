"""The replica's catalog follower never brings back an older view than it has applied."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import actors.remote.catalog_follower as follower_module
from actors.remote.catalog_follower import CatalogFollower


class RacingCatalog:
    """A remote catalog whose long poll answers with a snapshot taken before a later sync."""

    remote = True

    def __init__(self) -> None:
        self.current: tuple[int, list] = (1, [])
        self.release = asyncio.Event()
        self.stale: tuple[int, list] | None = None
        self.polls: list[int] = []

    async def snapshot(self, known: int):
        generation, manifests = self.current
        return generation, (None if generation == known else manifests)

    async def wait_for_change(self, known: int, timeout_s: float):
        self.polls.append(known)
        if len(self.polls) > 1:
            await asyncio.Event().wait()  # later polls: nothing more happens
        await self.release.wait()
        return self.stale


class RecordingSql:
    def __init__(self) -> None:
        self.views: list = []

    def sync(self, views) -> None:
        self.views = list(views)


def test_a_poll_answered_after_a_newer_sync_is_not_applied(monkeypatch):
    monkeypatch.setattr(
        follower_module, "views_for", lambda manifests, _: [m.name for m in manifests]
    )

    async def scenario():
        catalog, sql = RacingCatalog(), RecordingSql()
        follower = CatalogFollower(catalog, sql, SimpleNamespace(local_path=str))
        assert await follower.manifest("people") is None  # generation 1: empty; watcher starts
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(catalog.polls) == 1  # the watcher is waiting for a change
        people = SimpleNamespace(name="people")
        catalog.current = (3, [people])  # deleted at 2, ingested again at 3
        assert await follower.manifest("people") is people  # a query's sync applies 3
        catalog.stale = (2, [])  # the poll's answer, taken at 2, arrives now
        catalog.release.set()
        for _ in range(5):
            await asyncio.sleep(0)
        watcher = follower._watcher
        watcher.cancel()
        return follower, sql

    follower, sql = asyncio.run(scenario())
    assert sql.views == ["people"] and list(follower.manifests) == ["people"]
    assert follower._generation == 3
