"""The pathway store: versioned traces in the manner of Mem0, with no lost history."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from lakehouse.errors import InvalidInput, NotFound
from lakehouse.pathway import history as hist
from lakehouse.pathway import search as srch
from lakehouse.pathway.log import EventLog, ReplayReport
from lakehouse.pathway.semantic import Embedder, VectorCache, semantic_search
from lakehouse.pathway.table import TraceTable
from lakehouse.pathway.trace import (
    History,
    PathwayLimits,
    SearchHit,
    Trace,
    check_time,
    check_uid,
    content_key,
    encode_content,
    normalize_tags,
)


class PathwayStore:
    """Versioned JSON traces, durable through an append-only ``EventLog``.

    Every write is checked first (nothing changes on a bad request), then appended to
    the log (durable before the method returns), then applied in memory. Construction
    replays the log; ``replay_report`` says what was read and what was skipped. Readers
    get ``Trace`` copies. Thread-safe (one lock; the embedder runs outside it).

    Text search uses ``embedder`` (cosine over vectors cached per trace version) when one
    is given. Without one it falls back to a lexical BM25 score over the words of the
    content (string values and keys), which only finds traces sharing a word with the text.

    Args:
        log: where events live (``ObjectStoreLog``; tests use a local directory).
        embedder: ``embed(texts) -> (n, d)`` unit vectors, or None for lexical search.
        limits: request bounds.
        clock: seconds since the epoch; stored timestamps never go backwards.
    """

    def __init__(
        self,
        log: EventLog,
        *,
        embedder: Embedder | None = None,
        limits: PathwayLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits or PathwayLimits()
        self._lock = threading.RLock()
        self._vectors = VectorCache(embedder) if embedder is not None else None
        self._t = TraceTable(log, self.limits, clock)

    @property
    def replay_report(self) -> ReplayReport:
        """What the replay at construction read and skipped."""
        return self._t.replay_report

    # ---- writes -------------------------------------------------------------------------

    def add(self, content: Any, tags: Any = None, *, trace_id: str | None = None) -> Trace:
        """A new trace (version 1); ``InvalidInput`` if ``content`` is not JSON."""
        text, tag_t = self._content(content), normalize_tags(tags, self.limits)
        with self._lock:
            return self._t.create("add", text, tag_t, None, trace_id).to_trace()

    def add_idempotent(
        self, content: Any, tags: Any = None, *, trace_id: str | None = None
    ) -> Trace:
        """The oldest live trace holding this content (its replay count + 1, its content and
        tags kept), else a new one. Object key order does not make content different."""
        text, tag_t = self._content(content), normalize_tags(tags, self.limits)
        with self._lock:
            uid = self._t.content_index().find(content_key(text))
            if uid is None:
                return self._t.create("add", text, tag_t, None, trace_id).to_trace()
            count = self._t.head(uid).replay_count + 1
            return self._t.write("replay", uid, trace_id, None, replay_count=count).to_trace()

    def update(
        self, uid: str, content: Any, tags: Any = None, *, trace_id: str | None = None
    ) -> Trace:
        """Same uid, next version; tags kept unless given. ``Conflict`` if retired."""
        text = self._content(content)
        tag_t = None if tags is None else normalize_tags(tags, self.limits)
        with self._lock:
            prev = self._t.current_live(uid, "update")
            new_tags = list(prev.tags if tag_t is None else tag_t)
            state = self._t.write(
                "update", uid, trace_id, text, tags=new_tags, version=prev.version + 1
            )
            return state.to_trace()

    def revise(
        self, uid: str, content: Any, tags: Any = None, *, trace_id: str | None = None
    ) -> Trace:
        """A new trace whose predecessor is ``uid`` (tags inherited unless given).

        The predecessor is left as it is (retire it explicitly to hide it from search).
        """
        text = self._content(content)
        tag_t = None if tags is None else normalize_tags(tags, self.limits)
        with self._lock:
            prev = self._t.current(uid)
            new_tags = prev.tags if tag_t is None else tag_t
            return self._t.create("revise", text, new_tags, uid, trace_id).to_trace()

    def retire(self, uid: str, *, trace_id: str | None = None) -> Trace:
        """Hide ``uid`` from search for good; still readable. Retiring twice is a no-op."""
        with self._lock:
            prev = self._t.current(uid)
            if prev.retired:
                return prev.to_trace()
            state = self._t.write("retire", uid, trace_id, None)
            if self._vectors is not None:
                self._vectors.forget(uid)
            return state.to_trace()

    def revert(self, uid: str, version: int, *, trace_id: str | None = None) -> Trace:
        """A new version whose content and tags are those of ``version``.

        ``InvalidInput`` for a version that is not an integer >= 1 or is the current one;
        ``NotFound`` for a version the trace never had; ``Conflict`` if retired.
        """
        if type(version) is not int or version < 1:
            raise InvalidInput("version must be an integer >= 1")
        with self._lock:
            prev = self._t.current_live(uid, "revert")
            if version > prev.version:
                raise NotFound(f"trace {uid} has no version {version}", version=version)
            if version == prev.version:
                raise InvalidInput(f"trace {uid} is already at version {version}")
            target = next(s for s in self._t.records[uid] if s.version == version)
            fields = {"tags": list(target.tags), "version": prev.version + 1}
            state = self._t.write(
                "revert", uid, trace_id, target.content_json, **fields, reverted_from=version
            )
            return state.to_trace()

    # ---- reads --------------------------------------------------------------------------

    def get(self, uid: str, *, as_of: float | None = None) -> Trace:
        """The trace now, or as it stood at ``as_of``; ``NotFound`` if it did not exist."""
        when = check_time(as_of, "as_of")
        with self._lock:
            states = self._t.records.get(check_uid(uid, self.limits), [])
            states = hist.states_until(states, when)
            if not states:
                suffix = "" if when is None else " at that time"
                raise NotFound(f"trace {uid} not found{suffix}")
            return states[-1].to_trace()

    def history(self, uid: str, *, as_of: float | None = None) -> History:
        """Versions of ``uid`` and its predecessors, newest first (see ``History``)."""
        when = check_time(as_of, "as_of")
        with self._lock:
            found = hist.walk(
                self._t.records, check_uid(uid, self.limits), when, self.limits.max_history
            )
        if found is None:
            raise NotFound(f"trace {uid} not found")
        return found

    def search(
        self,
        text: str | None = None,
        tags: Any = None,
        since: float | None = None,
        until: float | None = None,
        k: int = 10,
    ) -> list[SearchHit]:
        """Live traces carrying every tag in ``tags``, last changed within [since, until],
        ranked by similarity to ``text`` when given (blank text counts as none), else most
        recently changed first."""
        query = srch.SearchQuery.parse(text, tags, since, until, k, self.limits)
        if query.text is not None and self._vectors is not None:

            def pick() -> list:
                return srch.candidates(query, self._t.search_index(), self._t.head)

            return semantic_search(self._lock, pick, self._vectors, query)
        with self._lock:
            rank = srch.recent if query.text is None else srch.lexical
            hits = rank(query, self._t.search_index(), self._t.head)
            return [SearchHit(state.to_trace(), score) for state, score in hits]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "traces": len(self._t.records),
                "live": self._t.live,
                "seq": self._t.seq,
                "compaction_failures": self._t.compaction_failures,
                "replay": self._t.replay_report.to_dict(),
            }

    # ---- log ----------------------------------------------------------------------------

    def compact(self) -> int:
        """Rewrite the log as one snapshot of every state (history is kept); returns events.

        Holds the store's lock while it writes: reads and writes wait for it.
        """
        with self._lock:
            return self._t.compact()

    def close(self) -> None:
        with self._lock:
            self._t.log.close()

    def _content(self, content: Any) -> str:
        return encode_content(content, self.limits)
