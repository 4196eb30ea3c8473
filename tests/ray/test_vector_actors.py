"""Shard actors: congruent with the core shard, and a kill mid-ingest loses no acked id."""

import asyncio

import numpy as np
import pytest
import ray

from actors.remote.corpus_router import remote_router
from actors.remote.facade import Facade
from actors.vectors import ShardActor, registry_actor, shard_actor, shard_name
from lakehouse.errors import InvalidInput
from lakehouse.vectors.registry import make_corpus

pytestmark = pytest.mark.usefixtures("ray_session")
DIM = 8


def vecs(n, seed):
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def scenario(shard: Facade) -> list:
    out = [
        shard.call_sync(
            "add", [f"a{i}" for i in range(30)], vecs(30, 1), [{"i": i} for i in range(30)]
        )
    ]
    out.append(shard.call_sync("add", ["a3"], vecs(1, 2), [{"i": "new"}]))
    out.append(shard.call_sync("delete", ["a4", "nope"]))
    out.append(_seq(shard.call_sync("search", vecs(1, 3)[0], 5)))
    out.append(
        _seq(
            shard.call_sync(
                "search", vecs(1, 3)[0], 5, filter={"i": {"$lt": 10}}, exclude_ids=["a1"]
            )
        )
    )
    out.append(shard.call_sync("generation").split(":")[1])
    try:
        shard.call_sync("add", ["x"], np.full((1, DIM), np.nan))
    except InvalidInput as exc:
        out.append((type(exc).__name__, exc.status))
    out.append(shard.call_sync("contains", ["a3", "a4"]))
    return out


def _seq(answer: dict) -> dict:
    """The answer with its generation's sequence (incarnations differ by design)."""
    return {**answer, "generation": answer["generation"].split(":")[1]}


def test_congruence_core_vs_actor(settings, tmp_path):
    corpus = make_corpus("cong", DIM, shards=1)
    plain = scenario(Facade(ShardActor(settings, corpus, 0)))
    remote_settings = settings.model_copy(update={"data_dir": tmp_path / "remote"})
    handle = shard_actor(remote_settings, corpus, 0)
    remote = scenario(Facade(handle))
    ray.kill(handle, no_restart=True)
    assert plain == remote
    assert plain[-2] == ("InvalidInput", 400)


def test_kill_mid_ingest_every_acknowledged_id_is_searchable(settings):
    corpus = make_corpus("killme", DIM, shards=2)
    ray.get(registry_actor(settings).create.remote(corpus))
    router = remote_router(settings)
    acked: dict[str, np.ndarray] = {}

    async def ingest():
        for batch in range(12):
            ids = [f"k{batch}-{i}" for i in range(25)]
            v = vecs(25, 100 + batch)
            await router.add("killme", ids, v)
            acked.update(zip(ids, v, strict=True))
            if batch in (3, 8):
                victim = ray.get_actor(shard_name(settings, "killme", batch % 2), "lakehouse")
                ray.kill(victim, no_restart=False)  # Ray restarts it; __init__ replays the log

    asyncio.run(ingest())
    assert asyncio.run(router.sizes("killme")) == len(acked) == 300
    found = asyncio.run(router.contains("killme", list(acked)))
    assert all(found)
    probe = list(acked)[::37]
    for item in probe:
        hit = asyncio.run(router.search("killme", acked[item], 1))["hits"][0]
        assert hit["id"] == item
    for index in range(2):
        ray.kill(ray.get_actor(shard_name(settings, "killme", index), "lakehouse"), no_restart=True)


def test_search_many_over_actors_is_parallel_and_leaves_late_shards_out(settings):
    """The actor path of the fan-out: one ``ray.wait`` for all shard calls, one deadline."""
    import time

    from tests.fakes.slow_shard import slow_router

    def actor(shard):
        return ray.remote(type(shard)).options(num_cpus=0).remote(shard.name, shard.delay)

    # p and q take 4 s each, under a 6.5 s deadline: one after the other, q would be late
    router, _ = slow_router(settings, {"p": 4.0, "q": 4.0, "late": 60.0}, wrap=actor)
    asyncio.run(router.search_many([(n, [1, 0], 1, {}) for n in ("p", "q")], 30.0))  # start them
    started = time.perf_counter()
    found = asyncio.run(router.search_many([(n, [1, 0], 2, {}) for n in ("p", "q", "late")], 6.5))
    elapsed = time.perf_counter() - started
    assert [f and f["hits"][0]["id"] for f in found] == ["p-0", "q-0", None]
    assert elapsed < 30, f"the 6.5 s deadline did not cut the 60 s shard off: {elapsed:.1f}s"


def test_a_shard_error_over_actors_is_the_domain_error(settings):
    corpus = make_corpus("errs", DIM, shards=2)
    ray.get(registry_actor(settings).create.remote(corpus))
    router = remote_router(settings)
    asyncio.run(router.add("errs", ["a", "b", "c"], vecs(3, 7)))
    with pytest.raises(InvalidInput, match="ef"):  # raised in a shard actor, unwrapped
        asyncio.run(router.search("errs", vecs(1, 8)[0], 2, ef=10**6))
    assert len(asyncio.run(router.search("errs", vecs(1, 8)[0], 3))["hits"]) == 3
    for index in range(2):
        ray.kill(ray.get_actor(shard_name(settings, "errs", index), "lakehouse"), no_restart=True)
