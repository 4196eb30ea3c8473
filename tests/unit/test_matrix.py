"""The matrix core: fusion vs a brute-force reference, fan-out, cache, playbook, pre-filter."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re

import numpy as np
import pytest

from actors.remote.corpus_router import local_router
from lakehouse.errors import InvalidInput, TemporarilyUnavailable
from lakehouse.matrix import (
    MatrixQuery,
    MatrixSearch,
    QueryCache,
    Record,
    allow_list_sql,
    check_predicate,
    fuse,
)
from lakehouse.matrix.cache import current
from lakehouse.matrix.engine import MatrixConfig
from lakehouse.storage import open_store
from lakehouse.vectors.registry import make_corpus

DIM = 64


def run(coro):
    return asyncio.run(coro)


class FakeRouter:
    """Corpora as fixed hit lists (best first) with a per-corpus delay; counts searches."""

    def __init__(self, corpora: dict[str, list[dict]], delays: dict[str, float] | None = None):
        self.corpora, self.delays, self.calls = corpora, delays or {}, 0
        self.writes = dict.fromkeys(corpora, 0)  # a generation per corpus
        self.in_flight = self.peak = 0  # searches running at once, and the most seen

    def write(self, name):
        """As if another replica or a job wrote to ``name``."""
        self.writes[name] += 1

    async def search(self, name, vector, k, **options):
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delays.get(name, 0.0))
        finally:
            self.in_flight -= 1
        hits = self.corpora[name]
        if options.get("allow_ids") is not None:
            hits = [h for h in hits if h["id"] in set(options["allow_ids"])]
        hits = [h for h in hits if h["id"] not in set(options.get("exclude_ids") or ())]
        return {"hits": hits[:k], "complete": len(hits) >= k, "generation": self._gen(name)}

    def _gen(self, name):
        return (f"g{self.writes[name]}",)

    async def generations(self, names, max_age_s):
        return {n: self._gen(n) for n in names}

    async def search_many(self, requests, timeout_s):
        async def one(name, vector, k, options):
            try:
                return await asyncio.wait_for(self.search(name, vector, k, **options), timeout_s)
            except TimeoutError:
                return None

        return await asyncio.gather(*(one(*r) for r in requests))


def hits_of(pairs):
    return [{"id": i, "score": s, "metadata": {"id": i}} for i, s in pairs]


def random_corpora(seed: int, corpora: int = 3, n: int = 12) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    out = {}
    for c in range(corpora):
        ids = rng.sample([f"w{i}" for i in range(20)], n)
        scores = sorted((rng.uniform(-0.2, 0.95) for _ in ids), reverse=True)
        out[f"c{c}"] = hits_of(zip(ids, scores, strict=True))
    return out


def reference(results, weights, method, k_rrf=60):
    """Brute force: every (corpus, position) pair scored on its own; best per id wins."""
    best: dict[str, float] = {}
    for corpus, hits in results.items():
        scores = [h["score"] for h in hits]
        for position in range(len(hits)):
            if method == "rrf":
                value = weights[corpus] / (k_rrf + position + 1)
            else:
                span = max(scores) - min(scores)
                norm = 1.0 if span == 0 else (scores[position] - min(scores)) / span
                value = weights[corpus] * norm
            item = hits[position]["id"]
            best[item] = max(best.get(item, float("-inf")), value)
    return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))


# -- fusion -----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["rrf", "score"])
@pytest.mark.parametrize("seed", range(5))
def test_fuse_matches_brute_force(method, seed):
    results = random_corpora(seed)
    weights = {"c0": 1.0, "c1": 2.5, "c2": 0.5}
    merged = fuse(results, weights, method)
    expected = reference(results, weights, method)
    assert [m["id"] for m in merged] == [i for i, _ in expected]
    assert np.allclose([m["fused"] for m in merged], [v for _, v in expected])


def test_dedupe_keeps_best_and_records_every_corpus():
    results = {"a": hits_of([("x", 0.9), ("y", 0.5)]), "b": hits_of([("y", 0.8), ("x", 0.1)])}
    merged = fuse(results, {"a": 1.0, "b": 1.0}, "rrf")
    assert [m["id"] for m in merged] == ["x", "y"]  # tie on rank 1: broken by id
    y = merged[1]
    assert sorted(c["corpus"] for c in y["contributions"]) == ["a", "b"]
    assert y["contributions"][0] == {"corpus": "b", "raw_score": 0.8, "rank": 1,
                                     "fusion_score": pytest.approx(1 / 61)}  # fmt: skip
    assert y["metadata"] == {"id": "y"}


def test_weights_reorder_and_zero_weight_counts_nothing():
    results = {"a": hits_of([("x", 0.9)]), "b": hits_of([("y", 0.2)])}
    assert fuse(results, {"a": 1.0, "b": 3.0}, "score")[0]["id"] == "y"
    zero = fuse(results, {"a": 1.0, "b": 0.0}, "score")
    assert [(m["id"], m["fused"]) for m in zero] == [("x", 1.0), ("y", 0.0)]


# -- fan-out, partial, floor, cache ---------------------------------------------------
def query(**kw):
    base = {"corpora": [("c0", 1.0), ("c1", 1.0)], "vector": [1.0, 0.0], "k": 5}
    return MatrixQuery(**{**base, **kw})


def test_search_merges_like_the_reference_and_explains():
    results = random_corpora(11, corpora=2)
    matrix = MatrixSearch(FakeRouter(results))
    answer = run(matrix.search(query(k=8, fusion="score")))
    shown = {name: hits[:8] for name, hits in results.items()}  # what each corpus returns
    expected = reference(shown, {"c0": 1.0, "c1": 1.0}, "score")[:8]
    assert [h["id"] for h in answer["hits"]] == [i for i, _ in expected]
    first = answer["hits"][0]["explanation"]
    assert set(first) >= {"corpus", "raw_score", "rank", "fusion_score", "playbook_boost"}
    assert first["playbook_boost"] == 0.0
    assert answer["complete"] and answer["partial"] == []


def test_fan_out_is_parallel():
    slow = FakeRouter(random_corpora(1, corpora=2), delays={"c0": 0.3, "c1": 0.3})
    answer = run(MatrixSearch(slow).search(query()))
    assert slow.calls == 2 and answer["partial"] == []
    assert slow.peak == 2, "the two corpora were not searched at once"


def test_late_corpus_is_partial_and_answer_not_cached():
    fake = FakeRouter(random_corpora(2, corpora=2), delays={"c1": 1.0})
    matrix = MatrixSearch(fake)
    answer = run(matrix.search(query(timeout_s=0.1)))
    assert answer["partial"] == ["c1"] and answer["complete"] is False
    assert {h["corpus"] for h in answer["hits"]} == {"c0"}
    assert len(matrix.cache) == 0


def test_relevance_floor_and_exclude_ids():
    results = {"c0": hits_of([("a", 0.9), ("b", 0.5), ("c", 0.1)]), "c1": hits_of([("d", 0.3)])}
    matrix = MatrixSearch(FakeRouter(results))
    floor = run(matrix.search(query(fusion="score", min_score=0.4, k=5)))
    assert [h["id"] for h in floor["hits"]] == ["a", "d", "b"]  # c normalises to 0
    assert floor["complete"] is False  # fewer than k passed the floor
    excluded = run(matrix.search(query(exclude_ids=["a", "d"], k=5)))
    assert {h["id"] for h in excluded["hits"]} == {"b", "c"}


@pytest.mark.parametrize(
    "bad",
    [
        {"corpora": []},
        {"corpora": [("c0", 11.0)]},
        {"corpora": [("c0", -1.0)]},
        {"corpora": [("c0", 1.0), ("c0", 2.0)]},
        {"fusion": "max"},
        {"k": 0},
        {"vector": None},
        {"text": "both", "vector": [1.0, 0.0]},
    ],
)
def test_bad_queries_are_refused_before_any_search(bad):
    fake = FakeRouter(random_corpora(3, corpora=2))
    with pytest.raises(InvalidInput):
        run(MatrixSearch(fake).search(query(**bad)))
    assert fake.calls == 0


def test_cache_hit_and_a_write_anywhere_makes_it_a_miss():
    fake = FakeRouter(random_corpora(4, corpora=2))
    matrix = MatrixSearch(fake)
    first = run(matrix.search(query()))
    again = run(matrix.search(query()))
    assert fake.calls == 2 and again["cached"] is True and again["hits"] == first["hits"]
    fake.write("c1")  # a write the cache never heard of, through another path
    fresh = run(matrix.search(query()))
    assert fresh["cached"] is False and fake.calls == 4
    assert run(matrix.search(query()))["cached"] is True
    assert run(matrix.search(query(k=4)))["cached"] is False  # another key


def test_cache_serves_only_current_tokens_and_evicts_lru():
    cache = QueryCache(max_entries=2)
    assert cache.put("k", {"a": ("x:1",)}, 1)
    token, value = cache.peek("k")
    assert value == 1 and current(token, {"a": ("x:1",)})
    assert not current(token, {"a": ("x:2",)}) and not current(token, {"a": None})
    assert not current(token, {})
    for key in ("k1", "k2", "k3"):
        assert cache.put(key, {"a": ("x:1",)}, key)
    assert cache.peek("k1") is None and cache.peek("k3")[1] == "k3" and len(cache) == 2


def test_cache_entries_expire():
    now = [0.0]
    cache = QueryCache(ttl_s=10, clock=lambda: now[0])
    cache.put("k", {"a": ("x:1",)}, 1)
    assert cache.peek("k")[1] == 1
    now[0] = 11.0
    assert cache.peek("k") is None


# -- playbook over real in-process shards, with a deterministic fake embedder -----------
def bag_of_words(texts):
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


async def fake_embed(texts):
    return bag_of_words(texts)


DOCS = {
    "w1": "forklift driver night shift warehouse pallets",
    "w2": "forklift driver day shift warehouse",
    "w3": "forklift operator night pallets reach truck",
    "w4": "warehouse picker packer night shift",
    "w5": "driver night shift delivery van",
    "w6": "registered nurse hospital ward",
    "w7": "line cook grill dinner",
}


@pytest.fixture
def clock():
    return {"now": 1_700_000_000.0}


@pytest.fixture
def matrix(settings, clock):
    store = open_store(settings)
    router = local_router(settings, store)

    async def setup():
        await router.registry.create(make_corpus("workers", DIM))
        await router.add("workers", list(DOCS), bag_of_words(list(DOCS.values())),
                         [{"text": t} for t in DOCS.values()])  # fmt: skip

    run(setup())
    return MatrixSearch(router, fake_embed, store, clock=lambda: clock["now"])


def ranked(matrix, text, **kw):
    q = MatrixQuery(corpora=[("workers", 1.0)], text=text, k=7, use_playbook=True, **kw)
    return run(matrix.search(q))["hits"]


SAME = "forklift driver night shift"
PARAPHRASE = "night shift forklift driver needed"


def test_success_lifts_the_id_for_the_same_query_and_a_paraphrase(matrix):
    before = [h["id"] for h in ranked(matrix, SAME)]
    target = before[4]
    assert before[0] != target
    run(matrix.record([Record(SAME, (target,), "success")], who="tester"))
    for text in (SAME, PARAPHRASE):
        hits = ranked(matrix, text)
        assert hits[0]["id"] == target, text
        assert hits[0]["explanation"]["playbook_boost"] > 0
        assert len(hits[0]["explanation"]["playbook_records"]) == 1
    # an unrelated query is not touched
    assert all(h["explanation"]["playbook_boost"] == 0 for h in ranked(matrix, "nurse ward"))


def test_failure_demotes_the_id(matrix):
    top = ranked(matrix, SAME)[0]["id"]
    run(matrix.record([Record(SAME, (top,), "failure", 2.0)], who="tester"))
    after = ranked(matrix, SAME)
    assert after[0]["id"] != top
    assert next(h for h in after if h["id"] == top)["explanation"]["playbook_boost"] < 0


def test_boost_decays_with_age(matrix, clock):
    before = [h["id"] for h in ranked(matrix, SAME)]
    target = before[4]
    run(matrix.record([Record(SAME, (target,), "success", 0.5)], who="tester"))

    def boost():
        return next(h for h in ranked(matrix, SAME) if h["id"] == target)["explanation"]

    fresh = boost()["playbook_boost"]
    clock["now"] += 30 * 86_400  # one half-life (the cache keys on the query, not the time)
    matrix.cache.clear()
    assert boost()["playbook_boost"] == pytest.approx(fresh / 2, rel=1e-3)
    clock["now"] += 300 * 86_400
    matrix.cache.clear()
    assert [h["id"] for h in ranked(matrix, SAME)] == before


def test_recorded_id_outside_top_k_is_brought_in(matrix):
    q = MatrixQuery(corpora=[("workers", 1.0)], text=SAME, k=2, use_playbook=True)
    assert "w7" not in [h["id"] for h in run(matrix.search(q))["hits"]]
    run(matrix.record([Record(SAME, ("w7",), "success")], who="tester"))
    assert run(matrix.search(q))["hits"][0]["id"] == "w7"


def test_a_record_makes_the_cached_answer_stale_and_is_audited(matrix, clock):
    q = MatrixQuery(corpora=[("workers", 1.0)], text=SAME, k=5, use_playbook=True)
    run(matrix.search(q))
    assert run(matrix.search(q))["cached"] is True
    run(matrix.record([Record(SAME, ("w2",), "success")], who="alice"))
    after = run(matrix.search(q))
    assert after["cached"] is False and after["hits"][0]["id"] == "w2"
    clock["now"] += 5
    run(matrix.record([Record("nurse", ("w6",), "failure")], who="bob"))
    listed, skipped = matrix.list_records(10)
    assert skipped == []
    assert [r["who"] for r in listed] == ["bob", "alice"]
    assert listed[1]["ids"] == ["w2"] and listed[1]["outcome"] == "success" and listed[1]["when"]


def test_bad_record_writes_nothing(matrix):
    bad = [Record(SAME, ("w1",), "success"), Record(SAME, ("w1",), "maybe")]
    with pytest.raises(InvalidInput):
        run(matrix.record(bad, who="tester"))
    assert matrix.list_records(10) == ([], [])


# -- the id allow-list on real shards ---------------------------------------------------
def test_allow_ids_restricts_and_complete_stays_honest(settings):
    router = local_router(settings, open_store(settings))
    vectors = bag_of_words(list(DOCS.values()))

    async def scenario():
        await router.registry.create(make_corpus("w2s", DIM, shards=2))
        await router.add("w2s", list(DOCS), vectors)
        some = await router.search("w2s", vectors[0], 5, allow_ids=["w2", "w6", "nope"])
        none = await router.search("w2s", vectors[0], 5, allow_ids=[])
        return some, none

    some, none = run(scenario())
    assert sorted(h["id"] for h in some["hits"]) == ["w2", "w6"] and some["complete"] is False
    assert (none["hits"], none["complete"]) == ([], False)


def test_allow_list_cap_is_a_400():
    matrix = MatrixSearch(
        FakeRouter(random_corpora(5, corpora=2)), config=MatrixConfig(max_allow_ids=3)
    )
    with pytest.raises(InvalidInput, match="narrow"):
        run(matrix.search(query(allow_ids=["a", "b", "c", "d"])))


# -- the SQL pre-filter ---------------------------------------------------------------
@pytest.mark.parametrize(
    "good",
    ["state = 'TX'", "state IN ('TX', 'CA') AND years_experience >= 3",
     "city = 'Union City' OR (shift = 'night' AND available)"],
)  # fmt: skip
def test_predicates_that_are_predicates_pass(good):
    assert check_predicate(good) == good
    assert allow_list_sql("workers", "worker_id", good).endswith(f"(\n{good}\n)")


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "1=1; DROP TABLE x", "state = 'TX' -- hi", "state = 'TX' /* x */",
     "worker_id IN (SELECT worker_id FROM other)", "1=1) UNION (SELECT 1", "1=1)",
     "(1=1", "state = 'TX", "x" * 2001, "1=1 UNION ALL SELECT 1"],
)  # fmt: skip
def test_unsafe_predicates_are_refused(bad):
    with pytest.raises(InvalidInput):
        check_predicate(bad)


def test_allow_list_sql_checks_names():
    with pytest.raises(InvalidInput):
        allow_list_sql('workers"; --', "worker_id", "1=1")


def test_the_newest_record_counts_among_many_equally_similar(matrix, clock):
    """More records of one query than ``max_similar``: they tie at similarity 1, and the
    newest must be among those that count."""
    many = [Record(SAME, (f"x{n}",), "success") for n in range(150)]
    run(matrix.record(many, who="tester"))
    clock["now"] += 60
    run(matrix.record([Record(SAME, ("w7",), "success")], who="tester"))
    hits = ranked(matrix, SAME)
    assert next(h for h in hits if h["id"] == "w7")["explanation"]["playbook_boost"] > 0


def test_a_later_record_of_the_same_query_and_ids_supersedes_in_ranking_not_audit(matrix, clock):
    run(matrix.record([Record(SAME, ("w7",), "success")], who="alice"))
    clock["now"] += 5
    batch = [Record(SAME, ("w7",), "success", 3.0), Record(SAME, ("w7",), "failure")]
    rows = run(matrix.record(batch, who="bob"))  # the later of a batch wins as well
    assert rows[0]["key"] == rows[1]["key"] == Record(SAME, ("w7",), "success").key
    hits = ranked(matrix, SAME)
    w7 = next(h for h in hits if h["id"] == "w7")["explanation"]
    assert w7["playbook_boost"] < 0 and w7["playbook_records"] == [rows[1]["record_id"]]
    assert len(matrix.list_records(10)[0]) == 3


def test_no_corpus_in_time_is_temporarily_unavailable_and_not_cached():
    fake = FakeRouter(random_corpora(2, corpora=2), delays={"c0": 1.0, "c1": 1.0})
    matrix = MatrixSearch(fake)
    with pytest.raises(TemporarilyUnavailable, match="no corpus answered within 100 ms"):
        run(matrix.search(query(timeout_s=0.1)))
    assert len(matrix.cache) == 0
