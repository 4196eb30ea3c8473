"""The iterate session log in the object store: one object per session.

Replicas run on any node, so the log cannot be a file on one of their disks: each session is
put as its own object, ``<prefix>/<yyyy-mm-dd>/<time_ns>-<id>.json`` (durable when the put
returns, on S3 or the local store alike, and never a write shared by two replicas).
Reading lists the day folders in key order, so records come back oldest first.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from lakehouse.iterate.log import SCHEMA, SessionAppender
from lakehouse.storage import ObjectStore

PREFIX = "logs/sessions.iterate"
log = logging.getLogger(__name__)


class ObjectStoreSessionLog:
    """``append`` / ``read`` of session records as objects under ``prefix`` in ``store``."""

    def __init__(self, store: ObjectStore, prefix: str = PREFIX) -> None:
        self.store = store
        self.prefix = prefix.rstrip("/")

    def append(self, record: Mapping[str, Any]) -> None:
        """Put ``record`` as one object; durable before it returns (``StorageError`` if not)."""
        line = (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        now = time.time_ns()
        day = time.strftime("%Y-%m-%d", time.gmtime(now / 1e9))
        self.store.put(f"{self.prefix}/{day}/{now:020d}-{uuid.uuid4().hex[:8]}.json", line)

    def read(self) -> list[dict[str, Any]]:
        """Every intact record, oldest first."""
        return list(self.records())

    def records(self) -> Iterator[dict[str, Any]]:
        for obj in self.store.iter_all(f"{self.prefix}/"):
            try:
                record = json.loads(self.store.get(obj.key))
            except ValueError:
                log.warning("session log %s is corrupt; skipped", obj.key)
                continue
            if isinstance(record, dict) and record.get("schema") == SCHEMA:
                yield record
            else:
                log.warning("session log %s is not a session; skipped", obj.key)


class TeeSessionLog:
    """Appends each session to every log in turn (acknowledged when all have it): the object
    store's, which survives any node, and the node-local file the distill materializer
    reads."""

    def __init__(self, *logs: SessionAppender) -> None:
        self.logs = logs

    def append(self, record: Mapping[str, Any]) -> None:
        for log_ in self.logs:
            log_.append(record)
