"""History walks and reads as of a past time, over the per-uid lists of states."""

from __future__ import annotations

from bisect import bisect_right

from lakehouse.pathway.events import State
from lakehouse.pathway.trace import History


def states_until(states: list[State], as_of: float | None) -> list[State]:
    """The prefix of ``states`` (oldest first, non-decreasing ``ts``) that began by ``as_of``."""
    if as_of is None:
        return states
    return states[: bisect_right(states, as_of, key=lambda s: s.ts)]


def version_heads(states: list[State]) -> list[State]:
    """The last state of each version, newest version first."""
    heads: list[State] = []
    for state in reversed(states):
        if not heads or state.version != heads[-1].version:
            heads.append(state)
    return heads


def walk(
    records: dict[str, list[State]], uid: str, as_of: float | None, max_entries: int
) -> History | None:
    """Versions of ``uid`` then of its predecessors; None if ``uid`` did not exist by then.

    The walk never loops: a uid met twice ends it with ``cycle_at``; a predecessor with no
    states ends it with ``missing_predecessor``; ``max_entries`` ends it with ``truncated``.
    """
    entries = []
    seen: set[str] = set()
    current: str | None = uid
    while current is not None:
        if current in seen:
            return History(uid, entries, cycle_at=current)
        seen.add(current)
        states = states_until(records.get(current, []), as_of)
        if not states:
            if current == uid:
                return None
            return History(uid, entries, missing_predecessor=current)
        for state in version_heads(states):
            if len(entries) >= max_entries:
                return History(uid, entries, truncated=True)
            entries.append(state.to_trace())
        current = states[-1].predecessor
    return History(uid, entries)
