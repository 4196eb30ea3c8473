"""The edge's request-event batches: one observer call per batch, drops counted."""

import asyncio
import time

import pytest

from actors.remote.facade import Facade
from deployments.request_events import EventBatches
from lakehouse.errors import InvalidInput
from lakehouse.observer import ObserverRing


class CountingRing(ObserverRing):
    def __init__(self) -> None:
        super().__init__(100)
        self.calls = 0

    def emit_many(self, events):
        self.calls += 1
        return super().emit_many(events)


def test_events_queued_together_go_in_one_call_in_order():
    ring = CountingRing()

    async def scenario():
        batches = EventBatches(linger_s=0.02)
        for i in range(5):
            batches.add(Facade(ring), ("http.request", {"i": i}, f"t{i}", 1000.0 + i))
        await asyncio.sleep(0.2)
        return batches

    batches = asyncio.run(scenario())
    assert ring.calls == 1 and batches.failures == 0
    events = ring.query(limit=10)
    assert sorted(e.data["i"] for e in events) == [0, 1, 2, 3, 4]
    assert {e.trace_id for e in events} == {f"t{i}" for i in range(5)}
    assert sorted(e.ts for e in events) == [1000.0 + i for i in range(5)]


def test_a_full_queue_drops_new_events_and_counts_them():
    ring = CountingRing()

    async def scenario():
        batches = EventBatches(linger_s=0.02, max_pending=3, max_batch=2)
        for i in range(5):
            batches.add(Facade(ring), ("http.request", {"i": i}, None, None))
        await asyncio.sleep(0.2)
        return batches

    batches = asyncio.run(scenario())
    assert batches.failures == 2
    assert sorted(e.data["i"] for e in ring.query(limit=10)) == [0, 1, 2]
    assert ring.calls == 2  # three queued events, batches of two


def test_one_bad_event_records_none_of_its_batch():
    ring = ObserverRing(100)
    good = ("http.request", {"ok": True}, None, None)
    bad = ("", {"ok": False}, None, None)
    with pytest.raises(InvalidInput):
        ring.emit_many([good, bad])
    assert ring.query(limit=10) == []


class SlowRing(CountingRing):
    def emit_many(self, events):
        time.sleep(0.01)  # a durable put
        return super().emit_many(events)


def test_steady_events_go_once_per_linger_not_once_per_round_trip():
    ring = SlowRing()

    async def scenario():
        batches = EventBatches(linger_s=0.1)
        began = time.monotonic()
        i = 0
        while time.monotonic() - began < 1.0:  # an event every 2 ms for a second
            batches.add(Facade(ring), ("http.request", {"i": i}, None, None))
            i += 1
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.3)
        return i, batches

    sent, batches = asyncio.run(scenario())
    assert batches.failures == 0
    assert len(ring.query(limit=100)) == 100  # the ring holds its capacity, newest kept
    # one call per linger (about 10 in the second, plus the last): one per 10 ms round trip
    # would be nearer 60
    assert 5 <= ring.calls <= 14, (ring.calls, sent)


def test_a_backlog_of_a_full_batch_goes_without_waiting_the_linger():
    ring = CountingRing()

    async def scenario():
        batches = EventBatches(linger_s=0.3, max_batch=10)
        for i in range(35):
            batches.add(Facade(ring), ("http.request", {"i": i}, None, None))
        await asyncio.sleep(0.15)  # three full batches sent at once, five events lingering
        early = ring.calls
        await asyncio.sleep(0.5)
        return early

    assert asyncio.run(scenario()) == 3 and ring.calls == 4
