"""The repeat-query cache: a bounded LRU with a TTL whose entries carry their generations.

Each entry remembers the generation (``lakehouse.vectors.api``) of every corpus it covers,
as the shards reported it with the answer. A hit is served only if those generations are
still current, so a write through any path (another replica, the bulk job, a playbook
record) makes the next lookup a miss: the router re-learns a generation at most
``fresh_s`` after it last saw one (``MatrixConfig.fresh_s``). The TTL only bounds memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from lakehouse.vectors.api import Generation

Token = Mapping[str, Generation]


class QueryCache:
    def __init__(
        self,
        max_entries: int = 1024,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries, self.ttl_s, self.clock = max_entries, ttl_s, clock
        self._entries: OrderedDict[Hashable, tuple[dict[str, Generation], float, Any]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def peek(self, key: Hashable) -> tuple[dict[str, Generation], Any] | None:
        """``(token, value)`` of a live entry; the caller checks the token is current."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] < self.clock():
                self._entries.pop(key, None)
                return None
            return entry[0], entry[2]

    def served(self, key: Hashable, hit: bool) -> None:
        """Count a lookup; a stale entry (``hit`` False) is dropped."""
        with self._lock:
            if hit:
                self.hits += 1
                if key in self._entries:
                    self._entries.move_to_end(key)
                return
            self.misses += 1
            self._entries.pop(key, None)

    def put(self, key: Hashable, token: Token, value: Any) -> bool:
        """Store ``value`` as computed at the generations in ``token``."""
        if self.max_entries <= 0:
            return False
        with self._lock:
            self._entries[key] = (dict(token), self.clock() + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def current(token: Mapping[str, Generation], now: Mapping[str, Generation | None]) -> bool:
    """True if every corpus in ``token`` is known now and still at its generation."""
    return all(now.get(name) is not None and now[name] == gen for name, gen in token.items())
