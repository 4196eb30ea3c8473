"""What a matrix-cache hit costs now that hits are checked against write generations.

    .venv/bin/python bench/matrix_cache.py [--rows 5000] [--queries 300]

Over shard actors (3 corpora, 1 shard each, random unit vectors, d=384), the same repeated
query measured four ways in one run, interleaved: a full search with the cache off (the
baseline), a hit whose generations were learned within ``fresh_s`` (two dict lookups), a hit
whose generations are re-asked of every shard (``fresh_s=0``: one small call per shard, all
at once), and a repeat right after a write through another router (a miss: the new answer).
Writes ``bench/results/matrix_cache.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from actors import NAMESPACE  # noqa: E402
from actors.remote.corpus_router import remote_router  # noqa: E402
from lakehouse.matrix import MatrixConfig, MatrixQuery, MatrixSearch  # noqa: E402
from lakehouse.settings import Settings  # noqa: E402
from lakehouse.vectors.registry import make_corpus  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WORK = Path("data/bench-matrix-cache")
CORPORA = ("c0", "c1", "c2")
DIM = 384


def unit(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


async def load(router, rows: int) -> None:
    for i, name in enumerate(CORPORA):
        await router.registry.create(make_corpus(name, DIM))
        vectors = unit(rows, i)
        for s in range(0, rows, 1000):
            ids = [f"{name}-{j}" for j in range(s, min(rows, s + 1000))]
            await router.add(name, ids, vectors[s : s + 1000])


async def measure(settings: Settings, rows: int, queries: int) -> dict:
    router, writer = remote_router(settings), remote_router(settings)
    await load(router, rows)
    corpora = [(n, 1.0) for n in CORPORA]
    engines = {
        "cache off (full search)": MatrixSearch(router, config=MatrixConfig(cache_entries=0)),
        "hit, generations fresh": MatrixSearch(router, config=MatrixConfig(fresh_s=1.0)),
        "hit, generations re-asked": MatrixSearch(router, config=MatrixConfig(fresh_s=0.0)),
    }
    timings: dict[str, list[float]] = {label: [] for label in [*engines, "after a write (miss)"]}
    extra = unit(queries, 99)
    for i, vector in enumerate(unit(queries, 7)):
        query = MatrixQuery(corpora=corpora, vector=vector.tolist(), k=10)
        for label, engine in engines.items():
            await engine.search(query)  # fills the cache (and warms it)
            t = time.perf_counter()
            answer = await engine.search(query)
            timings[label].append(time.perf_counter() - t)
            assert answer["cached"] is (label != "cache off (full search)")
        await writer.add("c0", [f"new-{i}"], extra[i : i + 1])  # another replica writes
        t = time.perf_counter()
        answer = await engines["hit, generations re-asked"].search(query)
        timings["after a write (miss)"].append(time.perf_counter() - t)
        assert answer["cached"] is False
    return {label: _pcts(samples[10:]) for label, samples in timings.items()}


def _pcts(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    import ray

    shutil.rmtree(WORK, ignore_errors=True)
    ray.init(address="local", num_cpus=2, namespace=NAMESPACE, include_dashboard=False)
    try:
        result = asyncio.run(measure(Settings(data_dir=WORK), args.rows, args.queries))
    finally:
        ray.shutdown()
    out = {"rows_per_corpus": args.rows, "corpora": len(CORPORA), "dim": DIM, "cores": 2,
           "latency": result}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "matrix_cache.json").write_text(json.dumps(out, indent=1) + "\n")
    base = result["cache off (full search)"]["p50_ms"]
    print(
        f"matrix search over 3 corpora x {args.rows} vectors, shard actors       p50 ms    p99 ms"
    )
    for label, r in result.items():
        print(f"  {label:<34} {r['p50_ms']:>9.3f} {r['p99_ms']:>9.3f}   {r['p50_ms'] / base:.2f}x")


if __name__ == "__main__":
    main()
