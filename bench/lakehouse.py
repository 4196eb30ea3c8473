"""Lakehouse benchmark: CSV → Parquet, SQL over HTTP vs raw DuckDB, Serve ingress throughput.

    .venv/bin/python bench/lakehouse.py [--rows 500000] [--quick]

One run measures everything side by side and writes bench/results/lakehouse.json:
- the staffing CSV → Parquet with the streaming converter (seconds, peak RSS of a fresh
  process) against pyarrow's whole-file read_csv + write_table, the baseline;
- count(*), GROUP BY role and AVG(reliability_score) through POST /v1/sql and on raw
  DuckDB over the same Parquet file (p50 of repeated runs);
- GET /health and a small POST /v1/sql over HTTP: sequential p50 and requests/s at 16
  concurrent clients, with the HAProxy ingress and with Serve's default proxy.
Each Serve mode runs in its own process (Serve reads its flags at start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench"
QUERIES = {
    "count": "SELECT count(*) FROM workers",
    "group_by_role": "SELECT role, count(*) FROM workers GROUP BY role ORDER BY role",
    "avg_score": "SELECT avg(reliability_score) FROM workers",
}
SMALL_SQL = "SELECT 1 AS one"
LOADS = ("health_sequential", "health_16_clients", "small_sql_sequential", "small_sql_16_clients")
TARGETS = {"csv_seconds": 3.12, "csv_peak_rss_mib": 209, "sql_http_over_raw": 1.5}


def main() -> None:
    args = _parse()
    if args.phase:
        print(json.dumps(_serve_phase(args)))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    csv = WORK / f"workers-{args.rows}.csv"
    if not csv.exists():
        _run_py(f"from lakehouse.staffing import write_csv; write_csv({str(csv)!r}, {args.rows})")
    result = {"rows": args.rows, "csv_bytes": csv.stat().st_size, "targets": TARGETS}
    result["csv_to_parquet"] = _csv_to_parquet(csv)
    result["serve"] = {mode: _phase(mode, csv, args) for mode in ("haproxy", "default_proxy")}
    _report(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lakehouse.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'lakehouse.json'}")


def _csv_to_parquet(csv: Path) -> dict:
    streaming = (
        "from lakehouse.ingest import csv_to_parquet; "
        f"csv_to_parquet({str(csv)!r}, {str(WORK / 'stream.parquet')!r}, max_bytes=1 << 40)"
    )
    baseline = (
        "import pyarrow.csv as c, pyarrow.parquet as pq; "
        f"t = c.read_csv({str(csv)!r}, parse_options=c.ParseOptions(newlines_in_values=True)); "
        f"pq.write_table(t, {str(WORK / 'baseline.parquet')!r})"
    )
    imports = "import pyarrow.csv, pyarrow.parquet, lakehouse.ingest"
    return {
        "streaming": _best_of(3, streaming),
        "baseline_read_csv": _best_of(3, baseline),
        "python_and_imports_rss_mib": _run_py(imports)["peak_rss_mib"],
    }


def _best_of(n: int, code: str) -> dict:
    runs = [_run_py(code) for _ in range(n)]
    return {
        "seconds": min(r["seconds"] for r in runs),
        "peak_rss_mib": min(r["peak_rss_mib"] for r in runs),
        "runs": runs,
    }


def _run_py(code: str) -> dict:
    """Run ``code`` in a fresh interpreter: wall seconds of the code and that process's peak RSS."""
    timed = (
        f"import resource, time\n_t = time.perf_counter()\n{code}\n"
        "print(time.perf_counter() - _t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", timed], check=True, capture_output=True, text=True, cwd=ROOT
    )
    seconds, rss_kib = out.stdout.strip().splitlines()[-1].split()
    return {"seconds": round(float(seconds), 3), "peak_rss_mib": round(int(rss_kib) / 1024, 1)}


def _phase(mode: str, csv: Path, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    env["LAKEHOUSE_HAPROXY"] = "1" if mode == "haproxy" else "0"
    for key in ("RAY_SERVE_ENABLE_HA_PROXY", "RAY_SERVE_THROUGHPUT_OPTIMIZED"):
        env.pop(key, None)
    env["LAKEHOUSE_DATA_DIR"] = str(WORK / "serve-data")
    env["LAKEHOUSE_INGEST_MAX_BYTES"] = str(1 << 40)
    cmd = [sys.executable, __file__, "--phase", mode, "--csv", str(csv)]
    cmd += ["--quick"] if args.quick else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _serve_phase(args: argparse.Namespace) -> dict:
    import duckdb
    import httpx
    import ray
    from ray import serve

    from bench.loadgen import load
    from deployments.launch import start

    reps = 10 if args.quick else 30
    total = 500 if args.quick else 3000
    running = start(num_cpus=2)
    url = running.url
    with httpx.Client(base_url=url, timeout=600) as client, open(args.csv, "rb") as fh:
        started = time.perf_counter()
        resp = client.post("/v1/ingest", params={"name": "workers"}, files={"file": fh})
        resp.raise_for_status()
        ingest_s = time.perf_counter() - started
        manifest = resp.json()
        for sql in QUERIES.values():  # warm views and caches
            client.post("/v1/sql", json={"sql": sql}).raise_for_status()
    parquet = Path(os.environ["LAKEHOUSE_DATA_DIR"]).resolve() / "objects" / manifest["object_key"]
    raw = duckdb.connect()
    sql_cmp = {}
    for name, sql in QUERIES.items():
        http = load(f"{url}/v1/sql", method="POST", body={"sql": sql}, concurrency=1, total=reps)
        view = f"(SELECT * FROM read_parquet('{parquet}'))"
        raw_sql = sql.replace("FROM workers", f"FROM {view}")
        raw_ms = _p50_ms(lambda q=raw_sql: raw.execute(q).fetchall(), reps)
        sql_cmp[name] = {
            "http_p50_ms": http["p50_ms"],
            "raw_duckdb_p50_ms": raw_ms,
            "ratio": round(http["p50_ms"] / raw_ms, 2),
        }
    small = {"method": "POST", "body": {"sql": SMALL_SQL}}
    result = {
        "ingest_http_seconds": round(ingest_s, 2),
        "sql_vs_raw_duckdb": sql_cmp,
        "health_sequential": load(f"{url}/health", concurrency=1, total=total // 3),
        "health_16_clients": load(f"{url}/health", concurrency=16, total=total),
        "small_sql_sequential": load(f"{url}/v1/sql", **small, concurrency=1, total=total // 3),
        "small_sql_16_clients": load(f"{url}/v1/sql", **small, concurrency=16, total=total),
    }
    serve.shutdown()
    ray.shutdown()
    return result


def _p50_ms(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def _report(result: dict) -> None:
    conv = result["csv_to_parquet"]
    print(f"\nCSV → Parquet, {result['rows']:,} rows, {result['csv_bytes'] / 2**20:.0f} MiB CSV")
    print(f"{'':28}{'seconds':>10}{'peak RSS MiB':>14}")
    for name in ("streaming", "baseline_read_csv"):
        print(f"{name:28}{conv[name]['seconds']:>10}{conv[name]['peak_rss_mib']:>14}")
    print(f"{'(python + imports only)':28}{'':>10}{conv['python_and_imports_rss_mib']:>14}")
    for mode, data in result["serve"].items():
        print(f"\nServe with {mode}: ingest over HTTP {data['ingest_http_seconds']} s")
        print(f"{'query':18}{'HTTP p50 ms':>14}{'raw DuckDB p50 ms':>20}{'ratio':>8}")
        for name, row in data["sql_vs_raw_duckdb"].items():
            print(
                f"{name:18}{row['http_p50_ms']:>14}{row['raw_duckdb_p50_ms']:>20}{row['ratio']:>8}"
            )
        print(f"{'load':24}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}{'non-2xx':>9}")
        for name in (
            "health_sequential",
            "health_16_clients",
            "small_sql_sequential",
            "small_sql_16_clients",
        ):
            row = data[name]
            print(
                f"{name:24}{row['p50_ms']:>10}{row['p99_ms']:>10}{row['rps']:>10}{row['non_2xx']:>9}"
            )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--phase", choices=["haproxy", "default_proxy"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
