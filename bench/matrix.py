"""Matrix benchmark: fan-out over shard actors, and retrieval quality with and without the playbook.

    .venv/bin/python bench/matrix.py [--rows 5000] [--queries 400] [--mode actors|local]
                                     [--shards 1] [--failures-top 10]

One run, the real ONNX embedder, data under data/bench/matrix (wiped at the start):
- fan-out (default ``--mode actors``): a local Ray of its own (``ray.init(address="local",
  num_cpus=2)``, shut down at the end) with every corpus on its own shard actors
  (``--shards`` per corpus, one process each; 1 by default, the registry's default, so
  that one after another costs 3x), routed from the driver through ``CorpusRouter`` as the
  Serve replicas do. p50 / p99 of a matrix search over 1 corpus and over 3 corpora
  (``MatrixSearch``, parallel fan-out), against the same 3 searches awaited one after
  another, interleaved in rotating order, at k=10 and k=200 (target: 3-corpus p50 <= 1.6x
  the 1-corpus p50). The three corpora hold the same profile vectors under three names,
  so each search does the same work. Then each kind is run again in a block of its own to
  count its CPU per search (this process and the Ray it started; the driver's alone): on
  2 cores no search takes less wall time than half its CPU, the floor the parallel ratio
  is set against. And Ray's own ratio: 3 actor calls that do nothing, in parallel, vs 1. The same figures for in-process shards (``local_router``: sub-ms CPU
  per corpus, threads under one GIL) follow as a secondary section; ``--mode local`` runs
  only those, and the quality part on them, without Ray.
- staffing intents (``lakehouse.staffing.intents``): a role plus state, certification,
  shift and availability; the relevant set is every roster row that satisfies the
  constraints (a predicate over the generated profiles), and each intent has two phrasings
  of the same need. A hit is a returned worker in the intent's relevant set. Two thirds of
  the roles have a trained intent: one phrasing of it is recorded (a simulated recruiter:
  the relevant ids in the plain search's top 50 -> ``success``; in the second variant
  also the non-relevant ids of its top ``--failures-top`` -> ``failure``), the other
  phrasing is never recorded. hit@1 / hit@10 without and with the playbook (the same
  ``MatrixSearch.search``, ``use_playbook`` off / on) on the held-out phrasings, on the
  recorded ones, on untrained intents of the trained roles (in another state) and on
  intents of roles never trained; with the query similarities the playbook's threshold
  sees, and held-out hit@1 split by that similarity.
- role-level labelled queries (no playbook), and out-of-domain queries (roles == []):
  are they flagged low_confidence?
Writes bench/results/matrix.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench" / "matrix"

from actors.remote.corpus_router import local_router  # noqa: E402
from lakehouse.embed import EmbedConfig, open_embedder  # noqa: E402
from lakehouse.matrix import MatrixConfig, MatrixQuery, MatrixSearch, Record  # noqa: E402
from lakehouse.matrix.fusion import fuse  # noqa: E402
from lakehouse.matrix.playbook import PlaybookConfig  # noqa: E402
from lakehouse.settings import Settings  # noqa: E402
from lakehouse.staffing import LABELLED_QUERIES, generate_batches  # noqa: E402
from lakehouse.staffing.intents import make_intents, relevant  # noqa: E402
from lakehouse.storage import open_store  # noqa: E402
from lakehouse.vectors.profile import STAFFING  # noqa: E402
from lakehouse.vectors.registry import make_corpus  # noqa: E402

CORPORA = ("workers", "placements", "certs")
LABELS = ("1 corpus", "3 corpora parallel", "3 corpora sequential")
WARMUP = 20


# -- fan-out latency ---------------------------------------------------------------------
def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99)}


def start_ray():
    """A local Ray of its own (never an already running cluster), 2 CPUs."""
    import ray

    from actors import NAMESPACE

    ray.init(address="local", num_cpus=2, namespace=NAMESPACE, include_dashboard=False)
    return ray


def actor_router(settings: Settings):
    from actors.remote.corpus_router import remote_router

    return remote_router(settings)


async def load(router, ids: list[str], vectors: np.ndarray, meta: list[dict], shards: int) -> None:
    for name in CORPORA:
        await router.registry.create(make_corpus(name, vectors.shape[1], "cosine", shards))
        for s in range(0, len(ids), 1000):
            await router.add(name, ids[s : s + 1000], vectors[s : s + 1000], meta[s : s + 1000])


def cluster_cpu_s() -> float:
    """CPU seconds used so far by this process and its children (the local Ray it started:
    GCS, raylet, actor workers); other work on the machine is not counted."""
    total = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


async def fan_out(router, vectors: np.ndarray, k: int) -> dict:
    matrix = MatrixSearch(router, config=MatrixConfig(cache_entries=0))

    async def one(label: str, vector: np.ndarray) -> float:
        t = time.perf_counter()
        if label == "3 corpora sequential":
            found = {n: (await router.search(n, vector, k))["hits"] for n in CORPORA}
            fuse(found, dict.fromkeys(CORPORA, 1.0), "rrf")
        else:
            names = CORPORA if label == "3 corpora parallel" else CORPORA[:1]
            await matrix.search(MatrixQuery(corpora=[(n, 1.0) for n in names], vector=vector, k=k))
        return time.perf_counter() - t

    timings: dict[str, list[float]] = {label: [] for label in LABELS}
    for i, vector in enumerate(vectors):  # interleaved, rotating order: drift hits all alike
        for j in range(len(LABELS)):
            label = LABELS[(i + j) % len(LABELS)]
            took = await one(label, vector)
            if i >= WARMUP:
                timings[label].append(took)
    out: dict = {"k": k, "samples": len(vectors) - WARMUP}
    out.update({label: percentiles(s) for label, s in timings.items()})
    for stat in ("p50_ms", "p99_ms"):
        base, tag = out["1 corpus"][stat], stat.split("_")[0]
        out[f"parallel_x_1_{tag}"] = round(out["3 corpora parallel"][stat] / base, 2)
        out[f"sequential_x_1_{tag}"] = round(out["3 corpora sequential"][stat] / base, 2)
    out["cpu_ms_per_search"] = await cpu_cost(one, vectors[WARMUP:])
    return out


async def cpu_cost(one, vectors: np.ndarray) -> dict:
    """CPU per search, all of it (driver + Ray) and the driver's, each kind in a block of its own.

    On 2 cores no search can take less wall time than half the CPU it costs: that floor,
    set against the 1-corpus p50, bounds how low the parallel ratio can go.
    """
    out = {}
    for label in LABELS:
        cluster, driver = cluster_cpu_s(), time.process_time()
        for vector in vectors:
            await one(label, vector)
        out[label] = {
            "all": round((cluster_cpu_s() - cluster) * 1000 / len(vectors), 3),
            "driver": round((time.process_time() - driver) * 1000 / len(vectors), 3),
        }
    return out


async def latency(router, vectors: np.ndarray, where: str) -> dict:
    out: dict = {"where": where}
    for k in (10, 200):
        lat = out[f"k={k}"] = await fan_out(router, vectors, k)
        cpu = lat["cpu_ms_per_search"]["3 corpora parallel"]["all"]
        # the fastest a 3-corpus search can be on 2 cores, against the 1-corpus p50
        lat["parallel_floor_on_2_cores_ms"] = round(cpu / 2, 3)
        lat["parallel_floor_x_1_p50"] = round(cpu / 2 / lat["1 corpus"]["p50_ms"], 2)
    return out


class _Echo:
    """A shard stand-in that does no work: the bare cost of an actor call."""

    def search(self, vector, k):
        return {"hits": [{"id": str(i), "score": 0.5, "metadata": None} for i in range(k)]}


async def ray_floor(samples: int) -> dict:
    """Ray's own fan-out ratio here: 3 actor calls that do nothing, in parallel, vs 1.

    The same submission and wait as the router (``Facade.submit`` + ``settle``), and plain
    ``ray.get`` as a check. No search over actors can have a lower ratio than this.
    """
    import ray

    from actors.remote.facade import Facade, settle

    echoes = [
        Facade(ray.remote(_Echo).options(num_cpus=0, max_concurrency=8).remote()) for _ in CORPORA
    ]
    vector = np.zeros(384, dtype=np.float32)
    out: dict = {"samples": samples}
    for label, how in (("settle", "settle"), ("ray.get", "get")):
        timings: dict[int, list[float]] = {1: [], 3: []}
        for i in range(samples + WARMUP):
            for n in (1, 3) if i % 2 else (3, 1):
                t = time.perf_counter()
                calls = [e.submit("search", vector, 10) for e in echoes[:n]]
                if how == "settle":
                    await settle(calls, 2.0)
                else:
                    ray.get(calls)
                if i >= WARMUP:
                    timings[n].append(time.perf_counter() - t)
        one, three = percentiles(timings[1]), percentiles(timings[3])
        out[label] = {"1 call": one, "3 calls": three,
                      "x_1_p50": round(three["p50_ms"] / one["p50_ms"], 2)}  # fmt: skip
    for echo in echoes:
        ray.kill(echo.target)
    return out


# -- retrieval quality: staffing intents with and without the playbook -------------------
def split_intents(intents: list) -> dict[str, list[tuple]]:
    """``{query set: [(intent, phrasing index)]}``; only "recorded phrasings" get recorded."""
    by_role: dict[str, list] = {}
    for it in intents:
        by_role.setdefault(it.role, []).append(it)
    sets: dict[str, list[tuple]] = {"held-out phrasings": [], "recorded phrasings": [],
                                   "untrained, same roles": [], "untrained, other roles": []}  # fmt: skip
    for n, (_, group) in enumerate(by_role.items()):
        if n % 3 == 2:  # a third of the roles is never trained at all
            sets["untrained, other roles"] += [(it, p) for it in group for p in (0, 1)]
            continue
        first, rest = group[0], group[1:]
        recorded = len(sets["recorded phrasings"]) % 2  # alternate which wording is recorded
        sets["recorded phrasings"].append((first, recorded))
        sets["held-out phrasings"].append((first, 1 - recorded))
        sets["untrained, same roles"] += [(it, p) for it in rest for p in (0, 1)]
    return sets


async def hits_at(matrix: MatrixSearch, query: str, rel: set, playbook: bool) -> tuple[bool, bool]:
    answer = await matrix.search(
        MatrixQuery(corpora=[("workers", 1.0)], text=query, k=10, use_playbook=playbook)
    )
    ids = [h["id"] for h in answer["hits"]]
    return bool(ids) and ids[0] in rel, any(i in rel for i in ids)


async def evaluate(matrix: MatrixSearch, queries: list[dict], playbook: bool) -> dict:
    found = [await hits_at(matrix, q["query"], q["relevant"], playbook) for q in queries]
    n = max(len(found), 1)
    return {"queries": len(found), "hit@1": round(sum(f[0] for f in found) / n, 3),
            "hit@10": round(sum(f[1] for f in found) / n, 3), "top": [f[0] for f in found]}  # fmt: skip


def by_similarity(embedder, sets: dict, without: dict, with_: dict, threshold: float) -> dict:
    """Held-out hit@1 split by the cosine to the intent's own recorded phrasing."""
    held, rec = sets["held-out phrasings"], sets["recorded phrasings"]
    assert [q["intent"] for q in held] == [r["intent"] for r in rec]
    sims = np.sum(
        embedder.embed_query([q["query"] for q in held])
        * embedder.embed_query([r["query"] for r in rec]),
        axis=1,
    )
    out = {}
    for name, keep in (
        ("at_or_above_threshold", sims >= threshold),
        ("below_threshold", sims < threshold),
    ):
        rows = [i for i, k in enumerate(keep) if k]
        n = max(len(rows), 1)
        out[name] = {"queries": len(rows),
                     "hit@1_without": round(sum(without["top"][i] for i in rows) / n, 3),
                     "hit@1_with": round(sum(with_["top"][i] for i in rows) / n, 3)}  # fmt: skip
    return out


async def train(matrix: MatrixSearch, queries: list[dict], failures_top: int) -> dict:
    """The recruiter: relevant ids of the plain top 50 succeed, top non-relevant ones fail."""
    records, with_success = [], 0
    for q in queries:
        answer = await matrix.search(MatrixQuery(corpora=[("workers", 1.0)], text=q["query"], k=50))
        ids = [h["id"] for h in answer["hits"]]
        good = [i for i in ids if i in q["relevant"]]
        bad = [i for i in ids[:failures_top] if i not in q["relevant"]]
        if good:
            records.append(Record(q["query"], tuple(good), "success"))
            with_success += 1
        if bad:
            records.append(Record(q["query"], tuple(bad), "failure"))
    if records:
        await matrix.record(records, who="bench")
    return {"records": len(records), "intents_with_a_success": with_success,
            "ids_success": sum(len(r.ids) for r in records if r.outcome == "success"),
            "ids_failure": sum(len(r.ids) for r in records if r.outcome == "failure")}  # fmt: skip


def similarities(embedder, sets: dict[str, list[dict]], threshold: float) -> dict:
    """Cosine of each query to the recorded phrasings: what the playbook's threshold sees."""
    recorded = sets["recorded phrasings"]
    rec = embedder.embed_query([q["query"] for q in recorded])
    above = lambda xs: f"{sum(x >= threshold for x in xs)}/{len(xs)}"  # noqa: E731
    out = {}
    for name in ("held-out phrasings", "untrained, same roles", "untrained, other roles"):
        qs = sets[name]
        sims = embedder.embed_query([q["query"] for q in qs]) @ rec.T
        mine = [[r["intent"] == q["intent"] for r in recorded] for q in qs]
        own = [
            float(s)
            for row, m in zip(sims, mine, strict=True)
            for s, x in zip(row, m, strict=True)
            if x
        ]
        other = [
            max(float(s) for s, x in zip(row, m, strict=True) if not x)
            for row, m in zip(sims, mine, strict=True)
        ]
        out[name] = {
            "median_to_own_recorded": round(statistics.median(own), 3) if own else None,
            "own_recorded_at_or_above_threshold": above(own) if own else None,
            "median_best_other_recorded": round(statistics.median(other), 3),
            "other_recorded_at_or_above_threshold": above(other),
        }
    return out


async def quality(router, store, embedder, profiles: list[dict], failures_top: int) -> dict:
    intents = make_intents(profiles)
    sets = {
        name: [{"query": it.phrasings[p], "relevant": relevant(it, profiles), "intent": it.key}
               for it, p in pairs]
        for name, pairs in split_intents(intents).items()
    }  # fmt: skip

    async def embed(texts: list[str]):
        return await asyncio.to_thread(embedder.embed_query, texts)

    variants = {"success": 0, f"+failure@{failures_top}": failures_top}
    engines = {
        name: MatrixSearch(router, embed, store, MatrixConfig(
            cache_entries=0, playbook=PlaybookConfig(corpus=f"_playbook_{n}")))
        for n, name in enumerate(variants)
    }  # fmt: skip
    plain = next(iter(engines.values()))
    without = {name: await evaluate(plain, qs, False) for name, qs in sets.items()}
    with_playbook, training = {}, {}
    for name, matrix in engines.items():
        training[name] = await train(matrix, sets["recorded phrasings"], variants[name])
        with_playbook[name] = {n: await evaluate(matrix, qs, True) for n, qs in sets.items()}
    threshold = plain.config.playbook.similarity_threshold
    split = by_similarity(embedder, sets, without["held-out phrasings"],
                          with_playbook["success"]["held-out phrasings"], threshold)  # fmt: skip
    for table in (without, *with_playbook.values()):
        for cell in table.values():
            cell.pop("top")
    return {
        "intents": len(intents),
        "relevant_set_sizes": sorted(len(q["relevant"]) for q in sets["held-out phrasings"]),
        "without_playbook": without,
        "with_playbook": with_playbook,
        "training": training,
        "similarity_threshold": threshold,
        "similarities": similarities(embedder, sets, threshold),
        "held_out_by_similarity": split,
        "examples": [
            {
                "intent": r["intent"],
                "recorded": r["query"],
                "held_out": h["query"],
                "relevant": len(r["relevant"]),
            }
            for r, h in zip(
                sets["recorded phrasings"][:4], sets["held-out phrasings"][:4], strict=True
            )
        ],
        "role_level_labelled_queries": await role_level(plain),
    }


async def role_level(matrix: MatrixSearch) -> dict:
    """The issue's role-level labelled queries (hit: the worker's role is one the query names)."""
    hit1 = hit10 = 0
    queries = [q for q in LABELLED_QUERIES if q["roles"]]
    for q in queries:
        answer = await matrix.search(MatrixQuery(corpora=[("workers", 1.0)], text=q["query"], k=10))
        roles = [h["metadata"]["role"] in q["roles"] for h in answer["hits"]]
        hit1 += bool(roles[:1] and roles[0])
        hit10 += any(roles)
    n = len(queries)
    return {"queries": n, "hit@1": round(hit1 / n, 3), "hit@10": round(hit10 / n, 3)}


async def confidence(router, embedder) -> dict:
    async def embed(texts: list[str]):
        return await asyncio.to_thread(embedder.embed_query, texts)

    matrix = MatrixSearch(router, embed, config=MatrixConfig(cache_entries=0))
    flags = []
    for q in LABELLED_QUERIES:
        answer = await matrix.search(MatrixQuery(corpora=[("workers", 1.0)], text=q["query"], k=10))
        flags.append({"query": q["query"], "in_domain": bool(q["roles"]),
                      "best_raw_score": round(answer["best_raw_score"], 3),
                      "low_confidence": answer["low_confidence"]})  # fmt: skip
    ood = [f for f in flags if not f["in_domain"]]
    ind = [f for f in flags if f["in_domain"]]
    return {
        "low_confidence_threshold": matrix.config.low_confidence_below,
        "out_of_domain_flagged": f"{sum(f['low_confidence'] for f in ood)}/{len(ood)}",
        "in_domain_flagged": f"{sum(f['low_confidence'] for f in ind)}/{len(ind)}",
        "queries": flags,
    }


# -- the run -----------------------------------------------------------------------------
def roster(rows: int, embedder) -> tuple[list[dict], list[str], np.ndarray, list[dict], float]:
    profiles = [r for b in generate_batches(rows) for r in b.to_pylist()]
    started = time.perf_counter()
    vectors = np.asarray(
        embedder.embed_documents([STAFFING.row_text(r) for r in profiles]), np.float32
    )
    embed_s = time.perf_counter() - started
    ids = [str(r["worker_id"]) for r in profiles]
    meta = [{c: r[c] for c in STAFFING.metadata_columns} for r in profiles]
    return profiles, ids, vectors, meta, embed_s


async def in_process(ids, vectors, meta, queries: np.ndarray, shards: int):
    settings = Settings(data_dir=WORK / "local")
    store = open_store(settings)
    router = local_router(settings, store)
    await load(router, ids, vectors, meta, shards)
    where = f"in-process shards (local_router, {shards} per corpus), no Ray"
    return router, store, await latency(router, queries, where)


async def main_async(args: argparse.Namespace) -> dict:
    shutil.rmtree(WORK, ignore_errors=True)
    embedder = open_embedder(EmbedConfig(cache_dir=ROOT / "data" / "models"))
    profiles, ids, vectors, meta, embed_s = roster(args.rows, embedder)
    texts = [q["query"] for q in LABELLED_QUERIES]
    n = args.queries + WARMUP
    queries = embedder.embed_query([texts[i % len(texts)] + f" #{i}" for i in range(n)])
    result: dict = {"rows": args.rows, "cores": 2, "mode": args.mode, "shards_per_corpus": args.shards,
                    "embed_seconds": round(embed_s, 1), "targets": {"parallel_x_1_p50": 1.6}}  # fmt: skip
    local, local_store, result["fan_out_in_process"] = await in_process(
        ids, vectors, meta, queries, args.shards
    )
    if args.mode == "local":
        router, store = local, local_store
    else:
        settings = Settings(data_dir=WORK / "actors")
        store, router = open_store(settings), actor_router(settings)
        await load(router, ids, vectors, meta, args.shards)
        where = f"shard actors ({args.shards} per corpus, a process each), router in the driver"
        result["fan_out"] = await latency(router, queries, where)
        result["ray_floor"] = await ray_floor(args.queries)
    result["quality"] = await quality(router, store, embedder, profiles, args.failures_top)
    result["confidence"] = await confidence(router, embedder)
    return result


# -- output ------------------------------------------------------------------------------
def print_latency(section: dict, rows: int) -> None:
    print(f"fan-out over {rows} profiles: {section['where']}")
    for key in ("k=10", "k=200"):
        lat = section[key]
        print(f" {key} ({lat['samples']} interleaved samples)       p50 ms    p99 ms")
        for label in LABELS:
            print(f"  {label:<24} {lat[label]['p50_ms']:>9.3f} {lat[label]['p99_ms']:>9.3f}")
        print(
            f"  parallel / 1 corpus      {lat['parallel_x_1_p50']:>8.2f}x {lat['parallel_x_1_p99']:>8.2f}x  (target p50 <= 1.6x)"
        )
        print(
            f"  sequential / 1 corpus    {lat['sequential_x_1_p50']:>8.2f}x {lat['sequential_x_1_p99']:>8.2f}x"
        )
        cpu = lat["cpu_ms_per_search"]
        parts = [
            f"{label} {cpu[label]['all']:.2f} / {cpu[label]['driver']:.2f}" for label in LABELS
        ]
        print("  CPU ms per search (all / driver): " + ", ".join(parts))
        print(
            f"  2-core floor of a 3-corpus search: {lat['parallel_floor_on_2_cores_ms']:.3f} ms"
            f" = {lat['parallel_floor_x_1_p50']:.2f}x the 1-corpus p50 (half its CPU)"
        )


def print_ray_floor(floor: dict) -> None:
    print("Ray's own floor: actor calls that do nothing, 3 in parallel vs 1 (p50 ms)")
    for label in ("settle", "ray.get"):
        f = floor[label]
        print(f"  {label:<8} 1 call {f['1 call']['p50_ms']:.3f}, 3 calls "
              f"{f['3 calls']['p50_ms']:.3f} = {f['x_1_p50']:.2f}x")  # fmt: skip


def print_quality(q: dict) -> None:
    sizes = q["relevant_set_sizes"]
    print(f"\nstaffing intents: {q['intents']} (relevant set per trained intent: "
          f"{min(sizes)}-{max(sizes)} workers, median {statistics.median(sizes):g})")  # fmt: skip
    variants = list(q["with_playbook"])
    columns = ["without playbook", *(f"playbook ({v})" for v in variants)]
    print(f"{'':<28}" + "".join(f"{c:>26}" for c in columns))
    print(f"{'query set':<24} {'n':>3}" + f"{'hit@1':>14}{'hit@10':>12}" * len(columns))
    for name, b in q["without_playbook"].items():
        cells = [b, *(q["with_playbook"][v][name] for v in variants)]
        print(
            f"{name:<24} {b['queries']:>3}"
            + "".join(f"{c['hit@1']:>14.3f}{c['hit@10']:>12.3f}" for c in cells)
        )
    for v, t in q["training"].items():
        print(
            f"  recorded ({v}): {t['records']} records, {t['intents_with_a_success']} intents with a"
            f" relevant id in the plain top 50, {t['ids_success']} ids success, {t['ids_failure']} failure"
        )
    print(
        f"  query similarity to the recorded phrasings (playbook threshold {q['similarity_threshold']}):"
    )
    for name, s in q["similarities"].items():
        own = (
            f"own intent's median {s['median_to_own_recorded']}, >= threshold {s['own_recorded_at_or_above_threshold']}; "
            if s["median_to_own_recorded"] is not None
            else ""
        )
        print(
            f"   {name:<22} {own}best other intent's median {s['median_best_other_recorded']},"
            f" >= threshold {s['other_recorded_at_or_above_threshold']}"
        )
    for name, h in q["held_out_by_similarity"].items():
        print(f"   held-out, own similarity {name.replace('_', ' ')}: n={h['queries']}, hit@1"
              f" {h['hit@1_without']:.3f} -> {h['hit@1_with']:.3f} with the playbook (success)")  # fmt: skip
    r = q["role_level_labelled_queries"]
    print(
        f"  role-level labelled queries, no playbook: hit@1 {r['hit@1']:.3f}, hit@10 {r['hit@10']:.3f} (n={r['queries']})"
    )


def print_confidence(c: dict) -> None:
    print(f"\nlow_confidence (best raw < {c['low_confidence_threshold']}): "
          f"out-of-domain {c['out_of_domain_flagged']}, in-domain {c['in_domain_flagged']}")  # fmt: skip
    for f in c["queries"]:
        if not f["in_domain"]:
            print(f"  OOD {f['best_raw_score']:.3f} {f['low_confidence']!s:<5} {f['query']}")
    scores = sorted(f["best_raw_score"] for f in c["queries"] if f["in_domain"])
    print(f"  in-domain best raw: min {scores[0]:.3f}, median {statistics.median(scores):.3f}")


def print_table(result: dict) -> None:
    if "fan_out" in result:
        print_latency(result["fan_out"], result["rows"])
        print_ray_floor(result["ray_floor"])
        print()
    print_latency(result["fan_out_in_process"], result["rows"])
    print_quality(result["quality"])
    print_confidence(result["confidence"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--mode", choices=("actors", "local"), default="actors")
    parser.add_argument("--shards", type=int, default=1, help="shards per corpus")
    parser.add_argument("--failures-top", type=int, default=10)
    args = parser.parse_args()
    ray = start_ray() if args.mode == "actors" else None
    try:
        result = asyncio.run(main_async(args))
    finally:
        if ray is not None:
            ray.shutdown()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "matrix.json").write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)


if __name__ == "__main__":
    main()
