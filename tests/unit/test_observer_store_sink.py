"""Observer events in the object store: a ring rebuilt elsewhere finds them."""

import pytest

from lakehouse.observer import ObserverRing
from lakehouse.observer.store_sink import ObjectStoreSink
from lakehouse.storage import open_store


def sink(store, **kw):
    return ObjectStoreSink(store, flush_s=0, **kw)  # flushes by size and on close only


@pytest.mark.parametrize("backend", ["settings", "s3_settings"])
def test_a_new_ring_reloads_the_newest_events_and_skips_damage(backend, request):
    store = open_store(request.getfixturevalue(backend))
    first = sink(store, flush_lines=4)
    ring = ObserverRing(100, sink=first)
    for i in range(10):
        ring.emit("test.kind", {"i": i}, trace_id=f"t{i}")
    assert len(list(store.iter_all("observer/"))) == 2  # two full batches, two events buffered
    first.close()
    store.put("observer/events/00000000000000000001-000001-damaged.jsonl", b"{torn\n")
    again = ObserverRing(5, sink=sink(store))
    assert [e.data["i"] for e in again.query(limit=10)] == [9, 8, 7, 6, 5]
    assert again.emit("test.kind", {}).id == 11  # ids go on from the reloaded ones
    everything = ObserverRing(100, sink=sink(store))
    assert len(everything.query(limit=100)) == 10 and everything.stats()["load_skipped"] == 1


def test_old_batches_are_deleted_once_newer_ones_hold_enough(settings):
    store = open_store(settings)
    ring = ObserverRing(100, sink=sink(store, flush_lines=1, keep_events=4))
    for i in range(16):  # 16 one-event batches; the 16th flush prunes
        ring.emit("test.kind", {"i": i})
    assert len(list(store.iter_all("observer/"))) == 4
    reloaded = ObserverRing(100, sink=sink(store))
    assert [e.data["i"] for e in reloaded.query(limit=100)] == [15, 14, 13, 12]


def test_many_small_batches_are_merged_into_one_and_copies_read_once(settings):
    store = open_store(settings)
    ring = ObserverRing(1000, sink=sink(store, flush_lines=1))
    for i in range(80):  # 80 one-event batches: the 80th flush finds more than 64 and merges
        ring.emit("test.kind", {"i": i})
    (merged,) = [o.key for o in store.iter_all("observer/")]
    store.put(merged.replace("observer/events/", "observer/events/0"), store.get(merged))
    reloaded = ObserverRing(1000, sink=sink(store))
    assert [e.data["i"] for e in reloaded.query(limit=1000)] == list(range(79, -1, -1))


def test_the_tee_writes_both_and_reloads_from_the_object_store(settings, tmp_path):
    from lakehouse.observer import JsonlFileSink
    from lakehouse.observer.store_sink import TeeSink

    store = open_store(settings)
    local = tmp_path / "observer.jsonl"
    tee = TeeSink(sink(store), JsonlFileSink(local))
    ObserverRing(10, sink=tee).emit("test.kind", {"i": 1})
    tee.close()
    assert b'"i":1' in local.read_bytes()
    local.unlink()  # another node: no local file, the object store has the event
    again = ObserverRing(10, sink=TeeSink(sink(store), JsonlFileSink(tmp_path / "other.jsonl")))
    assert [e.data["i"] for e in again.query()] == [1]
