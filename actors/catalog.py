"""The catalog actor: the single writer of dataset manifests.

A thin shell over ``lakehouse.catalog.Catalog``. Named ``catalog-<store id>`` in the
``lakehouse`` namespace (one catalog per object store, so two deployments over different
stores never share one by accident), detached, restarted by Ray (``max_restarts=-1``);
``__init__`` rehydrates every manifest from the object store, so a restart loses nothing
that was acknowledged.
"""

from __future__ import annotations

import logging
from typing import Any

import ray

from actors import stateful_actor
from lakehouse.catalog import Catalog, Column, Manifest
from lakehouse.settings import Settings
from lakehouse.storage import open_store
from lakehouse.storage.factory import store_identity

ACTOR_PREFIX = "catalog"
log = logging.getLogger(__name__)


class CatalogActor:
    """Remote face of ``Catalog``; every method is a straight call into the core."""

    def __init__(self, settings: Settings) -> None:
        self.catalog = Catalog(open_store(settings))
        log.info(
            "catalog actor up: %d datasets, %d load errors",
            len(self.catalog.list()),
            len(self.catalog.load_errors),
        )

    def list(self) -> list[Manifest]:
        return self.catalog.list()

    def get(self, name: str) -> Manifest:
        return self.catalog.get(name)

    def check(self, name: str, columns: list[Column]) -> None:
        self.catalog.check(name, columns)

    def register(
        self, name: str, columns: list[Column], row_count: int, staged_key: str
    ) -> Manifest:
        return self.catalog.register(name, columns, row_count, staged_key)

    def delete(self, name: str) -> list[str]:
        return self.catalog.delete(name)

    def wait_for_change(
        self, known_generation: int, timeout_s: float = 30.0
    ) -> tuple[int, list[Manifest] | None]:
        """Long poll: return ``snapshot`` as soon as the catalog moves past ``known_generation``."""
        self.catalog.wait_for_change(known_generation, min(timeout_s, 60.0))
        return self.snapshot(known_generation)

    def snapshot(self, known_generation: int = -1) -> tuple[int, list[Manifest] | None]:
        """``(generation, manifests)``; ``manifests`` is None if ``known_generation`` is current."""
        generation = self.catalog.generation
        if generation == known_generation:
            return generation, None
        return generation, self.catalog.list()

    def status(self) -> dict[str, Any]:
        return {
            "datasets": len(self.catalog.list()),
            "generation": self.catalog.generation,
            "load_errors": list(self.catalog.load_errors),
        }


def catalog_actor(settings: Settings) -> ray.actor.ActorHandle:
    """The catalog actor. Threaded, so long polls (``wait_for_change``) never block
    registers or reads; the core catalog serialises its writes with a lock."""
    return stateful_actor(CatalogActor, actor_name(settings), settings, max_concurrency=64)


def actor_name(settings: Settings) -> str:
    return f"{ACTOR_PREFIX}-{store_identity(settings)}"
