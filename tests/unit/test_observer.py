"""The observer ring: eviction under concurrent writers, best-effort persistence, queries."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lakehouse.errors import InvalidInput, TooLarge
from lakehouse.observer import EventSink, JsonlFileSink, ObserverRing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_a_full_ring_still_accepts_and_counts_evictions_under_concurrent_writers() -> None:
    ring = ObserverRing(capacity=100)
    threads, per_thread = 8, 500
    barrier = threading.Barrier(threads)

    def writer(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            ring.emit("load.test", {"writer": n, "i": i}, trace_id=f"t{n}")

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    total = threads * per_thread
    stats = ring.stats()
    assert (stats["emitted"], stats["evicted"], stats["size"]) == (total, total - 100, 100)
    kept = ring.query(limit=1000)
    # ids are handed out under the same lock as the append: the ring keeps exactly the last
    assert sorted(e.id for e in kept) == list(range(total - 99, total + 1))
    for n in range(threads):  # each writer's surviving events are in its own order
        mine = [e.data["i"] for e in reversed(kept) if e.data["writer"] == n]
        assert mine == sorted(mine)


def test_queries_by_kind_trace_time_and_limit() -> None:
    ring = ObserverRing(capacity=50, clock=Clock())
    for i in range(10):
        ring.emit("http.request" if i % 2 else "workflow.node", {"i": i}, trace_id=f"t{i % 3}")
    newest_first = ring.query()
    assert [e.data["i"] for e in newest_first] == list(range(9, -1, -1))
    assert [e.data["i"] for e in ring.query(kind="http.request")] == [9, 7, 5, 3, 1]
    assert [e.data["i"] for e in ring.query(trace_id="t0")] == [9, 6, 3, 0]
    assert [e.data["i"] for e in ring.query(kind="http.request", trace_id="t0")] == [9, 3]
    ts = [e.ts for e in reversed(newest_first)]
    assert [e.data["i"] for e in ring.query(since=ts[7])] == [9, 8, 7]
    assert [e.data["i"] for e in ring.query(since=ts[2], until=ts[4])] == [4, 3, 2]
    assert [e.data["i"] for e in ring.query(limit=2)] == [9, 8]
    assert ring.query(kind="nothing") == []


def test_callers_get_copies() -> None:
    ring = ObserverRing()
    data = {"nested": {"a": 1}}
    ev = ring.emit("k", data)
    data["nested"]["a"] = 2
    ev.data["nested"]["a"] = 3
    assert ring.query()[0].data == {"nested": {"a": 1}}


class BrokenSink(EventSink):
    def write(self, line: bytes) -> None:
        raise OSError(28, "No space left on device")

    def load(self, limit: int):
        return [], 0


def test_a_failing_persist_is_counted_and_never_raised() -> None:
    ring = ObserverRing(capacity=10, sink=BrokenSink())
    for i in range(5):
        ev = ring.emit("k", {"i": i})
        assert ev.data == {"i": i}
    stats = ring.stats()
    assert (stats["persist_failures"], stats["persisted"], stats["size"]) == (5, 0, 5)


def test_a_persist_path_that_cannot_exist_is_counted(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    ring = ObserverRing(sink=JsonlFileSink(blocker / "events.jsonl"))
    ring.emit("k", {"x": 1})
    assert ring.stats()["persist_failures"] == 1
    assert len(ring.query()) == 1


def test_a_restarted_ring_reloads_its_latest_events(tmp_path: Path) -> None:
    path = tmp_path / "observer" / "events.jsonl"
    ring = ObserverRing(capacity=5, sink=JsonlFileSink(path))
    for i in range(8):
        ring.emit("k", {"i": i}, trace_id="t")
    with open(path, "ab") as fh:
        fh.write(b"not json\n" + b'{"id": "x"}\n' + b"x" * 5000 + b"\n")
    sink = JsonlFileSink(path, max_line_bytes=1000)
    again = ObserverRing(capacity=5, sink=sink)
    assert [e.data["i"] for e in again.query()] == [7, 6, 5, 4, 3]
    assert again.stats()["load_skipped"] == 3
    assert again.emit("k", {"i": 8}).id == 9  # ids continue, never reused


def test_the_file_sink_rotates_and_reloads_across_both_files(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    ring = ObserverRing(capacity=100, sink=JsonlFileSink(path, max_bytes=400))
    for i in range(12):
        ring.emit("k", {"i": i})
    assert path.with_name("events.jsonl.1").exists()
    assert path.stat().st_size <= 400
    again = ObserverRing(capacity=100, sink=JsonlFileSink(path, max_bytes=400))
    got = [e.data["i"] for e in again.query()]
    assert got == list(range(11, 11 - len(got), -1)) and len(got) > 4


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": ""}, InvalidInput),
        ({"kind": "has space"}, InvalidInput),
        ({"kind": 5}, InvalidInput),
        ({"kind": "k", "data": ["not", "an", "object"]}, InvalidInput),
        ({"kind": "k", "data": {"x": {1, 2}}}, InvalidInput),
        ({"kind": "k", "data": {"x": float("nan")}}, InvalidInput),
        ({"kind": "k", "data": {"x": "y" * 20_000}}, TooLarge),
        ({"kind": "k", "trace_id": ""}, InvalidInput),
        ({"kind": "k", "ts": float("inf")}, InvalidInput),
    ],
)
def test_bad_events_are_refused_and_nothing_is_recorded(tmp_path: Path, kwargs, error) -> None:
    path = tmp_path / "events.jsonl"
    ring = ObserverRing(sink=JsonlFileSink(path))
    ring.emit("ok", {"a": 1})
    before = (ring.stats(), ring.query(), path.read_bytes())
    with pytest.raises(error):
        ring.emit(**kwargs)
    assert (ring.stats(), ring.query(), path.read_bytes()) == before


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 10_000}, {"limit": "5"}, {"since": float("nan")}]
)
def test_bad_queries_are_refused(kwargs) -> None:
    with pytest.raises(InvalidInput):
        ObserverRing().query(**kwargs)
