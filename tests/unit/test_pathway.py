"""The pathway store: its operations, bad input, and a state machine with restarts."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    precondition,
    rule,
)

from actors.remote.facade import Facade
from lakehouse.errors import BadGateway, Conflict, InvalidInput, NotFound, StorageError, TooLarge
from lakehouse.pathway import (
    EventLog,
    ObjectStoreLog,
    PathwayLimits,
    PathwayStore,
    parse_content,
)
from lakehouse.pathway.lexical import K1, B, LexicalIndex
from lakehouse.storage.local import LocalStore
from tests.pathway_dirlog import LocalDirLog, open_dir
from tests.pathway_rules import PathwayRules


class Clock:
    """A clock that advances one second per reading, for exact as-of reads."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> PathwayStore:
    return open_dir(tmp_path / "log", clock=Clock())


def reopen(store: PathwayStore, tmp_path: Path, **kwargs) -> PathwayStore:
    store.close()
    return open_dir(tmp_path / "log", **kwargs)


def on_disk(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((tmp_path / "log").iterdir())}


# ---- operations -------------------------------------------------------------------------


def test_add_then_get_returns_the_trace(store: PathwayStore) -> None:
    made = store.add({"role": "forklift operator", "shift": "night"}, ["warehouse", "night"])
    got = store.get(made.uid)
    assert got == made
    assert got.content == {"role": "forklift operator", "shift": "night"}
    assert got.tags == ("night", "warehouse")
    assert (got.version, got.replay_count, got.retired, got.predecessor) == (1, 0, False, None)
    assert set(got.to_dict()) >= {"uid", "content", "tags", "version", "replay_count", "retired"}


def test_callers_get_copies_never_the_stored_object(store: PathwayStore) -> None:
    content = {"skills": ["cpr"]}
    made = store.add(content)
    content["skills"].append("phlebotomy")  # the caller's own object, after the add
    made.content["skills"].append("iv")  # the returned copy
    store.get(made.uid).content["skills"].append("acls")  # another returned copy
    assert store.get(made.uid).content == {"skills": ["cpr"]}


def test_add_idempotent_keeps_the_original_and_counts_replays(store: PathwayStore) -> None:
    first = store.add_idempotent({"a": 1, "b": [1, 2]}, ["x"])
    again = store.add_idempotent({"b": [1, 2], "a": 1}, ["other"])
    assert again.uid == first.uid
    assert again.replay_count == 1
    assert list(again.content) == ["a", "b"] and again.tags == ("x",)
    assert again.version == 1
    different = store.add_idempotent({"a": 1.0, "b": [1, 2]})
    assert different.uid != first.uid


def test_add_idempotent_ignores_retired_traces(store: PathwayStore) -> None:
    first = store.add_idempotent({"a": 1})
    store.retire(first.uid)
    fresh = store.add_idempotent({"a": 1})
    assert fresh.uid != first.uid and fresh.replay_count == 0


def test_update_keeps_the_old_version_in_history(store: PathwayStore) -> None:
    made = store.add({"v": 1}, ["t"])
    updated = store.update(made.uid, {"v": 2})
    assert (updated.uid, updated.version, updated.tags) == (made.uid, 2, ("t",))
    history = store.history(made.uid)
    assert [e.content for e in history.entries] == [{"v": 2}, {"v": 1}]
    assert history.complete


def test_revise_links_a_new_uid_to_its_predecessor(store: PathwayStore) -> None:
    made = store.add({"v": 1}, ["t"])
    revised = store.revise(made.uid, {"v": 2})
    assert revised.uid != made.uid and revised.predecessor == made.uid
    assert revised.tags == ("t",) and revised.version == 1
    history = store.history(revised.uid)
    assert [(e.uid, e.content) for e in history.entries] == [
        (revised.uid, {"v": 2}),
        (made.uid, {"v": 1}),
    ]
    assert history.complete


def test_retire_hides_from_search_but_not_from_reads(store: PathwayStore) -> None:
    made = store.add({"text": "forklift"}, ["wh"])
    store.retire(made.uid)
    assert store.search("forklift") == [] and store.search(tags=["wh"]) == []
    assert store.get(made.uid).retired
    assert store.history(made.uid).entries[0].retired
    assert store.retire(made.uid).retired  # retiring twice is a no-op, not an error


def test_revert_restores_an_earlier_version_as_a_new_one(store: PathwayStore) -> None:
    made = store.add({"v": 1}, ["one"])
    store.update(made.uid, {"v": 2}, ["two"])
    reverted = store.revert(made.uid, 1)
    assert (reverted.content, reverted.tags, reverted.version) == ({"v": 1}, ("one",), 3)
    assert [e.version for e in store.history(made.uid).entries] == [3, 2, 1]


def test_reads_as_of_a_past_time(store: PathwayStore) -> None:
    made = store.add({"v": 1})
    updated = store.update(made.uid, {"v": 2})
    store.retire(made.uid)
    assert store.get(made.uid, as_of=made.updated_at).content == {"v": 1}
    assert store.get(made.uid, as_of=updated.updated_at - 0.5).version == 1
    assert store.get(made.uid, as_of=updated.updated_at).content == {"v": 2}
    assert not store.get(made.uid, as_of=updated.updated_at).retired
    assert store.get(made.uid).retired
    assert [e.version for e in store.history(made.uid, as_of=made.updated_at).entries] == [1]
    with pytest.raises(NotFound):
        store.get(made.uid, as_of=made.created_at - 1)


def test_search_by_tags_and_time(store: PathwayStore) -> None:
    a = store.add({"n": "a"}, ["x", "y"])
    b = store.add({"n": "b"}, ["x"])
    c = store.add({"n": "c"}, ["y"])
    assert {h.trace.uid for h in store.search(tags=["x"])} == {a.uid, b.uid}
    assert [h.trace.uid for h in store.search(tags=["x", "y"])] == [a.uid]
    assert store.search(tags=["nope"]) == []
    window = store.search(since=b.updated_at, until=c.updated_at)
    assert [h.trace.uid for h in window] == [c.uid, b.uid]  # newest first
    assert all(h.score is None for h in window)
    assert len(store.search(k=2)) == 2


def test_recent_first_follows_the_last_change_across_a_restart(tmp_path: Path) -> None:
    store = open_dir(tmp_path / "log", clock=Clock())
    a, b, c = (store.add({"n": n}, ["all"] + (["odd"] if n % 2 else [])) for n in range(3))
    store.update(a.uid, {"n": 10})
    store.add_idempotent({"n": 1})  # a replay is a change too: b moves to the front
    order = [b.uid, a.uid, c.uid]
    assert [h.trace.uid for h in store.search()] == order
    again = reopen(store, tmp_path)
    assert [h.trace.uid for h in again.search()] == order
    assert [h.trace.uid for h in again.search(tags=["all"], k=2)] == order[:2]
    assert [h.trace.uid for h in again.search(tags=["odd"])] == [b.uid]
    a_changed = again.get(a.uid).updated_at
    assert [h.trace.uid for h in again.search(since=a_changed)] == order[:2]
    assert [h.trace.uid for h in again.search(until=a_changed)] == order[1:]
    for n in range(10):  # now "odd" is selective: its members are ranked directly
        again.add({"filler": n})
    assert [h.trace.uid for h in again.search(tags=["odd"])] == [b.uid]
    assert [h.trace.uid for h in again.search(tags=["all"], until=a_changed)] == order[1:]


def test_lexical_search_ranks_by_shared_words(store: PathwayStore) -> None:
    fork = store.add({"role": "forklift operator", "notes": "night shift forklift"})
    store.add({"role": "line cook", "notes": "grill"})
    nurse = store.add("registered nurse, night shift")
    hits = store.search("forklift at night")
    assert [h.trace.uid for h in hits] == [fork.uid, nurse.uid]
    assert hits[0].score > hits[1].score > 0
    assert store.search("astronaut") == []
    store.update(fork.uid, {"role": "cashier"})
    assert [h.trace.uid for h in store.search("forklift")] == []


def _bag_of_words(texts: list[str]) -> np.ndarray:
    vocab = ["forklift", "nurse", "cook", "night"]
    rows = [[t.lower().count(w) + 0.01 for w in vocab] for t in texts]
    arr = np.asarray(rows, dtype=np.float32)
    return arr / np.linalg.norm(arr, axis=1, keepdims=True)


def test_search_uses_the_embedder_when_given(tmp_path: Path) -> None:
    calls: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return _bag_of_words(texts)

    store = open_dir(tmp_path / "log", embedder=embed)
    nurse = store.add({"role": "nurse"})
    cook = store.add({"role": "cook"}, ["kitchen"])
    hits = store.search("a nurse please", k=2)
    assert [h.trace.uid for h in hits] == [nurse.uid, cook.uid]
    assert hits[0].score == pytest.approx(1.0, abs=0.05)
    assert [h.trace.uid for h in store.search("nurse", tags=["kitchen"])] == [cook.uid]
    assert calls == [3, 1]  # vectors are cached per version: only the query is new


def test_a_broken_embedder_is_a_bad_gateway(tmp_path: Path) -> None:
    store = open_dir(tmp_path / "log", embedder=lambda t: np.zeros((1, 3)) * np.nan)
    store.add({"a": "b"})
    with pytest.raises(BadGateway):
        store.search("anything")


def test_parse_content_rejects_text_that_is_not_json() -> None:
    assert parse_content('{"a": [1, 2]}') == {"a": [1, 2]}
    for bad in ("{not json", "NaN", "", "[1,]"):
        with pytest.raises(InvalidInput):
            parse_content(bad)


WORDS = ["forklift", "nurse", "night", "cook", "day", "osha"]


def _reference_bm25(docs: dict[str, list[str]], query: str, k: int) -> list[tuple[str, float]]:
    n = len(docs)
    avg = sum(len(d) for d in docs.values()) / n or 1.0
    scores: dict[str, float] = {}
    for word in sorted(set(query.split())):
        df = sum(1 for d in docs.values() if word in d)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for uid, d in docs.items():
            tf = d.count(word)
            if tf:
                norm = tf + K1 * (1 - B + B * len(d) / avg)
                scores[uid] = scores.get(uid, 0.0) + idf * tf * (K1 + 1) / norm
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:k]


@settings(max_examples=50, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.lists(st.sampled_from(WORDS), max_size=6)),
        max_size=40,
    ),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    k=st.integers(1, 5),
)
def test_lexical_index_matches_a_plain_bm25(ops, query, k) -> None:
    index, docs = LexicalIndex(), {}
    for uid, words in ops:  # an empty word list removes the document (slots get reused)
        if uid in docs:
            index.remove(uid, " ".join(docs.pop(uid)))
        if words:
            index.add(uid, " ".join(words))
            docs[uid] = words
    text = " ".join(query)
    got = index.top(text, k, lambda uid: True)
    want = _reference_bm25(docs, text, k) if docs else []
    assert [u for u, _ in got] == [u for u, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want])


# ---- bad input: the error and nothing changed ------------------------------------------


BAD_WRITES = [
    ("add", lambda s, uid: s.add({1: "int key"}), InvalidInput),
    ("add", lambda s, uid: s.add({"x": float("nan")}), InvalidInput),
    ("add", lambda s, uid: s.add({"x": {1, 2}}), InvalidInput),
    ("add", lambda s, uid: s.add(object()), InvalidInput),
    ("add", lambda s, uid: s.add({"x": "y"}, "not-a-list"), InvalidInput),
    ("add", lambda s, uid: s.add({"x": "y"}, [""]), InvalidInput),
    ("add", lambda s, uid: s.add({"x": "y" * 70_000}), TooLarge),
    ("add", lambda s, uid: s.add({"x": "y"}, trace_id=5), InvalidInput),
    ("deep", lambda s, uid: s.add(_nested(100)), InvalidInput),
    ("update", lambda s, uid: s.update("no-such-uid", {"x": 1}), NotFound),
    ("update", lambda s, uid: s.update(uid, {"x": float("inf")}), InvalidInput),
    ("update", lambda s, uid: s.update(123, {"x": 1}), InvalidInput),
    ("revise", lambda s, uid: s.revise("no-such-uid", {"x": 1}), NotFound),
    ("retire", lambda s, uid: s.retire("no-such-uid"), NotFound),
    ("revert", lambda s, uid: s.revert(uid, 0), InvalidInput),
    ("revert", lambda s, uid: s.revert(uid, "1"), InvalidInput),
    ("revert", lambda s, uid: s.revert(uid, 2), InvalidInput),  # already at version 2
    ("revert", lambda s, uid: s.revert(uid, 9), NotFound),
    ("revert", lambda s, uid: s.revert("no-such-uid", 1), NotFound),
    ("get", lambda s, uid: s.get("no-such-uid"), NotFound),
    ("get", lambda s, uid: s.get(uid, as_of=float("nan")), InvalidInput),
    ("history", lambda s, uid: s.history("no-such-uid"), NotFound),
    ("search", lambda s, uid: s.search(k=0), InvalidInput),
    ("search", lambda s, uid: s.search(k=10_000), InvalidInput),
    ("search", lambda s, uid: s.search(since=5, until=4), InvalidInput),
    ("search", lambda s, uid: s.search(text=["x"]), InvalidInput),
]


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value


@pytest.mark.parametrize(("name", "call", "error"), BAD_WRITES, ids=[b[0] for b in BAD_WRITES])
def test_bad_input_is_refused_and_changes_nothing(tmp_path: Path, name, call, error) -> None:
    store = open_dir(tmp_path / "log", clock=Clock())
    uid = store.add({"x": 1}, ["t"]).uid
    store.update(uid, {"x": 2})
    before = (store.stats(), store.get(uid), on_disk(tmp_path))
    with pytest.raises(error):
        call(store, uid)
    assert (store.stats(), store.get(uid), on_disk(tmp_path)) == before
    assert reopen(store, tmp_path).get(uid) == before[1]


def test_writes_to_a_retired_trace_conflict_and_change_nothing(store, tmp_path) -> None:
    uid = store.add({"x": 1}).uid
    store.update(uid, {"x": 2})
    store.retire(uid)
    before = (store.stats(), store.get(uid), on_disk(tmp_path))
    for write in (lambda: store.update(uid, {"x": 3}), lambda: store.revert(uid, 1)):
        with pytest.raises(Conflict):
            write()
    assert (store.stats(), store.get(uid), on_disk(tmp_path)) == before


class FailingLog(EventLog):
    def __init__(self) -> None:
        super().__init__(1 << 20)

    def read(self, report):
        return iter(())

    def append(self, line: bytes) -> None:
        raise StorageError("disk full")

    def write_snapshot(self, lines) -> None:
        raise StorageError("disk full")

    def close(self) -> None:
        pass


def test_a_failed_append_is_an_error_and_memory_stays_as_it_was() -> None:
    store = PathwayStore(FailingLog())
    with pytest.raises(StorageError):
        store.add({"x": 1})
    assert store.stats()["traces"] == 0 and store.search() == []


# ---- the state machine ------------------------------------------------------------------


class PathwayMachine(PathwayRules):
    """The store, restarted (rebuilt from its log) at random points, torn tails, compaction."""

    def __init__(self) -> None:
        super().__init__()
        self.torn = 0  # torn lines in the tail: reported at every replay until compaction

    def open_store(self) -> Facade:
        self.dir = Path(tempfile.mkdtemp(prefix="pathway-machine-"))
        return Facade(self.make())

    def make(self) -> PathwayStore:
        return PathwayStore(LocalDirLog(self.dir, compact_after=None))

    @rule()
    def restart(self):
        # A crash: every acknowledged write was fsynced, so closing the descriptor loses
        # nothing a killed process would have kept; the new store sees only the directory.
        self.store.target.close()
        self.store = Facade(self.make())
        assert self.store.target.replay_report.skipped == self.torn

    @rule()
    def restart_after_torn_write(self):
        self.store.target.close()
        with open(self.dir / LocalDirLog.TAIL, "ab") as fh:
            fh.write(b'{"schema":"pathway.event.v1","seq":999999,"op":"ad')
        self.torn += 1
        self.store = Facade(self.make())
        assert self.store.target.replay_report.skipped_corrupt == self.torn

    @precondition(lambda self: len(self.model) > 0)
    @rule()
    def compact(self):
        self.call("compact")
        self.torn = 0

    def teardown(self):
        if hasattr(self, "store"):
            self.store.target.close()
            shutil.rmtree(self.dir, ignore_errors=True)


PathwayMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPathwayMachine = PathwayMachine.TestCase


class ObjectStoreMachine(PathwayMachine):
    """The same machine over the object-store log: segments as objects, a listing cap of 8
    (so replay pages), and compaction every 10 segments."""

    def make(self) -> PathwayStore:
        objects = LocalStore(self.dir / "objects", self.dir / "tmp", 1 << 20, 8)
        return PathwayStore(ObjectStoreLog(objects, "pathway", max_segments=10))

    # Object puts are atomic, so there is no torn segment to write; a corrupt segment is
    # tested in test_pathway_log.py. This plain method replaces (and so drops) the rule.
    def restart_after_torn_write(self):
        raise AssertionError("not a rule of this machine")


ObjectStoreMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestObjectStoreMachine = ObjectStoreMachine.TestCase


def test_limits_are_configurable(tmp_path: Path) -> None:
    store = open_dir(tmp_path / "log", limits=PathwayLimits(max_tags=1))
    with pytest.raises(InvalidInput):
        store.add({"x": 1}, ["a", "b"])
