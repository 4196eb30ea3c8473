"""Vector benchmark: actors vs raw hnswlib vs Chroma, memory per vector, search latency.

    .venv/bin/python bench/vectors.py [--n 100000] [--dim 768] [--queries 300] [--no-chroma]

One run, side by side, on clustered unit vectors (and, when the embedder is available, on
real embeddings of the staffing set):
- index throughput through the shard actors vs raw hnswlib in-process (same M,
  ef_construction, 2 threads) vs Chroma with the same vectors; with where the CPU went
  during the adds (shard actors, driver, Ray and Serve) and the shards' CPU against raw's;
- RSS per vector: the shard actor's process vs a process holding only raw hnswlib;
- search p50/p99 at the actor (router in the driver) and over HTTP, against the /health
  floor measured in the same run, and a request with the same body refused by validation
  (what carrying the vector costs, with no actor call); recall@10 against exact search;
- text query end to end (embed + search over HTTP) p50, when an embedder is configured.
Writes bench/results/vectors.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.cpu import CpuSampler, grouped  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench" / "vectors"
BATCH = 1000
M, EF_C, EF_S = 16, 200, 64


def clustered(n: int, dim: int, seed: int = 0, clusters: int = 100) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    points = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim)).astype(
        np.float32
    )
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def raw_hnswlib(path: Path, queries: Path) -> dict:
    """Build in a fresh process: adds/s, RSS growth per vector, recall@10."""
    code = f"""
import json, time, numpy as np, hnswlib, psutil
v = np.load({str(path)!r})
q = np.load({str(queries)!r})
before = psutil.Process().memory_info().rss
p = hnswlib.Index(space="cosine", dim=v.shape[1])
p.init_index(max_elements=len(v), ef_construction={EF_C}, M={M})
p.set_num_threads(2)
t, c = time.perf_counter(), time.process_time()
for s in range(0, len(v), {BATCH}):
    p.add_items(v[s:s + {BATCH}])
el, cpu = time.perf_counter() - t, time.process_time() - c
after = psutil.Process().memory_info().rss
p.set_ef({EF_S})
found, _ = p.knn_query(q, k=10)
truth = np.argsort(-(q @ v.T), axis=1)[:, :10]
recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found.tolist(), truth.tolist())]))
print(json.dumps({{"adds_per_s": len(v) / el, "seconds": el, "cpu_seconds": cpu, "rss_per_vector_bytes": (after - before) / len(v), "recall_at_10": recall}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def chroma(path: Path) -> dict:
    code = f"""
import json, time, numpy as np, chromadb
v = np.load({str(path)!r})
client = chromadb.EphemeralClient()
col = client.create_collection("bench", configuration={{"hnsw": {{"space": "cosine", "max_neighbors": {M}, "ef_construction": {EF_C}}}}})
ids = [str(i) for i in range(len(v))]
t = time.perf_counter()
for s in range(0, len(v), {BATCH}):
    col.add(ids=ids[s:s + {BATCH}], embeddings=v[s:s + {BATCH}])
el = time.perf_counter() - t
print(json.dumps({{"adds_per_s": len(v) / el, "seconds": el}}))
"""
    out = subprocess.run([_chroma_python(), "-c", code], capture_output=True, text=True)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1][:300] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _chroma_python() -> str:
    """Chroma runs from its own venv (``make bench`` builds ``.venv-chroma``)."""
    own = ROOT / ".venv-chroma" / "bin" / "python"
    return os.environ.get("BENCH_CHROMA_PYTHON") or (str(own) if own.exists() else sys.executable)


def exact_top10(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return np.argsort(-(queries @ data.T), axis=1)[:, :10]


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99)}


def busy_cores(seconds: float) -> float:
    """CPU cores the whole machine keeps busy (Ray, Serve, HAProxy idling) over ``seconds``."""
    import psutil

    before = psutil.cpu_times()
    time.sleep(seconds)
    after = psutil.cpu_times()
    busy = sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "nice"))
    return round(busy / seconds, 3)


def through_actors(name: str, data: np.ndarray, queries: np.ndarray, url: str, shards: int) -> dict:
    import httpx
    import ray

    from actors.remote.corpus_router import remote_router
    from actors.vectors import shard_name
    from lakehouse.settings import Settings

    settings = Settings()
    client = httpx.Client(base_url=url, timeout=120)
    client.post(
        "/v1/vectors/corpora", json={"name": name, "dim": data.shape[1], "shards": shards}
    ).raise_for_status()
    router = remote_router(settings)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(router.sizes(name))  # starts the shard actors
    handles = [ray.get_actor(shard_name(settings, name, i), "lakehouse") for i in range(shards)]
    idle_cores = busy_cores(5.0)
    mem_before = [ray.get(h.memory.remote()) for h in handles]
    ids = [str(i) for i in range(len(data))]
    started = time.perf_counter()
    with CpuSampler() as sampler:
        loop.run_until_complete(_pipelined_adds(router, name, ids, data))
    elapsed = time.perf_counter() - started
    mem_after = [ray.get(h.memory.remote()) for h in handles]
    grown = {
        k: sum(a[k] - b[k] for a, b in zip(mem_after, mem_before, strict=True))
        for k in ("rss", "uss")
    }
    actor_lat, found = [], []
    for q in queries:
        t = time.perf_counter()
        res = loop.run_until_complete(router.search(name, q, 10))
        actor_lat.append(time.perf_counter() - t)
        found.append([int(h["id"]) for h in res["hits"]])
    http_lat = []
    for q in queries:
        body = {"vector": q.tolist(), "k": 10}
        t = time.perf_counter()
        client.post(f"/v1/vectors/corpora/{name}/search", json=body).raise_for_status()
        http_lat.append(time.perf_counter() - t)
    health = []
    for _ in range(len(queries)):
        t = time.perf_counter()
        client.get("/health").raise_for_status()
        health.append(time.perf_counter() - t)
    # the same body refused by validation (k=0): what carrying the vector costs, no actor call
    body_only = []
    for q in queries:
        body = {"vector": q.tolist(), "k": 0}
        t = time.perf_counter()
        status = client.post(f"/v1/vectors/corpora/{name}/search", json=body).status_code
        body_only.append(time.perf_counter() - t)
        assert status == 400, status  # request validation: before any actor call
    truth = exact_top10(data, queries)
    recall = float(
        np.mean([len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)])
    )
    return {
        "shards": shards,
        "idle_cpu_cores_before_adds": idle_cores,
        "adds_per_s": len(data) / elapsed,
        "seconds": elapsed,
        "adds_cpu_seconds": grouped(sampler.used(), _adds_group),
        "adds_cpu_seconds_available": round(2 * sampler.seconds, 1),
        "rss_per_vector_bytes": grown["rss"] / len(data),
        "uss_per_vector_bytes": grown["uss"] / len(data),
        "search_actor": percentiles(actor_lat),
        "search_http": percentiles(http_lat),
        "health_http": percentiles(health),
        "refused_body_http": percentiles(body_only),
        "recall_at_10": round(recall, 4),
    }


def _adds_group(pid: int, name: str) -> str:
    if "ShardActor" in name:
        return "shards"
    if name == "driver":
        return "driver (client and router)"
    return "ray and serve (system processes, replicas)" if "ray" in name else "other"


async def _pipelined_adds(router, name, ids, data, in_flight: int = 2) -> None:
    """Keep two batches in flight, as the bulk job does: the next batch is shipped and
    logged while the shard inserts the current one."""
    gate = asyncio.Semaphore(in_flight)

    async def one(s: int) -> None:
        async with gate:
            await router.add(name, ids[s : s + BATCH], data[s : s + BATCH])

    await asyncio.gather(*(one(s) for s in range(0, len(data), BATCH)))


def text_queries(url: str, name: str, texts: list[str]) -> dict | None:
    import httpx

    client = httpx.Client(base_url=url, timeout=120)
    lat = []
    for text in texts:
        t = time.perf_counter()
        resp = client.post(f"/v1/vectors/corpora/{name}/search", json={"text": text, "k": 10})
        if resp.status_code == 503:
            return None
        resp.raise_for_status()
        lat.append(time.perf_counter() - t)
    # the first one loads the replica's embedder (seconds): reported, kept out of p50/p99
    return {**percentiles(lat[1:]), "first_request_ms": round(lat[0] * 1000, 1)}


def staffing(n: int, queries: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Real embeddings of ``n`` staffing profiles (as the bulk job builds their text), the
    labelled queries plus profile-like queries, and the embedding rate."""
    import pyarrow as pa

    from lakehouse.embed import EmbedConfig, open_embedder
    from lakehouse.staffing import LABELLED_QUERIES, generate_batches
    from lakehouse.vectors.profile import STAFFING

    rows = pa.Table.from_batches(list(generate_batches(n + queries, seed=11))).to_pylist()
    texts = [STAFFING.row_text(r) for r in rows]
    with open_embedder(EmbedConfig(cache_dir=ROOT / "data" / "models")) as embedder:
        started = time.perf_counter()
        data = embedder.embed_documents(texts[:n])
        rate = n / (time.perf_counter() - started)
        asked = [q["query"] for q in LABELLED_QUERIES] + texts[n:]
        return data, embedder.embed_query(asked[:queries]), rate


def main() -> None:
    args = _parse()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    embed_rate = None
    if args.staffing:
        data, queries, embed_rate = staffing(args.staffing, args.queries)
        args.n, args.dim = data.shape
    else:
        data = clustered(args.n, args.dim)
        queries = clustered(args.queries, args.dim, seed=1)
    path = WORK / "vectors.npy"
    np.save(path, data)
    np.save(WORK / "queries.npy", queries)
    result = {
        "data": "staffing embeddings" if args.staffing else "clustered unit vectors",
        "n": args.n,
        "dim": args.dim,
        "params": {"M": M, "ef_construction": EF_C, "ef_search": EF_S},
        "embed_rows_per_s": embed_rate,
    }
    result["raw_hnswlib"] = raw_hnswlib(path, WORK / "queries.npy")
    result["chroma"] = None if args.no_chroma else chroma(path)
    from deployments.launch import start

    os.environ["LAKEHOUSE_DATA_DIR"] = str(WORK / "serve-data")
    running = start(num_cpus=2)
    result["actors"] = through_actors("bench", data, queries, running.url, args.shards)
    from lakehouse.staffing import LABELLED_QUERIES

    result["text_query_http"] = (
        text_queries(running.url, "bench", [q["query"] for q in LABELLED_QUERIES] * 3)
        if args.dim == 384
        else None
    )
    raw, ours = result["raw_hnswlib"], result["actors"]
    result["ratios"] = {
        "actors_over_raw_adds": round(ours["adds_per_s"] / raw["adds_per_s"], 3),
        "actors_over_chroma_adds": round(ours["adds_per_s"] / result["chroma"]["adds_per_s"], 3)
        if result["chroma"] and "adds_per_s" in result["chroma"] else None,
        # the shards' own CPU per add against raw hnswlib's: our write path's overhead
        # (validation, log, locks, Ray's call), apart from CPU other processes took
        "shard_cpu_over_raw_cpu": round(ours["adds_cpu_seconds"].get("shards", 0) / raw["cpu_seconds"], 3),
        "rss_per_vector_over_raw": round(ours["rss_per_vector_bytes"] / raw["rss_per_vector_bytes"], 3),
        "uss_per_vector_over_raw": round(ours["uss_per_vector_bytes"] / raw["rss_per_vector_bytes"], 3),
        "search_http_p50_over_health_p50": round(ours["search_http"]["p50_ms"] / ours["health_http"]["p50_ms"], 2),
        # a request with the same body that does no work at all, against the same floor
        "refused_body_http_p50_over_health_p50": round(ours["refused_body_http"]["p50_ms"] / ours["health_http"]["p50_ms"], 2),
        # the HTTP hop's own cost (HTTP p50 minus the actor p50) against the floor's
        "search_http_overhead_over_health_p50": round((ours["search_http"]["p50_ms"] - ours["search_actor"]["p50_ms"]) / ours["health_http"]["p50_ms"], 2),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "vectors-staffing" if args.staffing else f"vectors-{args.dim}d"
    out = RESULTS / (name + (f"-{args.shards}shards" if args.shards > 1 else "") + ".json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--no-chroma", action="store_true")
    parser.add_argument("--staffing", type=int, default=0, help="N real staffing embeddings")
    return parser.parse_args()


if __name__ == "__main__":
    main()
