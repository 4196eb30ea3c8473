"""Search requests: their checks, candidate selection, and the lexical and recent rankings."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakehouse.errors import InvalidInput
from lakehouse.pathway.events import State
from lakehouse.pathway.index import SearchIndex
from lakehouse.pathway.trace import PathwayLimits, check_time, normalize_tags


@dataclass(frozen=True)
class SearchQuery:
    """A checked search: optional text, required tags, a window on ``updated_at``, and k."""

    text: str | None
    tags: tuple[str, ...]
    since: float | None
    until: float | None
    k: int

    @classmethod
    def parse(
        cls, text: Any, tags: Any, since: Any, until: Any, k: Any, limits: PathwayLimits
    ) -> SearchQuery:
        if text is not None and not isinstance(text, str):
            raise InvalidInput("text must be a string")
        if text is not None and len(text) > limits.max_text_chars:
            raise InvalidInput(f"text is longer than {limits.max_text_chars} characters")
        if type(k) is not int or not 1 <= k <= limits.max_k:
            raise InvalidInput(f"k must be an integer in 1..{limits.max_k}")
        lo, hi = check_time(since, "since"), check_time(until, "until")
        if lo is not None and hi is not None and lo > hi:
            raise InvalidInput("since is after until")
        # Blank text is treated as absent: the search is then by tags and time only.
        clean = text.strip() if text else None
        return cls(clean or None, normalize_tags(tags, limits), lo, hi, k)

    def in_window(self, state: State) -> bool:
        return (self.since is None or state.ts >= self.since) and (
            self.until is None or state.ts <= self.until
        )

    @property
    def windowed(self) -> bool:
        return self.since is not None or self.until is not None


def allowed_fn(
    query: SearchQuery, index: SearchIndex, head: Callable[[str], State]
) -> Callable[[str], bool]:
    """Membership test for the uids a search may return (live, tagged, in the window)."""
    tagged = index.candidates(query.tags)
    if tagged is None and not query.windowed:
        return index.live.__contains__
    pool = index.live if tagged is None else tagged
    return lambda uid: uid in pool and query.in_window(head(uid))


def candidates(query: SearchQuery, index: SearchIndex, head: Callable[[str], State]) -> list[State]:
    """Every state a search may return, as a list."""
    tagged = index.candidates(query.tags)
    pool = index.live if tagged is None else tagged
    states = (head(uid) for uid in pool)
    return [s for s in states if query.in_window(s)] if query.windowed else list(states)


def lexical(
    query: SearchQuery, index: SearchIndex, head: Callable[[str], State]
) -> list[tuple[State, float | None]]:
    assert query.text is not None
    hits = index.words.top(query.text, query.k, allowed_fn(query, index, head))
    return [(head(uid), score) for uid, score in hits]


def recent(
    query: SearchQuery, index: SearchIndex, head: Callable[[str], State]
) -> list[tuple[State, float | None]]:
    """Without text: the most recently changed matches first."""
    tagged = index.candidates(query.tags)
    if tagged is not None and len(tagged) ** 2 < query.k * len(index.recency):
        # Walking newest-first would visit about k * live / len(tagged) uids: for a
        # selective tag it is cheaper to rank the tagged uids directly.
        best = heapq.nlargest(query.k, candidates(query, index, head), key=lambda s: (s.ts, s.seq))
        return [(s, None) for s in best]
    out: list[tuple[State, float | None]] = []
    for uid in reversed(index.recency):  # newest first, in ts order
        state = head(uid)
        if query.since is not None and state.ts < query.since:
            break
        if (query.until is not None and state.ts > query.until) or (
            tagged is not None and uid not in tagged
        ):
            continue
        out.append((state, None))
        if len(out) == query.k:
            break
    return out
