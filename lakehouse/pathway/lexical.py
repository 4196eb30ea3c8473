"""BM25 over words: the text search used when no embedder is configured.

Postings live in dicts (cheap to change on every write); each word's postings are also
kept as numpy arrays, rebuilt only after that word changed, so a query scores tens of
thousands of postings in a few vector operations instead of a Python loop.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

import numpy as np

_WORD = re.compile(r"\w+")
K1, B = 1.2, 0.75


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class LexicalIndex:
    """Documents (uid → text) scored by BM25 (k1=1.2, b=0.75) against a query."""

    def __init__(self) -> None:
        self.postings: dict[str, dict[int, int]] = {}  # word -> {slot: term frequency}
        self.slot_of: dict[str, int] = {}
        self.uid_at: list[str | None] = []
        self.lengths = np.zeros(1024, np.float64)
        self.total_length = 0
        self._free: list[int] = []
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.slot_of)

    def add(self, uid: str, text: str) -> None:
        if uid in self.slot_of:  # callers remove first; this only keeps the index sound
            self.remove(uid)
        slot = self._take_slot(uid)
        counts = Counter(tokenize(text))
        for word, tf in counts.items():
            self.postings.setdefault(word, {})[slot] = tf
            self._arrays.pop(word, None)
        length = sum(counts.values())
        self.lengths[slot] = length
        self.total_length += length

    def remove(self, uid: str, text: str | None = None) -> None:
        """Forget ``uid``; ``text`` (what it was added with) saves a walk over every word."""
        slot = self.slot_of.pop(uid, None)
        if slot is None:
            return
        words = set(tokenize(text)) if text is not None else list(self.postings)
        for word in words:
            docs = self.postings.get(word)
            if docs is not None and docs.pop(slot, None) is not None:
                self._arrays.pop(word, None)
                if not docs:
                    del self.postings[word]
        self.total_length -= int(self.lengths[slot])
        self.lengths[slot] = 0
        self.uid_at[slot] = None
        self._free.append(slot)

    def top(self, query: str, k: int, allowed: Callable[[str], bool]) -> list[tuple[str, float]]:
        """The ``k`` best ``(uid, score)`` among ``allowed`` uids sharing a word with ``query``.

        Equal scores are ordered by uid, so the answer does not depend on slot layout.
        """
        scores = self._scores(query)
        if scores is None:
            return []
        hits = np.flatnonzero(scores)
        order = hits[np.argsort(-scores[hits], kind="stable")]
        found: list[tuple[float, str]] = []
        for slot in order.tolist():
            score = float(scores[slot])
            if len(found) >= k and score < found[k - 1][0]:
                break
            uid = self.uid_at[slot]
            if uid is not None and allowed(uid):
                found.append((score, uid))
        found.sort(key=lambda hit: (-hit[0], hit[1]))
        return [(uid, score) for score, uid in found[:k]]

    def _scores(self, query: str) -> np.ndarray | None:
        n = len(self.slot_of)
        if n == 0:
            return None
        avg = self.total_length / n or 1.0
        scores = np.zeros(len(self.uid_at), np.float64)
        for word in sorted(set(tokenize(query))):  # fixed order: identical float sums
            if word not in self.postings:
                continue
            slots, tfs = self._array(word)
            idf = math.log(1 + (n - len(slots) + 0.5) / (len(slots) + 0.5))
            norm = tfs + K1 * (1 - B + B * self.lengths[slots] / avg)
            scores[slots] += idf * tfs * (K1 + 1) / norm
        return scores

    def _array(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        cached = self._arrays.get(word)
        if cached is None:
            docs = self.postings[word]
            slots = np.fromiter(docs.keys(), np.int64, len(docs))
            tfs = np.fromiter(docs.values(), np.float64, len(docs))
            cached = self._arrays[word] = (slots, tfs)
        return cached

    def _take_slot(self, uid: str) -> int:
        if self._free:
            slot = self._free.pop()
            self.uid_at[slot] = uid
        else:
            slot = len(self.uid_at)
            self.uid_at.append(uid)
            if slot >= len(self.lengths):
                self.lengths = np.concatenate([self.lengths, np.zeros(len(self.lengths))])
        self.slot_of[uid] = slot
        return slot
