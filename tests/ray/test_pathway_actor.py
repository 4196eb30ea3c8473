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
from hypothesis.stateful import (
    rule,
)

from actors.observer import observer_actor
from actors.pathway import PathwayActor, pathway_actor
from actors.remote.facade import Facade
from lakehouse.errors import Conflict, InvalidInput, NotFound, Unavailable
from lakehouse.settings import Settings
from tests.pathway_rules import PathwayRules

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


class PathwayActorMachine(PathwayRules):
    """The actor; a rule kills it at random points and Ray restarts it, replaying the log.
    Every example gets its own data dir, hence its own actor (the name derives from the
    store's location)."""

    def open_store(self) -> Facade:
        self.dir = Path(tempfile.mkdtemp(prefix="pathway-actor-machine-"))
        store = Facade(pathway_actor(Settings(data_dir=self.dir / "data")))
        self.pid = store.call_sync("status")["pid"]
        return store

    @rule()
    def kill_and_restart(self):
        ray.kill(self.store.target, no_restart=False)
        status = restarted(self.store, self.pid)
        self.pid = status["pid"]
        replay = status["replay"]
        assert replay["skipped"] == 0
        assert replay["snapshot_events"] + replay["log_events"] == self.events

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
