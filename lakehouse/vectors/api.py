"""The shard, registry and router API, as the layers above see it (in process or over Ray).

``CorpusRouter`` (``actors.remote``) satisfies ``VectorRouterApi`` whether its shards are
plain objects or actors; ``MatrixSearch``, the playbook, the services and the routes are
typed against these protocols, never against a concrete transport.

A *generation* names a corpus's state: one ``"<incarnation>:<applied seq>"`` token per
shard. Any write changes it (and so does a shard restart), so two equal generations mean
the same contents; a cached answer is served only while its generation is still current.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from lakehouse.vectors.registry import Corpus

Generation = tuple[str, ...]
ABSENT: Generation = ("absent",)  # the generation of a corpus that does not exist
SearchRequest = tuple[str, Any, int, dict[str, Any]]  # corpus, vector, k, options


class ShardApi(Protocol):
    """One shard of one corpus (an actor, or an in-process ``VectorShard`` behind a facade)."""

    async def add(self, ids: list[str], vectors: Any, metadata: Any = None) -> int: ...
    async def delete(self, ids: list[str]) -> int: ...
    async def contains(self, ids: list[str]) -> list[bool]: ...
    async def search(self, vector: Any, k: int, **options: Any) -> dict[str, Any]: ...
    async def search_batch(
        self, queries: Any, k: int, ef: int | None = None
    ) -> list[dict[str, Any]]: ...
    async def stats(self) -> dict[str, Any]: ...
    async def generation(self) -> str: ...


class CorpusRegistryApi(Protocol):
    """The corpus definitions (the registry actor, or the in-process registry)."""

    async def create(self, corpus: Corpus) -> tuple[Corpus, bool]: ...
    async def get(self, name: str) -> Corpus: ...
    async def list(self) -> list[Corpus]: ...
    async def delete(self, name: str) -> Corpus: ...


class VectorRouterApi(Protocol):
    """Adds, deletes and searches over all shards of every corpus."""

    registry: CorpusRegistryApi

    async def corpus(self, name: str, fresh: bool = False) -> Corpus: ...
    def forget(self, name: str) -> None: ...
    async def add(self, name: str, ids: list[str], vectors: Any, metadata: Any = None) -> int: ...
    async def delete(self, name: str, ids: list[str]) -> int: ...
    async def contains(self, name: str, ids: list[str]) -> list[bool]: ...
    async def sizes(self, name: str) -> int: ...
    async def search(self, name: str, vector: Any, k: int, **options: Any) -> dict[str, Any]:
        """``{"hits", "complete", "generation"}`` over every shard of ``name``."""
        ...

    async def search_many(
        self, requests: Sequence[SearchRequest], timeout_s: float | None
    ) -> list[dict[str, Any] | None]:
        """Several searches at once under one deadline; None for a late corpus."""
        ...

    async def generations(
        self, names: Sequence[str], max_age_s: float
    ) -> dict[str, Generation | None]:
        """Each corpus's generation, learned at most ``max_age_s`` ago (None: unknown)."""
        ...
