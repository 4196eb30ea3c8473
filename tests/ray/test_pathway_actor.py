"""The pathway and observer actors: congruent with their cores, and they survive being
killed (Ray restarts them; ``__init__`` replays the pathway log / reloads the ring)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
import ray
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from actors.facade import Facade
from actors.observer import observer_actor
from actors.pathway import PathwayActor, pathway_actor
from lakehouse.errors import Conflict, InvalidInput, NotFound, Unavailable
from lakehouse.settings import Settings

pytestmark = pytest.mark.usefixtures("ray_session")
RESTART_TIMEOUT_S = 60.0


def scenario(store: Facade) -> list:
    """Same calls, same answers, whatever runs the store."""
    out: list = []
    a = store.call_sync("add", {"role": "night cook"}, ["food"], trace_id="t-1")
    out.append(a)
    out.append(store.call_sync("add_idempotent", {"role": "night cook"}))
    out.append(store.call_sync("update", a.uid, {"role": "chef"}))
    revised = store.call_sync("revise", a.uid, {"role": "head cook"}, ["kitchen"])
    out.append(revised)
    out.append(store.call_sync("revert", a.uid, 1))
    out.append(store.call_sync("retire", revised.uid))
    out.append(store.call_sync("get", a.uid))
    out.append(store.call_sync("history", revised.uid))
    out.append(store.call_sync("search", "cook", None, None, None, 10))
    out.append(store.call_sync("search", None, ["food"], None, None, 10))
    for name, args in [
        ("get", ("missing",)),
        ("update", (revised.uid, {"x": 1})),
        ("revert", (a.uid, 3)),
        ("revert", (a.uid, 9)),
        ("add", (float("nan"),)),
        ("search", (None, None, None, None, 0)),
    ]:
        try:
            store.call_sync(name, *args)
        except (NotFound, Conflict, InvalidInput) as exc:
            out.append((type(exc).__name__, exc.status))
    status = store.call_sync("status")
    out.append({k: status[k] for k in ("traces", "live", "seq")})
    return out


def normalise(results: list) -> list:
    """Wire forms with uids renamed in order of appearance and timestamps dropped."""
    names: dict[str, str] = {}

    def strip(item):
        if hasattr(item, "to_dict"):
            return strip(item.to_dict())
        if isinstance(item, list):
            return [strip(i) for i in item]
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items() if k not in ("created_at", "updated_at")}
        if isinstance(item, str) and len(item) == 36 and item.count("-") == 4:
            return names.setdefault(item, f"uid{len(names)}")
        return item

    return [strip(r) for r in results]


def test_congruence_core_vs_actor(settings, tmp_path):
    actor_settings = settings.model_copy(update={"data_dir": tmp_path / "actor-data"})
    plain = scenario(Facade(PathwayActor(settings)))
    handle = pathway_actor(actor_settings)
    remote = scenario(Facade(handle))
    ray.kill(handle, no_restart=True)
    assert normalise(plain) == normalise(remote)
    errors = [r for r in plain if isinstance(r, tuple)]
    assert errors == [
        ("NotFound", 404),
        ("Conflict", 409),
        ("InvalidInput", 400),
        ("NotFound", 404),
        ("InvalidInput", 400),
        ("InvalidInput", 400),
    ]
    hits = normalise([plain[8]])[0]
    assert [h["trace"]["uid"] for h in hits] == ["uid0"]  # the retired revision is left out


def restarted(store: Facade, old_pid: int) -> dict:
    """Wait for the killed actor's successor; its status (pid differs from ``old_pid``)."""
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            status = store.call_sync("status")
        except Unavailable:
            status = None
        if status is not None and status["pid"] != old_pid:
            return status
        time.sleep(0.05)
    raise AssertionError("the actor did not come back")


def test_killed_actor_replays_every_acknowledged_write(settings):
    store = Facade(pathway_actor(settings))
    uids = []
    for i in range(5):
        uids.append(store.call_sync("add", {"i": i}, ["t"]).uid)
        if i in (1, 3):
            pid = store.call_sync("status")["pid"]
            ray.kill(store.target, no_restart=False)
            status = restarted(store, pid)
            assert status["replay"]["log_events"] == i + 1 and status["replay"]["skipped"] == 0
    hits = store.call_sync("search", None, ["t"], None, None, 10)
    assert sorted(h.trace.uid for h in hits) == sorted(uids)
    ray.kill(store.target, no_restart=True)


@pytest.mark.s3
def test_the_pathway_log_lives_in_the_object_store_and_replays_from_s3(s3_settings):
    first = PathwayActor(s3_settings)
    trace = first.add({"where": "s3"}, ["cloud"])
    first.update(trace.uid, {"where": "still s3"})
    again = PathwayActor(s3_settings)
    assert again.get(trace.uid) == first.get(trace.uid)
    assert again.status()["replay"]["log_events"] == 2


CONTENT = st.dictionaries(
    st.sampled_from(["role", "city"]),
    st.one_of(st.sampled_from(["cook", "nurse", "forklift night"]), st.integers(0, 2)),
    max_size=2,
)
TAGS = st.lists(st.sampled_from(["a", "b"]), max_size=2)


def canonical_tags(tags) -> tuple[str, ...]:
    return tuple(sorted(set(tags)))


class PathwayActorMachine(RuleBasedStateMachine):
    """The actor against a dict model; a rule kills the actor at random points and Ray
    restarts it, replaying the log. Every example gets its own data dir, hence its own
    actor (the name derives from the store's location)."""

    traces = Bundle("traces")

    @initialize(target=traces)
    def open(self):
        self.model: dict[str, dict] = {}
        self.events = 0
        self.dir = Path(tempfile.mkdtemp(prefix="pathway-actor-machine-"))
        self.store = Facade(pathway_actor(Settings(data_dir=self.dir / "data")))
        self.pid = self.store.call_sync("status")["pid"]
        return self._record(self.store.call_sync("add", {"seed": 1}, ["a"]), None)

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
        return self._record(self.store.call_sync("add", content, tags), None)

    @rule(target=traces, content=CONTENT)
    def add_idempotent(self, content):
        holders = [
            (m["created"], uid)
            for uid, m in self.model.items()
            if not m["retired"] and m["versions"][-1][0] == content
        ]
        got = self.store.call_sync("add_idempotent", content)
        if not holders:
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
                self.store.call_sync("update", uid, content, tags)
            return
        self.store.call_sync("update", uid, content, tags)
        new_tags = m["versions"][-1][1] if tags is None else canonical_tags(tags)
        m["versions"].append((content, new_tags))
        self.events += 1

    @rule(target=traces, uid=traces, content=CONTENT)
    def revise(self, uid, content):
        return self._record(self.store.call_sync("revise", uid, content), uid)

    @rule(uid=traces)
    def retire(self, uid):
        self.store.call_sync("retire", uid)
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
            self.store.call_sync("revert", uid, version)
            m["versions"].append(m["versions"][version - 1])
            self.events += 1
            return
        with pytest.raises(error):
            self.store.call_sync("revert", uid, version)

    @rule()
    def kill_and_restart(self):
        ray.kill(self.store.target, no_restart=False)
        status = restarted(self.store, self.pid)
        self.pid = status["pid"]
        replay = status["replay"]
        assert replay["skipped"] == 0
        assert replay["snapshot_events"] + replay["log_events"] == self.events

    @invariant()
    def matches_model(self):
        if not hasattr(self, "store"):
            return
        for uid, m in self.model.items():
            got = self.store.call_sync("get", uid)
            content, tags = m["versions"][-1]
            assert (got.content, got.tags) == (content, canonical_tags(tags))
            assert got.version == len(m["versions"])
            assert (got.replay_count, got.retired) == (m["replays"], m["retired"])
            assert got.predecessor == m["predecessor"]
        live = {uid for uid, m in self.model.items() if not m["retired"]}
        hits = self.store.call_sync("search", None, None, None, None, 1000)
        assert {h.trace.uid for h in hits} == live

    def teardown(self):
        if hasattr(self, "store"):
            ray.kill(self.store.target, no_restart=True)
            shutil.rmtree(self.dir, ignore_errors=True)


PathwayActorMachine.TestCase.settings = hsettings(
    max_examples=10,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPathwayActorMachine = PathwayActorMachine.TestCase


def test_observer_ring_evicts_the_oldest_under_concurrent_writers(settings):
    small = settings.model_copy(update={"observer_capacity": 50})
    handle = observer_actor(small)
    writers, per_writer = 4, 60
    refs: list = []
    lock = threading.Lock()

    def write(w: int) -> None:
        mine = [handle.emit.remote("load.test", {"i": i}, f"writer-{w}") for i in range(per_writer)]
        with lock:
            refs.extend(mine)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = writers * per_writer
    assert sorted(e.id for e in ray.get(refs)) == list(range(1, total + 1))
    stats = ray.get(handle.stats.remote())["ring"]
    assert (stats["size"], stats["emitted"], stats["evicted"]) == (50, total, total - 50)
    assert (stats["persisted"], stats["persist_failures"]) == (total, 0)
    kept = [e.id for e in ray.get(handle.query.remote(limit=1000))]
    assert kept == list(range(total, total - 50, -1))  # the newest 50, newest first
    per_writer_kept = ray.get(handle.query.remote(trace_id="writer-0", limit=1000))
    assert all(e.trace_id == "writer-0" for e in per_writer_kept)

    ray.kill(handle, no_restart=False)  # the successor reloads the ring from its JSONL
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while ray.get(handle.stats.remote())["ring"]["emitted"] != 0:
        assert time.monotonic() < deadline, "the observer actor did not come back"
        time.sleep(0.05)
    assert [e.id for e in ray.get(handle.query.remote(limit=1000))] == kept
    ray.kill(handle, no_restart=True)
