"""The pathway store's rules as one hypothesis state machine against a dict model.

Run over the core (``tests/unit/test_pathway.py``: restarted from its log, torn tails,
compaction) and over the actor (``tests/ray/test_pathway_actor.py``: killed and restarted by
Ray). A subclass opens ``self.store`` (a ``Facade`` over a store or an actor) in
``open_store`` and adds its own restart rules; ``self.events`` counts logged events.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from actors.remote.facade import Facade
from lakehouse.errors import Conflict, InvalidInput, NotFound

CONTENT = st.dictionaries(
    st.sampled_from(["role", "city", "note"]),
    st.one_of(st.sampled_from(["cook", "nurse", "forklift night", "x"]), st.integers(0, 3)),
    max_size=2,
)
TAGS = st.lists(st.sampled_from(["a", "b", "c"]), max_size=2)


def canonical(content: object) -> str:
    return json.dumps(content, sort_keys=True)


def canonical_tags(tags) -> tuple[str, ...]:
    return tuple(sorted(set(tags)))


class PathwayRules(RuleBasedStateMachine):
    traces = Bundle("traces")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, dict] = {}
        self.events = 0

    def open_store(self) -> Facade:
        raise NotImplementedError

    def call(self, method: str, *args, **kwargs):
        return self.store.call_sync(method, *args, **kwargs)

    @initialize(target=traces)
    def open(self):
        self.store = self.open_store()
        return self._record(self.call("add", {"seed": 1}, ["a"]), None)

    def _record(self, trace, predecessor):
        self.events += 1
        self.model[trace.uid] = {
            "versions": [(trace.content, trace.tags)],
            "replays": 0,
            "retired": False,
            "predecessor": predecessor,
            "created": trace.created_at,
        }
        return trace.uid

    @rule(target=traces, content=CONTENT, tags=TAGS)
    def add(self, content, tags):
        return self._record(self.call("add", content, tags), None)

    @rule(target=traces, content=CONTENT, tags=TAGS)
    def add_idempotent(self, content, tags):
        holders = [
            (m["created"], uid)
            for uid, m in self.model.items()
            if not m["retired"] and canonical(m["versions"][-1][0]) == canonical(content)
        ]
        got = self.call("add_idempotent", content, tags)
        if not holders:
            assert got.replay_count == 0
            return self._record(got, None)
        expected = min(holders)[1]
        assert got.uid == expected
        self.model[expected]["replays"] += 1
        self.events += 1
        return expected

    @rule(uid=traces, content=CONTENT, tags=st.none() | TAGS)
    def update(self, uid, content, tags):
        m = self.model[uid]
        if m["retired"]:
            with pytest.raises(Conflict):
                self.call("update", uid, content, tags)
            return
        self.call("update", uid, content, tags)
        new_tags = m["versions"][-1][1] if tags is None else canonical_tags(tags)
        m["versions"].append((content, new_tags))
        self.events += 1

    @rule(target=traces, uid=traces, content=CONTENT)
    def revise(self, uid, content):
        got = self.call("revise", uid, content)
        assert got.tags == self.model[uid]["versions"][-1][1]
        return self._record(got, uid)

    @rule(uid=traces)
    def retire(self, uid):
        self.call("retire", uid)
        if not self.model[uid]["retired"]:
            self.model[uid]["retired"] = True
            self.events += 1

    @rule(uid=traces, data=st.data())
    def revert(self, uid, data):
        m = self.model[uid]
        current = len(m["versions"])
        version = data.draw(st.integers(1, current + 1))
        if m["retired"]:
            error = Conflict
        elif version > current:
            error = NotFound
        elif version == current:
            error = InvalidInput
        else:
            self.call("revert", uid, version)
            m["versions"].append(m["versions"][version - 1])
            self.events += 1
            return
        with pytest.raises(error):
            self.call("revert", uid, version)

    @invariant()
    def matches_model(self):
        if not hasattr(self, "store"):
            return
        for uid, m in self.model.items():
            got = self.call("get", uid)
            content, tags = m["versions"][-1]
            assert (got.content, got.tags) == (content, canonical_tags(tags))
            assert got.version == len(m["versions"])
            assert (got.replay_count, got.retired) == (m["replays"], m["retired"])
            assert got.predecessor == m["predecessor"]
        live = {uid for uid, m in self.model.items() if not m["retired"]}
        assert {h.trace.uid for h in self.call("search", k=1000)} == live

    @invariant()
    def history_walks_the_chain(self):
        if not hasattr(self, "store") or not self.model:
            return
        uid = max(self.model, key=lambda u: self.model[u]["created"])
        expected, current = 0, uid
        while current is not None:
            expected += len(self.model[current]["versions"])
            current = self.model[current]["predecessor"]
        history = self.call("history", uid)
        assert history.complete and len(history.entries) == expected
