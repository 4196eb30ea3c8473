"""Typed faces of the shard and registry actors (or their in-process cores) over ``Facade``."""

from __future__ import annotations

from typing import Any

from actors.remote.facade import Facade
from lakehouse.vectors.registry import Corpus


class ShardClient:
    """``ShardApi`` over a shard actor handle or an in-process ``ShardActor``."""

    def __init__(self, target: Any) -> None:
        self.facade = Facade(target)

    async def add(self, ids: list[str], vectors: Any, metadata: Any = None) -> int:
        return await self.facade.add(ids, vectors, metadata)

    async def delete(self, ids: list[str]) -> int:
        return await self.facade.delete(ids)

    async def contains(self, ids: list[str]) -> list[bool]:
        return await self.facade.contains(ids)

    async def search(self, vector: Any, k: int, **options: Any) -> dict[str, Any]:
        return await self.facade.search(vector, k, **options)

    async def search_batch(
        self, queries: Any, k: int, ef: int | None = None
    ) -> list[dict[str, Any]]:
        return await self.facade.search_batch(queries, k, ef)

    async def stats(self) -> dict[str, Any]:
        return await self.facade.stats()

    async def generation(self) -> str:
        return await self.facade.generation()

    def submit(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Start a call for ``settle`` (a fan-out waits for all of them at once)."""
        return self.facade.submit(method, *args, **kwargs)


class RegistryClient:
    """``CorpusRegistryApi`` over the registry actor or an in-process registry."""

    def __init__(self, target: Any) -> None:
        self.facade = Facade(target)

    async def create(self, corpus: Corpus) -> tuple[Corpus, bool]:
        return await self.facade.create(corpus)

    async def get(self, name: str) -> Corpus:
        return await self.facade.get(name)

    async def list(self) -> list[Corpus]:
        return await self.facade.list()

    async def delete(self, name: str) -> Corpus:
        return await self.facade.delete(name)
