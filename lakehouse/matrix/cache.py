"""The repeat-query cache: bounded LRU with a TTL, invalidated per corpus.

Each entry remembers the corpora it covers (and whether the playbook shaped it). A write
to a corpus drops every entry covering it; a playbook record drops every entry that used
the playbook. A search that overlapped a write must not store a stale answer: ``token``
captures per-corpus generations before the search and ``put`` refuses if any moved.

The cache is per process (per Serve replica): writes through another replica, or by the
bulk embed job, reach this cache only through the TTL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

PLAYBOOK = "\x00playbook"  # a pseudo-corpus name no real corpus can have


class QueryCache:
    def __init__(
        self,
        max_entries: int = 1024,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries, self.ttl_s, self.clock = max_entries, ttl_s, clock
        self._entries: OrderedDict[Hashable, tuple[frozenset[str], float, Any]] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] < self.clock():
                self._entries.pop(key, None)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def token(self, covers: Iterable[str]) -> tuple[tuple[str, int], ...]:
        with self._lock:
            return tuple((c, self._generations.get(c, 0)) for c in sorted(set(covers)))

    def put(self, key: Hashable, token: tuple[tuple[str, int], ...], value: Any) -> bool:
        """Store ``value`` unless a covered corpus was written since ``token`` was taken."""
        if self.max_entries <= 0:
            return False
        with self._lock:
            if any(self._generations.get(c, 0) != g for c, g in token):
                return False
            covers = frozenset(c for c, _ in token)
            self._entries[key] = (covers, self.clock() + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return True

    def invalidate(self, corpus: str) -> int:
        """Drop every entry covering ``corpus``; returns how many."""
        with self._lock:
            self._generations[corpus] = self._generations.get(corpus, 0) + 1
            stale = [k for k, (covers, _, _) in self._entries.items() if corpus in covers]
            for key in stale:
                del self._entries[key]
            return len(stale)

    def __len__(self) -> int:
        return len(self._entries)
