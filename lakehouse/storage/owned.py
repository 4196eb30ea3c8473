"""The top-level prefixes the service writes: read-only through ``/v1/storage``.

Every writer of the service keeps its objects under one of these (a test writes through
every route and checks each key it finds is here). A bare name is owned too: an object
called ``playbooks`` would block the local store from making the ``playbooks/`` directory.
"""

from __future__ import annotations

SERVICE_PREFIXES = (
    "catalog",  # manifests (the catalog actor)
    "datasets",  # ingested Parquet
    "staging",  # ingest's Parquet before the catalog adopts it
    "corpora",  # corpus definitions (the corpus registry)
    "vectors",  # shard snapshots and write-ahead logs
    "pathway",  # the pathway store's log segments and snapshots
    "playbooks",  # the playbook audit records
    "drift",  # drift baselines (lakehouse.drift.reporter)
    "distill",  # materializer receipts (lakehouse.distill.materialize)
    "observer",  # observer ring batches (lakehouse.observer.store_sink)
    "logs",  # iterate sessions (lakehouse.iterate.store_log)
)


def service_owned(key: str) -> bool:
    """True if ``key`` is under (or is) a prefix the service writes."""
    return key.split("/", 1)[0] in SERVICE_PREFIXES
