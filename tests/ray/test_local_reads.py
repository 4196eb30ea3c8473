"""Searches answered from a replica's read copy (``actors.remote.local_reads``) over real
shard actors: they see every acknowledged write, and a killed shard is never read stale."""

import asyncio
import time

import numpy as np
import pytest
import ray

from actors.remote.corpus_router import remote_router
from actors.vectors import registry_actor, shard_name
from lakehouse.vectors.registry import make_corpus

pytestmark = pytest.mark.usefixtures("ray_session")
DIM = 8


def vecs(n, seed):
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


async def settle_copies(router, name, shards, timeout_s=30.0):
    """Search until every shard's copy answers locally (its catch-up ran meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await router.search(name, vecs(1, 999)[0], 3)
        clients = [router._shards[(name, s)] for s in range(shards)]
        if all(c.follower.current(c.follower.state()) is not None for c in clients):
            return clients
        await asyncio.sleep(0.05)
    raise AssertionError("the read copies never became current")


def local_searches(clients) -> int:
    return sum(c.local_answers for c in clients)


def test_every_acknowledged_write_is_seen_by_the_next_search(settings):
    corpus = make_corpus("reads", DIM, shards=2)
    ray.get(registry_actor(settings).create.remote(corpus))
    router = remote_router(settings)

    async def scenario():
        await router.add("reads", [f"s{i}" for i in range(50)], vecs(50, 1))
        clients = await settle_copies(router, "reads", 2)
        before = local_searches(clients)
        for i in range(15):  # write, then search at once: never a stale answer
            v = vecs(1, 100 + i)
            await router.add("reads", [f"n{i}"], v)
            assert (await router.search("reads", v[0], 1))["hits"][0]["id"] == f"n{i}"
            await router.delete("reads", [f"s{i}"])
            gone = await router.search("reads", vecs(50, 1)[i], 50)
            assert f"s{i}" not in {h["id"] for h in gone["hits"]}
        await settle_copies(router, "reads", 2)
        answer = await router.search("reads", vecs(1, 114)[0], 1)
        assert answer["hits"][0]["id"] == "n14"
        assert local_searches(clients) > before  # the copies did answer, once current
        generations = await router.generations(["reads"], 0.0)
        asked = tuple(
            [ray.get(ray.get_actor(shard_name(settings, "reads", s), "lakehouse").generation.remote())
             for s in range(2)]
        )  # fmt: skip
        assert generations["reads"] == asked

    asyncio.run(scenario())
    for index in range(2):
        ray.kill(ray.get_actor(shard_name(settings, "reads", index), "lakehouse"), no_restart=True)


def test_a_killed_shard_is_not_read_from_its_old_copy(settings):
    corpus = make_corpus("killed", DIM, shards=1)
    ray.get(registry_actor(settings).create.remote(corpus))
    router = remote_router(settings)

    async def scenario():
        await router.add("killed", ["a", "b"], vecs(2, 1))
        (client,) = await settle_copies(router, "killed", 1)
        old = client.follower.copy
        ray.kill(ray.get_actor(shard_name(settings, "killed", 0), "lakehouse"), no_restart=False)
        deadline = time.monotonic() + 10
        while client.follower.state() is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the kill releases the board's lock
        # a write through the restarted shard, then a search: the old copy never answers
        for attempt in range(100):
            try:
                await router.add("killed", ["c"], vecs(1, 5))
                break
            except Exception:
                if attempt == 99:
                    raise
                await asyncio.sleep(0.1)
        found = await router.search("killed", vecs(1, 5)[0], 1)
        assert found["hits"][0]["id"] == "c"
        (client,) = await settle_copies(router, "killed", 1)
        assert client.follower.copy is not old
        assert client.follower.copy.contains(["a", "b", "c"]) == [True, True, True]

    asyncio.run(scenario())
    ray.kill(ray.get_actor(shard_name(settings, "killed", 0), "lakehouse"), no_restart=True)


def test_a_bad_search_answered_by_a_copy_is_the_shards_error_and_changes_nothing(settings):
    from lakehouse.errors import InvalidInput

    corpus = make_corpus("badreads", DIM, shards=1)
    ray.get(registry_actor(settings).create.remote(corpus))
    router = remote_router(settings)

    async def scenario():
        await router.add("badreads", ["a", "b", "c"], vecs(3, 7))
        (client,) = await settle_copies(router, "badreads", 1)
        before = (client.local_answers, client.follower.copy.generation)
        with pytest.raises(InvalidInput, match="ef") as refused:  # checked in the copy
            await router.search("badreads", vecs(1, 8)[0], 2, ef=10**6)
        assert refused.value.status == 400
        assert (client.local_answers, client.follower.copy.generation) == before
        assert client.follower.copy.contains(["a", "b", "c"]) == [True, True, True]
        assert await router.sizes("badreads") == 3
        assert len((await router.search("badreads", vecs(1, 8)[0], 3))["hits"]) == 3

    asyncio.run(scenario())
    ray.kill(ray.get_actor(shard_name(settings, "badreads", 0), "lakehouse"), no_restart=True)
