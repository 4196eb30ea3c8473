"""Observer events in the object store: stored before an emit returns, group-committed, and
found again by a ring rebuilt elsewhere."""

import threading

import pytest

from lakehouse.errors import StorageError
from lakehouse.observer import ObserverRing
from lakehouse.observer.store_sink import ObjectStoreSink
from lakehouse.storage import open_store


def batches(store):
    return [o.key for o in store.iter_all("observer/")]


@pytest.mark.parametrize("backend", ["settings", "s3_settings"])
def test_an_emitted_event_is_stored_at_once_and_a_new_ring_reloads_it(backend, request):
    store = open_store(request.getfixturevalue(backend))
    ring = ObserverRing(100, sink=ObjectStoreSink(store))
    for i in range(8):
        ring.emit("test.kind", {"i": i}, trace_id=f"t{i}")
    ring.emit_many([("test.kind", {"i": 8}, None, None), ("test.kind", {"i": 9}, None, None)])
    assert len(batches(store)) == 9  # one put per emit, one for the emit_many; nothing buffered
    assert ring.stats()["persisted"] == 10
    store.put("observer/events/00000000000000000001-000001-damaged.jsonl", b"{torn\n")
    again = ObserverRing(5, sink=ObjectStoreSink(store))  # no close(): nothing was held back
    assert [e.data["i"] for e in again.query(limit=10)] == [9, 8, 7, 6, 5]
    assert again.emit("test.kind", {}).id == 11  # ids go on from the reloaded ones
    everything = ObserverRing(100, sink=ObjectStoreSink(store))
    assert len(everything.query(limit=100)) == 11 and everything.stats()["load_skipped"] == 1


def test_concurrent_writers_share_puts_and_every_line_is_stored(settings):
    store = open_store(settings)
    sink = ObjectStoreSink(store, keep_events=10_000)
    entered, release = threading.Event(), threading.Event()
    put = store.put

    def slow_first_put(key, data, **kw):  # holds the first put until the others queued
        if not entered.is_set():
            entered.set()
            release.wait(10)
        return put(key, data, **kw)

    store.put = slow_first_put
    ring = ObserverRing(1000, sink=sink)
    first = threading.Thread(target=ring.emit, args=("test.kind", {"i": -1}))
    first.start()
    entered.wait(10)
    others = [threading.Thread(target=ring.emit, args=("test.kind", {"i": i})) for i in range(8)]
    for t in others:
        t.start()
    while len(sink._queue) < 8:  # the eight wait behind the first put
        threading.Event().wait(0.01)
    release.set()
    for t in [first, *others]:
        t.join()
    assert len(batches(store)) == 2  # the first emit's put, then one put for all eight
    assert ring.stats()["persisted"] == 9
    reloaded = ObserverRing(1000, sink=ObjectStoreSink(store))
    assert sorted(e.data["i"] for e in reloaded.query(limit=100)) == list(range(-1, 8))


def test_a_failed_put_is_a_persist_failure_and_stores_nothing(settings):
    store = open_store(settings)
    ring = ObserverRing(10, sink=ObjectStoreSink(store))

    def broken(*_a, **_kw):
        raise StorageError("store down")

    store.put = broken
    ring.emit_many([("test.kind", {"i": 1}, None, None), ("test.kind", {"i": 2}, None, None)])
    assert (ring.stats()["persisted"], ring.stats()["persist_failures"]) == (0, 2)
    assert batches(store) == []


def test_old_batches_are_deleted_once_newer_ones_hold_enough(settings):
    store = open_store(settings)
    ring = ObserverRing(100, sink=ObjectStoreSink(store, keep_events=4))
    for i in range(16):  # 16 one-event batches; the 16th put prunes
        ring.emit("test.kind", {"i": i})
    assert len(batches(store)) == 4
    reloaded = ObserverRing(100, sink=ObjectStoreSink(store))
    assert [e.data["i"] for e in reloaded.query(limit=100)] == [15, 14, 13, 12]


def test_many_small_batches_are_merged_into_one_and_copies_read_once(settings):
    store = open_store(settings)
    ring = ObserverRing(1000, sink=ObjectStoreSink(store))
    for i in range(80):  # 80 one-event batches: the 80th put finds more than 64 and merges
        ring.emit("test.kind", {"i": i})
    (merged,) = batches(store)
    store.put(merged.replace("observer/events/", "observer/events/0"), store.get(merged))
    reloaded = ObserverRing(1000, sink=ObjectStoreSink(store))
    assert [e.data["i"] for e in reloaded.query(limit=1000)] == list(range(79, -1, -1))
