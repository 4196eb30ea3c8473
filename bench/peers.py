"""Peers over the wire: Chroma's server vs this project's, each through its own client.

    .venv/bin/python bench/peers.py [--n 20000] [--dim 384] [--queries 300] [--big]

One run, the same clustered unit vectors for both products (M=16, ef_construction=200,
ef_search=64, batches of 1,000, k=10): adds/s, sequential search p50/p99, queries/s at 16
concurrent clients (one client object each), recall@10 against exact search. Chroma's
server (``chroma run`` from .venv-chroma, on a free port) with its ``HttpClient``; ours
(Serve with the HAProxy ingress, free ports) with ``lakehouse.client.Client`` at 1 and 2
shards, plus 1 shard with JSON floats instead of the packed form (the wire format's own
effect) and 1 shard with the client over ``httpx.Client`` instead of its urllib3 pool (the
client transport's own effect). ``--big`` adds the same at 100,000 vectors. Then SQL p50 through our client
against raw DuckDB over the same Parquet file, with the client's /health p50 as the floor.
Writes bench/results/peers.json.
"""

from __future__ import annotations

import argparse
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
from bench.vectors import clustered, exact_top10, percentiles  # noqa: E402
from tests.conftest import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench" / "peers"
CHROMA_BIN = ROOT / ".venv-chroma" / "bin"
SQL_ROWS = 20_000
SQL_RUNS = 200
SQL_QUERIES = {
    "group_by": "SELECT role, count(*) AS n, round(avg(rating), 6) AS r FROM {t} GROUP BY role ORDER BY n DESC, role",
    "point": "SELECT worker_id, last_name, city FROM {t} WHERE worker_id = '{id}'",
}


def drive(product: str, url: str, data: Path, queries: Path, *extra: str) -> dict:
    python = CHROMA_BIN / "python" if product == "chroma" else Path(sys.executable)
    cmd = [
        str(python),
        str(ROOT / "bench" / "peer_client.py"),
        product,
        url,
        str(data),
        str(queries),
        *extra,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    if out.returncode:
        raise RuntimeError(f"{product} client failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def recall(found: list[list[str]], truth: np.ndarray) -> float:
    hits = [
        len({int(i) for i in f} & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)
    ]
    return round(float(np.mean(hits)), 4)


def summarise(raw: dict, truth: np.ndarray) -> dict:
    found = raw.pop("found")
    return {**raw, "recall_at_10": recall(found, truth)}


def start_chroma() -> tuple[subprocess.Popen, str]:
    port = free_port()
    path = WORK / "chroma-data"
    log = open(WORK / "chroma.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [
            str(CHROMA_BIN / "chroma"),
            "run",
            "--path",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/api/v2/heartbeat", proc)
    return proc, url


def _wait(url: str, proc: subprocess.Popen | None = None, seconds: float = 120) -> None:
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


def start_ours() -> str:
    """Serve with the HAProxy ingress; the app and HAProxy's own listeners on free ports."""
    os.environ.setdefault("RAY_SERVE_HAPROXY_METRICS_PORT", str(free_port()))
    os.environ.setdefault("RAY_SERVE_HAPROXY_STATS_PORT", str(free_port()))
    os.environ["LAKEHOUSE_DATA_DIR"] = str(WORK / "serve-data")
    os.environ["LAKEHOUSE_PORT"] = str(free_port())
    from deployments.launch import start

    running = start(num_cpus=2)
    _wait(running.url + "/health")
    return running.url


def write_set(n: int, dim: int, queries_n: int) -> tuple[Path, Path, np.ndarray]:
    """The same vectors and queries for every product, and the exact top 10 of each query."""
    # queries from the same clusters as the data (held out), as real queries would be
    both = clustered(n + queries_n, dim)
    data, queries = both[:n], both[n:]
    data_path, query_path = WORK / f"v{n}.npy", WORK / f"q{n}.npy"
    np.save(data_path, data)
    np.save(query_path, queries)
    return data_path, query_path, exact_top10(data, queries)


OURS = (("lakehouse_1shard", ()), ("lakehouse_2shards", ("--shards", "2")),
        ("lakehouse_1shard_json_floats", ("--json-floats",)),
        ("lakehouse_1shard_httpx_client", ("--httpx",)))  # fmt: skip


def ours_round(n: int, args: argparse.Namespace, url: str, chroma: dict | None) -> dict:
    data, queries, truth = write_set(n, args.dim, args.queries)
    out: dict = {"n": n, "dim": args.dim}
    if chroma is not None:
        out["chroma"] = chroma
    for label, extra in OURS:
        out[label] = summarise(drive("lakehouse", url, data, queries, *extra), truth)
    # same-run baselines, the app redeployed without one part each: the replicas' read
    # copies, then the hot routes (every request through FastAPI's router)
    for label, settings in (("no_read_copies", {"local_read_bytes": 0}),
                            ("plain_router", {"hot_routes": False})):  # fmt: skip
        redeploy(settings)
        warm_up(args, url)
        out[f"lakehouse_1shard_{label}"] = summarise(drive("lakehouse", url, data, queries), truth)
    redeploy({})
    if chroma is not None:
        out["ratios"] = ratios(out)
    return out


def redeploy(settings: dict) -> None:
    """The app again with these settings (a new replica; the shard actors stay)."""
    from ray import serve

    from deployments.app import build_app

    serve.run(build_app({"settings": settings}), name="lakehouse", route_prefix="/")


def warm_up(args: argparse.Namespace, url: str) -> None:
    """One small unmeasured round first: the server's first minute (Ray workers starting, the
    Serve controller settling) fell on whichever variant ran first, by 20-40% of its qps."""
    data, queries, _ = write_set(2000, args.dim, 50)
    drive("lakehouse", url, data, queries, "--per-client", "5")


def chroma_round(n: int, args: argparse.Namespace, url: str) -> dict:
    data, queries, truth = write_set(n, args.dim, args.queries)
    return summarise(drive("chroma", url, data, queries), truth)


def ratios(out: dict) -> dict:
    peer = out["chroma"]
    found = {}
    for label in [k for k in out if k.startswith("lakehouse")]:
        ours = out[label]
        found[label] = {
            "adds_over_chroma": round(ours["adds_per_s"] / peer["adds_per_s"], 2),
            "search_p50_over_chroma": round(ours["search_sequential"]["p50_ms"] / peer["search_sequential"]["p50_ms"], 2),
            "search_p99_over_chroma": round(ours["search_sequential"]["p99_ms"] / peer["search_sequential"]["p99_ms"], 2),
            "qps16_over_chroma": round(ours["search_concurrent"]["qps"] / peer["search_concurrent"]["qps"], 2),
            "recall_minus_chroma": round(ours["recall_at_10"] - peer["recall_at_10"], 4),
        }  # fmt: skip
    return found


def sql_round(url: str) -> dict:
    """SQL p50 through the client against raw DuckDB over the very Parquet file served."""
    import duckdb

    from lakehouse.client import Client
    from lakehouse.settings import Settings
    from lakehouse.staffing import write_csv

    csv = WORK / "workers.csv"
    write_csv(csv, SQL_ROWS)
    client = Client(url)
    manifest = client.ingest.csv("workers", csv)
    parquet = Settings().objects_dir / manifest["object_key"]
    one = client.sql.query("SELECT worker_id FROM workers LIMIT 1 OFFSET 777")["rows"][0][0]
    raw = duckdb.connect()
    raw.execute(f"CREATE VIEW workers AS SELECT * FROM read_parquet('{parquet}')")
    out: dict = {"rows": SQL_ROWS, "health_client": _timed(client.health, SQL_RUNS)}
    for name, template in SQL_QUERIES.items():
        sql = template.format(t="workers", id=one)
        assert client.sql.query(sql)["rows"] == [list(r) for r in raw.execute(sql).fetchall()]
        ours = _timed(lambda sql=sql: client.sql.query(sql), SQL_RUNS)
        duck = _timed(lambda sql=sql: raw.execute(sql).fetchall(), SQL_RUNS)
        ratio = round(ours["p50_ms"] / duck["p50_ms"], 2)
        out[name] = {"client": ours, "raw_duckdb": duck, "client_over_raw_p50": ratio}
    return out


def _timed(fn, runs: int) -> dict:
    for _ in range(10):
        fn()
    lat = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t)
    return percentiles(lat)


def main() -> None:
    args = _parse()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    sizes = [args.n] + ([100_000] if args.big else [])
    chroma_ok = (CHROMA_BIN / "chroma").exists() and not args.no_chroma
    result: dict = {"params": {"M": 16, "ef_construction": 200, "ef_search": 64, "batch": 1000,
                               "k": 10, "concurrency": 16, "machine_cpus": os.cpu_count()}}  # fmt: skip
    # Chroma first, alone on the machine; stopped before Ray starts.
    chroma_runs = {}
    if chroma_ok:
        proc, url = start_chroma()
        try:
            chroma_runs = {n: chroma_round(n, args, url) for n in sizes}
        finally:
            proc.terminate()
            proc.wait(30)
    ours = start_ours()
    warm_up(args, ours)
    result["vectors"] = [ours_round(n, args, ours, chroma_runs.get(n)) for n in sizes]
    result["sql"] = sql_round(ours)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "peers.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"wrote {out}")


def print_table(result: dict) -> None:
    print(
        f"{'n':>7} {'product':<30} {'adds/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'qps@16':>8} {'recall':>7}"
    )
    for block in result["vectors"]:
        for label in [k for k in block if k == "chroma" or k.startswith("lakehouse")]:
            r = block[label]
            seq, conc = r["search_sequential"], r["search_concurrent"]
            print(f"{block['n']:>7} {label:<30} {r['adds_per_s']:>9.0f} {seq['p50_ms']:>8.2f} "
                  f"{seq['p99_ms']:>8.2f} {conc['qps']:>8.0f} {r['recall_at_10']:>7.3f}")  # fmt: skip
    sql = result["sql"]
    print(f"SQL ({sql['rows']} rows), /health via client p50 {sql['health_client']['p50_ms']} ms")
    for name in SQL_QUERIES:
        s = sql[name]
        print(
            f"  {name:<9} client p50 {s['client']['p50_ms']:.2f} ms, raw DuckDB {s['raw_duckdb']['p50_ms']:.2f} ms, ratio {s['client_over_raw_p50']}"
        )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--big", action="store_true", help="also 100,000 vectors")
    parser.add_argument("--no-chroma", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    main()
