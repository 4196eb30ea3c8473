"""Batched search: ``NaturalBatcher``, ``VectorShard.search_batch`` and the router's plain path."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from actors.remote.batcher import NaturalBatcher
from actors.remote.corpus_router import local_router
from lakehouse.errors import InvalidInput, NotFound
from lakehouse.storage import open_store
from lakehouse.vectors import ShardConfig, VectorShard
from lakehouse.vectors.registry import make_corpus

DIM = 8


def vecs(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


# -- the batcher ------------------------------------------------------------------------
def test_calls_queued_behind_one_in_flight_go_out_as_one_batch():
    release = asyncio.Event()
    sent: list[list[int]] = []

    async def run(key, items):
        sent.append(list(items))
        if len(sent) == 1:
            await release.wait()  # the first call stays in flight while the rest queue
        return [(key, i * 10) for i in items]

    async def scenario():
        batcher = NaturalBatcher(run)
        first = asyncio.create_task(batcher.submit("a", 0))
        await asyncio.sleep(0)
        rest = [asyncio.create_task(batcher.submit("a", i)) for i in range(1, 6)]
        other = asyncio.create_task(batcher.submit("b", 7))  # another key: its own batch
        await asyncio.sleep(0.05)
        release.set()
        return await first, await asyncio.gather(*rest), await other, batcher.batches

    first, rest, other, batches = asyncio.run(scenario())
    assert first == ("a", 0) and rest == [("a", i * 10) for i in range(1, 6)]
    assert other == ("b", 70)
    assert sorted(sent) == [[0], [1, 2, 3, 4, 5], [7]] and batches == 3


def test_an_item_error_reaches_its_caller_alone_and_a_batch_error_everyone():
    async def run(key, items):
        if key == "broken":
            raise NotFound("gone")
        return [InvalidInput("bad") if i < 0 else i for i in items]

    async def scenario():
        batcher = NaturalBatcher(run)
        mixed = await asyncio.gather(
            *(batcher.submit("ok", i) for i in (1, -1, 2)), return_exceptions=True
        )
        broken = await asyncio.gather(
            *(batcher.submit("broken", i) for i in (1, 2)), return_exceptions=True
        )
        return mixed, broken

    mixed, broken = asyncio.run(scenario())
    assert mixed[0] == 1 and isinstance(mixed[1], InvalidInput) and mixed[2] == 2
    assert all(isinstance(b, NotFound) for b in broken)


def test_max_batch_splits_a_long_queue():
    sizes: list[int] = []

    async def run(key, items):
        sizes.append(len(items))
        await asyncio.sleep(0)
        return items

    async def scenario():
        batcher = NaturalBatcher(run, max_batch=4)
        return await asyncio.gather(*(batcher.submit("k", i) for i in range(10)))

    assert asyncio.run(scenario()) == list(range(10))
    assert sum(sizes) == 10 and max(sizes) <= 4


# -- the shard --------------------------------------------------------------------------
def test_search_batch_equals_one_search_per_row(settings):
    shard = VectorShard(open_store(settings), "vectors/b/0", ShardConfig(dim=DIM))
    data = vecs(300)
    shard.add([f"v{i}" for i in range(300)], data)
    queries = vecs(7, seed=1)
    batch = shard.search_batch(queries, k=5)
    singles = [shard.search(q, k=5) for q in queries]
    assert [[h["id"] for h in r.hits] for r in batch] == [
        [h["id"] for h in r.hits] for r in singles
    ]
    assert all(r.complete and r.generation == shard.generation for r in batch)
    wide = shard.search_batch(queries[:1], k=400)[0]  # more than the shard holds
    assert len(wide.hits) == 300 and wide.complete is False


@pytest.mark.parametrize(
    "queries, kwargs",
    [
        (np.zeros((0, DIM), np.float32), {}),
        (np.zeros((2, DIM + 1), np.float32), {}),
        (np.full((2, DIM), np.nan, np.float32), {}),
        ("not vectors", {}),
        (np.zeros((2, DIM), np.float32), {"k": 0}),
        (np.zeros((2, DIM), np.float32), {"ef": 0}),
    ],
)
def test_bad_batches_are_refused_and_change_nothing(settings, queries, kwargs):
    store = open_store(settings)
    shard = VectorShard(store, "vectors/b/0", ShardConfig(dim=DIM))
    shard.add(["a"], vecs(1))
    before = (shard.generation, sorted(o.key for o in store.iter_all("vectors/")))
    with pytest.raises(InvalidInput):
        shard.search_batch(queries, **kwargs)
    assert (shard.generation, sorted(o.key for o in store.iter_all("vectors/"))) == before


# -- the router -------------------------------------------------------------------------
def test_concurrent_plain_searches_are_batched_and_answer_as_unbatched(settings):
    router = local_router(settings, open_store(settings))
    data, queries = vecs(200), vecs(12, seed=2)

    async def scenario():
        await router.registry.create(make_corpus("c", DIM, shards=2))
        await router.add("c", [f"v{i}" for i in range(200)], data)
        batched = await asyncio.gather(*(router.search("c", q, 5) for q in queries))
        alone = [(await router.search_many([("c", q, 5, {})], None))[0] for q in queries]
        return batched, alone

    batched, alone = asyncio.run(scenario())
    assert [b["hits"] for b in batched] == [a["hits"] for a in alone]
    assert router.batcher.batches < len(queries)  # some went out together


def test_a_bad_query_among_concurrent_ones_is_refused_alone(settings):
    router = local_router(settings, open_store(settings))

    async def scenario():
        await router.registry.create(make_corpus("c", DIM))
        await router.add("c", ["a", "b"], vecs(2))
        good = [router.search("c", q, 1) for q in vecs(3, seed=3)]
        bad = router.search("c", np.zeros(DIM + 1), 1)
        return await asyncio.gather(*good, bad, return_exceptions=True)

    *good, bad = asyncio.run(scenario())
    assert isinstance(bad, InvalidInput)
    assert all(g["hits"] and g["complete"] for g in good)


def test_a_cancelled_caller_leaves_the_others_and_later_batches_working():
    release = asyncio.Event()

    async def run(key, items):
        await release.wait()
        return items

    async def scenario():
        batcher = NaturalBatcher(run)
        first = asyncio.create_task(batcher.submit("k", 1))
        await asyncio.sleep(0)
        gone = asyncio.create_task(batcher.submit("k", 2))  # queued behind the first
        await asyncio.sleep(0)
        gone.cancel()
        release.set()
        later = await batcher.submit("k", 3)
        return await first, gone.cancelled(), later

    assert asyncio.run(scenario()) == (1, True, 3)
