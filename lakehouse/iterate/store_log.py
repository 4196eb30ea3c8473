"""Append-only record logs in the object store: the iterate sessions, the replay runs.

Replicas and jobs run on any node, so a log cannot be a file on one of their disks: each
append is put as its own object, ``<prefix>/<yyyy-mm-dd>/<time_ns>-<id>.json`` holding one
JSON line per record (durable when the put returns, on S3 or the local store alike, and
never a write shared by two writers). Reading lists the day folders in key order, so
records come back oldest first; a torn or foreign line is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lakehouse.iterate.log import SCHEMA
from lakehouse.storage import ObjectStore

PREFIX = "logs/sessions.iterate"
log = logging.getLogger(__name__)


class ObjectStoreSessionLog:
    """``append`` / ``read`` of records of one ``schema`` as objects under ``prefix``."""

    def __init__(self, store: ObjectStore, prefix: str = PREFIX, schema: str = SCHEMA) -> None:
        self.store, self.schema = store, schema
        self.prefix = prefix.rstrip("/")

    def append(self, record: Mapping[str, Any]) -> None:
        """Put ``record`` as one object; durable before it returns (``StorageError`` if not)."""
        self.append_many([record])

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Put ``records`` as one object (one line each): all of them are durable, or none."""
        lines = [json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in records]
        if not lines:
            return
        now = time.time_ns()
        day = time.strftime("%Y-%m-%d", time.gmtime(now / 1e9))
        key = f"{self.prefix}/{day}/{now:020d}-{uuid.uuid4().hex[:8]}.json"
        self.store.put(key, "".join(lines).encode("utf-8"))

    def read(self) -> list[dict[str, Any]]:
        """Every intact record, oldest first."""
        return list(self.records())

    def records(self) -> Iterator[dict[str, Any]]:
        for obj in self.store.iter_all(f"{self.prefix}/"):
            for line in self.store.get(obj.key).splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    log.warning("log object %s has a corrupt line; skipped", obj.key)
                    continue
                if isinstance(record, dict) and record.get("schema") == self.schema:
                    yield record
                else:
                    log.warning("log object %s has a line not of %s; skipped", obj.key, self.schema)
