"""``CorpusRouter.search_many``: every shard in flight at once, one deadline, checks first."""

from __future__ import annotations

import asyncio
import time

import pytest

from lakehouse.errors import InvalidInput
from tests.fakes.slow_shard import slow_router

DELAY = 1.0


def test_corpora_are_searched_at_once(settings):
    """Three 1 s corpora under a 2.5 s deadline: one after another, the third would be late."""
    router, _ = slow_router(settings, {"a": DELAY, "b": DELAY, "c": DELAY})
    found = asyncio.run(router.search_many([(n, [1.0, 0.0], 3, {}) for n in "abc"], 2.5 * DELAY))
    assert [f and f["hits"][0]["id"] for f in found] == ["a-0", "b-0", "c-0"], "not parallel"
    assert all(f["complete"] for f in found)


def test_a_late_corpus_is_none_and_the_others_answer(settings):
    router, _ = slow_router(settings, {"fast": 0.0, "slow": 4.0})

    async def timed():  # timed inside: asyncio.run then waits for the sleeping thread
        started = time.perf_counter()
        found = await router.search_many([("fast", [1, 0], 2, {}), ("slow", [1, 0], 2, {})], 0.2)
        return found, time.perf_counter() - started

    found, elapsed = asyncio.run(timed())
    assert elapsed < 3.0  # the 0.2 s deadline, not the 4 s shard
    assert found[0]["hits"][0]["id"] == "fast-0" and found[1] is None


def test_a_bad_request_fails_before_any_shard_is_called(settings):
    router, opened = slow_router(settings, {"a": 0.0, "b": 0.0})
    bad_filter = {"filter": {"role": {"$regex": "x"}}}
    with pytest.raises(InvalidInput):
        asyncio.run(router.search_many([("a", [1, 0], 2, {}), ("b", [1, 0], 2, bad_filter)], 1.0))
    with pytest.raises(InvalidInput):  # wrong dimension
        asyncio.run(router.search_many([("a", [1, 0], 2, {}), ("b", [1, 0, 0], 2, {})], 1.0))
    assert opened == []


def test_a_shard_error_reaches_the_caller_as_the_domain_error(settings):
    from actors.remote.corpus_router import local_router
    from lakehouse.storage import open_store
    from lakehouse.vectors.registry import make_corpus

    router = local_router(settings, open_store(settings))
    asyncio.run(router.registry.create(make_corpus("e", 2)))
    asyncio.run(router.add("e", ["x"], [[1.0, 0.0]]))
    with pytest.raises(InvalidInput, match="ef"):  # checked by the shard, not the router
        asyncio.run(router.search_many([("e", [1.0, 0.0], 1, {"ef": 10**6})], 1.0))
    assert asyncio.run(router.search("e", [1.0, 0.0], 1))["hits"][0]["id"] == "x"
