"""Derived indexes over the live (not retired) traces: recency, tags, words, content identity.

They are rebuilt from the stored states on first use after a replay (so a restart does
not pay for them up front) and then kept current on every write.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from typing import Any

from lakehouse.pathway.events import State
from lakehouse.pathway.lexical import LexicalIndex
from lakehouse.pathway.trace import content_key


def content_text(content_json: str) -> str:
    """The words of a trace: its string values in document order.

    Object keys are left out: they name the schema, which every trace of a kind shares,
    so they would match every query that mentions a field name.
    """
    parts: list[str] = []
    stack: list[Any] = [json.loads(content_json)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(item.values()))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return " ".join(parts)


class SearchIndex:
    """Live uids in order of last change, tag postings, and the word index."""

    def __init__(self, states: Iterable[State]) -> None:
        # Insertion-ordered: the newest change is last. Timestamps never go backwards on
        # write, so sorting the replayed heads once by (ts, seq) keeps it in ts order.
        self.recency: dict[str, None] = {}
        self.tags: dict[str, set[str]] = {}
        self.words = LexicalIndex()
        for state in sorted(states, key=lambda s: (s.ts, s.seq)):
            self.put(None, state)

    @property
    def live(self) -> dict[str, None]:
        return self.recency

    def put(self, old: State | None, new: State) -> None:
        """Move ``new.uid`` from ``old`` (its previous state, if any) to ``new``."""
        self.recency.pop(new.uid, None)
        if not new.retired:
            self.recency[new.uid] = None
        if _same_entry(old, new):
            return
        if old is not None and not old.retired:
            self._drop(old)
        if not new.retired:
            for tag in new.tags:
                self.tags.setdefault(tag, set()).add(new.uid)
            self.words.add(new.uid, content_text(new.content_json))

    def candidates(self, tags: tuple[str, ...]) -> set[str] | None:
        """Live uids carrying every tag in ``tags``; None means every live uid."""
        if not tags:
            return None
        sets = sorted((self.tags.get(t, set()) for t in tags), key=len)
        return set.intersection(*sets) if sets[0] else set()

    def _drop(self, old: State) -> None:
        for tag in old.tags:
            members = self.tags.get(tag)
            if members is not None:
                members.discard(old.uid)
                if not members:
                    del self.tags[tag]
        self.words.remove(old.uid, content_text(old.content_json))


class ContentIndex:
    """Content identity → live uids holding it, oldest-created first, for add-idempotent.

    "Oldest created" (``created_at``, then uid) rather than "first to get the content"
    keeps the choice the same before and after a restart rebuilds the index.
    """

    def __init__(self, states: Iterable[State]) -> None:
        self.by_key: dict[str, list[tuple[float, str]]] = {}
        self.key_of: dict[str, str] = {}
        for state in states:
            self.put(None, state)

    def find(self, key: str) -> str | None:
        holders = self.by_key.get(key)
        return holders[0][1] if holders else None

    def put(self, old: State | None, state: State) -> None:
        if _same_entry(old, state):
            return
        rank = (state.created_at, state.uid)
        old_key = self.key_of.pop(state.uid, None)
        if old_key is not None:
            holders = self.by_key[old_key]
            holders.remove(rank)
            if not holders:
                del self.by_key[old_key]
        if not state.retired:
            key = content_key(state.content_json)
            self.key_of[state.uid] = key
            bisect.insort(self.by_key.setdefault(key, []), rank)


def _same_entry(old: State | None, new: State) -> bool:
    # A replay bump changes neither content, tags nor liveness: nothing to re-index.
    return (
        old is not None
        and old.retired == new.retired
        and old.content_json is new.content_json
        and old.tags == new.tags
    )
