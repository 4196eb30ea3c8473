"""Bulk materialize as a Ray job: every log the service wrote, into the evidence datasets.

    python -m actors.jobs.distill [--transforms sessions,observer_events]
    ray job submit --working-dir . -- python -m actors.jobs.distill

The same core run as ``POST /v1/distill/materialize`` (``lakehouse.distill.Materializer``:
streamed, bounded memory, idempotent, a receipt per run), with no HTTP request to time out:
for a backlog of many days. It registers through the named catalog actor, so the SQL views
of every replica follow. Run it on the node whose ``$LAKEHOUSE_DATA_DIR/logs`` holds the
logs (the store-held inputs, playbook records and pathway events, are read from anywhere).
Prints the receipt.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import ray

from actors import NAMESPACE
from actors.remote.facade import Facade
from lakehouse.catalog import Column, Manifest
from lakehouse.distill import Materializer
from lakehouse.settings import Settings
from lakehouse.storage import open_store


class SyncCatalog:
    """``get`` / ``register`` as blocking calls on a catalog facade (actor or local)."""

    def __init__(self, catalog: Facade) -> None:
        self.catalog = catalog

    def get(self, name: str) -> Manifest:
        return self.catalog.call_sync("get", name)

    def register(self, name: str, columns: list[Column], rows: int, staged: str) -> Manifest:
        return self.catalog.call_sync("register", name, columns, rows, staged)


def run(settings: Settings, catalog: Facade, transforms: list[str] | None = None) -> dict[str, Any]:
    """One materialize run over ``settings``' logs and store; returns the receipt."""
    materializer = Materializer(
        open_store(settings), settings.logs_dir, settings.tmp_dir / "distill"
    )
    return materializer.run(SyncCatalog(catalog), transforms)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Materialize the service's logs as evidence")
    parser.add_argument("--transforms", default=None, help="comma-separated; default all")
    args = parser.parse_args(argv)
    transforms = [t for t in args.transforms.split(",") if t] if args.transforms else None
    if not ray.is_initialized():
        ray.init(namespace=NAMESPACE, ignore_reinit_error=True)
    from actors.catalog import catalog_actor

    settings = Settings()
    receipt = run(settings, Facade(catalog_actor(settings)), transforms)
    print(json.dumps(receipt, indent=2))


if __name__ == "__main__":
    main()
