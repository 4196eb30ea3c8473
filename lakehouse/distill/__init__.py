"""Distillation: the service's logs as evidence, replayed tasks, and drift.

Materializer   every record the service writes -> day-partitioned evidence datasets in the
               catalog, idempotent, with a receipt per run (``materialize``)
TRANSFORMS     one per record type: sessions, replay_runs, observer_events,
               playbook_records, pathway_events (``transforms``)
"""

from lakehouse.distill.materialize import (
    RECEIPT_SCHEMA,
    Materializer,
    Run,
    Staged,
    check_transforms,
    dataset_name,
)
from lakehouse.distill.transforms import TRANSFORMS, Transform

__all__ = [
    "RECEIPT_SCHEMA",
    "TRANSFORMS",
    "Materializer",
    "Run",
    "Staged",
    "Transform",
    "check_transforms",
    "dataset_name",
]
