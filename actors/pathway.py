"""The pathway actor: the single writer of the pathway store's event log.

A thin shell over ``lakehouse.pathway.PathwayStore``, its log kept as objects under
``pathway/`` in the configured object store (a local directory or S3). Named
``pathway-<store id>`` in the ``lakehouse`` namespace, detached, restarted by Ray
(``max_restarts=-1``); ``__init__`` replays the log, so a restart loses nothing that was
acknowledged (every append is durable before the call returns).

Writes are not retried by Ray: an ``add`` that reached the log just before the actor died
would be applied twice by a blind retry. The caller sees a 503 and decides (``add`` with
``idempotent`` is the safe retry); reads keep Ray's retries.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import ray

from actors import metrics, stateful_actor
from lakehouse.pathway import History, ObjectStoreLog, PathwayLimits, PathwayStore, SearchHit, Trace
from lakehouse.settings import Settings
from lakehouse.storage import open_store
from lakehouse.storage.factory import store_identity

ACTOR_PREFIX = "pathway"
LOG_PREFIX = "pathway"
log = logging.getLogger(__name__)
_no_retry = ray.method(max_task_retries=0)


def _write(method: Any) -> Any:
    """A pathway write: not retried by Ray, and the trace gauges published after it."""

    @functools.wraps(method)
    def write(self: PathwayActor, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        self.publish()
        return result

    return _no_retry(write)


class PathwayActor:
    """Remote face of ``PathwayStore``; every method is a straight call into the core."""

    def __init__(self, settings: Settings) -> None:
        limits = PathwayLimits()
        events = ObjectStoreLog(
            open_store(settings), LOG_PREFIX, max_line_bytes=limits.max_line_bytes
        )
        self.store = PathwayStore(events, limits=limits)
        report = self.store.replay_report.to_dict()
        log.info("pathway actor up: %s", report)
        self.publish()

    def publish(self) -> None:
        """Publish the trace counts (``actors.metrics``)."""
        stats = self.store.stats()
        metrics.set_gauge("lakehouse_pathway_traces", stats["live"], state="live")
        metrics.set_gauge(
            "lakehouse_pathway_traces", stats["traces"] - stats["live"], state="retired"
        )

    @_write
    def add(self, content: Any, tags: Any = None, trace_id: str | None = None) -> Trace:
        return self.store.add(content, tags, trace_id=trace_id)

    @_write
    def add_idempotent(self, content: Any, tags: Any = None, trace_id: str | None = None) -> Trace:
        return self.store.add_idempotent(content, tags, trace_id=trace_id)

    @_write
    def update(
        self, uid: str, content: Any, tags: Any = None, trace_id: str | None = None
    ) -> Trace:
        return self.store.update(uid, content, tags, trace_id=trace_id)

    @_write
    def revise(
        self, uid: str, content: Any, tags: Any = None, trace_id: str | None = None
    ) -> Trace:
        return self.store.revise(uid, content, tags, trace_id=trace_id)

    @_write
    def retire(self, uid: str, trace_id: str | None = None) -> Trace:
        return self.store.retire(uid, trace_id=trace_id)

    @_write
    def revert(self, uid: str, version: int, trace_id: str | None = None) -> Trace:
        return self.store.revert(uid, version, trace_id=trace_id)

    def get(self, uid: str, as_of: float | None = None) -> Trace:
        return self.store.get(uid, as_of=as_of)

    def history(self, uid: str, as_of: float | None = None) -> History:
        return self.store.history(uid, as_of=as_of)

    def search(
        self,
        text: str | None = None,
        tags: Any = None,
        since: float | None = None,
        until: float | None = None,
        k: int = 10,
    ) -> list[SearchHit]:
        return self.store.search(text, tags, since, until, k)

    @_write
    def compact(self) -> int:
        return self.store.compact()

    def status(self) -> dict[str, Any]:
        """The store's counters and replay report, plus the serving process id."""
        return self.store.stats() | {"pid": os.getpid()}


def pathway_actor(settings: Settings) -> ray.actor.ActorHandle:
    """The pathway actor. Retries are for reads only (writes opt out above); threaded so
    reads run beside a write's object-store round trip, the core store holding one lock."""
    return stateful_actor(PathwayActor, actor_name(settings), settings, max_concurrency=16)


def actor_name(settings: Settings) -> str:
    return f"{ACTOR_PREFIX}-{store_identity(settings)}"
